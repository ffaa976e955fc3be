/**
 * The config's two vocabularies: native names (`models`, `params`, `settings`) are folded into
 * LiteLLM's before validation, and every path shown to the user is translated back into the names
 * the file itself used (`models[1].params.model`, not `model_list[1].litellm_params.model`).
 */
import { formatPath } from '../validate'
import { knownKeys, knownParameterKeys, nativeAliases } from './config-schema'

type Issue = { path: string; message: string }

/** A config with LiteLLM's key names, and the way back to the file's own. */
export interface FoldedConfig {
  root: Record<string, unknown>
  /** Problems found while folding (a setting given under both names). */
  issues: Issue[]
  /** A path in LiteLLM's names, written in the file's names. */
  pathOf(path: ReadonlyArray<PropertyKey>): string
  /** A warning for every key the proxy does not read, at its path. */
  unreadKeys(): string[]
}

/**
 * Folds native names into LiteLLM's, remembering what the file said.
 *
 * @example
 * ```ts
 * const { root, pathOf } = foldNativeNames({ models: [{ name: 'a', params: {} }] })
 * pathOf(['model_list', 0, 'litellm_params', 'model']) // 'models[0].params.model'
 * ```
 */
export function foldNativeNames(raw: Record<string, unknown>): FoldedConfig {
  const originalNames = new WeakMap<object, Map<string, string>>()
  const issues: Issue[] = []
  const rename = (value: unknown, aliases: Record<string, string>, where: string): unknown => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return value
    const out: Record<string, unknown> = { ...(value as Record<string, unknown>) }
    const names = new Map<string, string>()
    for (const [native, litellm] of Object.entries(aliases)) {
      if (!(native in out)) continue
      if (litellm in out) {
        issues.push({ path: `${where}${where ? '.' : ''}${native}`, message: `give either ${litellm} or ${native} (the same setting), not both` })
        continue
      }
      out[litellm] = out[native]
      delete out[native]
      names.set(litellm, native)
    }
    originalNames.set(out, names)
    return out
  }
  const root = rename(raw, nativeAliases.root, '') as Record<string, unknown>
  const list = root.model_list
  if (Array.isArray(list)) {
    const top = originalNames.get(root)?.get('model_list') ?? 'model_list'
    root.model_list = list.map((entry, index) => rename(entry, nativeAliases.model, `${top}[${index}]`))
  }
  if (root.litellm_settings !== undefined) {
    root.litellm_settings = rename(root.litellm_settings, nativeAliases.litellmSettings, originalNames.get(root)?.get('litellm_settings') ?? 'litellm_settings')
  }

  const pathOf = (path: ReadonlyArray<PropertyKey>): string => {
    const named: PropertyKey[] = []
    let node: unknown = root
    for (const key of path) {
      // A single value given where a list is accepted: its issues are reported at the key itself.
      if (typeof node === 'string' && key === 0) break
      const original = node !== null && typeof node === 'object' ? originalNames.get(node)?.get(String(key)) : undefined
      named.push(original ?? key)
      node = node !== null && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[key] : undefined
    }
    return formatPath(named)
  }

  const unreadKeys = (): string[] => {
    const warnings: string[] = []
    const check = (value: unknown, known: Set<string>, path: PropertyKey[]) => {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return
      for (const key of Object.keys(value)) if (!known.has(key)) warnings.push(`${pathOf([...path, key])} is not read by llm-onion and is ignored`)
    }
    check(root, knownKeys.root, [])
    if (Array.isArray(root.model_list)) {
      root.model_list.forEach((entry, index) => {
        check(entry, knownKeys.model, ['model_list', index])
        check((entry as Record<string, unknown> | null)?.litellm_params, knownParameterKeys, ['model_list', index, 'litellm_params'])
      })
    }
    check(root.litellm_settings, knownKeys.litellmSettings, ['litellm_settings'])
    check(root.general_settings, knownKeys.generalSettings, ['general_settings'])
    check(root.router_settings, knownKeys.routerSettings, ['router_settings'])
    return warnings
  }

  return { root, issues, pathOf, unreadKeys }
}
