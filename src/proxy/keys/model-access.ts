/**
 * Which models a key may call, as LiteLLM decides it (litellm/proxy/auth/auth_checks.py,
 * `_can_object_call_model`): an empty list allows every model; `all-proxy-models` allows every
 * model; an entry with `*` is a pattern (`openai/*`); otherwise the name must match. A key whose
 * list is empty takes its team's list (`all-team-models` in a key's list means the same).
 */
import type { KeyContext } from './key-directory'

/**
 * True when `allowed` lets `model` through.
 *
 * @example
 * ```ts
 * modelAllowed('openai/gpt-4o', ['openai/*']) // true
 * modelAllowed('gpt-4o', ['gpt-4o-mini'])     // false
 * modelAllowed('gpt-4o', [])                  // true
 * ```
 */
export function modelAllowed(model: string, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true
  for (const entry of allowed) {
    if (entry === model || entry === 'all-proxy-models' || entry === '*') return true
    if (entry.includes('*') && wildcard(entry).test(model)) return true
  }
  return false
}

/** A list of models a key may call, and whose list it is. */
export interface ModelList {
  owner: 'key' | 'team'
  models: string[]
}

/**
 * The lists a request with this key must pass, each with whose it is: the key's own (its team's
 * stands in when the key's is empty or says `all-team-models`), and the team's too when both have one.
 *
 * @example
 * ```ts
 * for (const { owner, models } of modelLists(found)) if (!modelAllowed(model, models)) refuse(owner, models)
 * ```
 */
export function modelLists(found: KeyContext): ModelList[] {
  const keyModels = found.key.models.filter((entry) => entry !== 'all-team-models')
  const teamModels = found.team?.models ?? []
  const lists: ModelList[] = []
  if (keyModels.length > 0) lists.push({ owner: 'key', models: keyModels })
  if (teamModels.length > 0) lists.push({ owner: 'team', models: teamModels })
  return lists
}

const patterns = new Map<string, RegExp>()

function wildcard(entry: string): RegExp {
  let pattern = patterns.get(entry)
  if (pattern === undefined) {
    pattern = new RegExp(`^${entry.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`)
    if (patterns.size < 1_000) patterns.set(entry, pattern)
  }
  return pattern
}
