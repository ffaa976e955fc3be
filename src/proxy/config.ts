/**
 * Loads the proxy's `config.yaml`: YAML, native key names folded into LiteLLM's, `os.environ/NAME`
 * resolved, validated with zod. Every error names the file and the path of the wrong value, in the
 * names the file itself uses.
 */
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { z } from 'zod'
import { validate } from '../validate'
import { formatPath } from '../validate'
import { configSchema, defaultParameterKeys, knownKeys, knownParameterKeys, nativeAliases, type Environment, type RawConfig } from './config-schema'

export type { Environment } from './config-schema'

/** One deployment of a model name: where calls for it go. */
export interface ModelDeployment {
  /** The name clients ask for (`gpt-3.5-turbo`, or a wildcard such as `openai/*`). */
  modelName: string
  /** `litellm_params.model`: `provider/model` (`openai/gpt-4o`, `mock/echo`, `openai/*`). */
  model: string
  apiKey?: string
  apiBase?: string
  /** Share of traffic among the deployments of one model name (default 1, or `rpm` when given). */
  weight: number
  /** Mock deployments only: delay before the reply and between stream chunks, in ms. */
  latencyMs?: number
  chunkDelayMs?: number
  /** Request parameters this deployment sets when the request does not (`temperature`, `mock_response`, ...). */
  defaults: Record<string, unknown>
  /** `model_info` from the config, with an `id` added when it has none; reaches `ctx.modelInfo`. */
  modelInfo: Record<string, unknown>
  /** Where this entry is in the file, for messages (`model_list[2]`). */
  where: string
}

/** A loaded, validated proxy configuration. */
export interface ProxyConfig {
  /** Absolute path of the file, or undefined for the embedded default. */
  path?: string
  /** Where callback modules are looked up (the file's folder). */
  directory: string
  models: ModelDeployment[]
  /** `module.instance` references from `litellm_settings.callbacks`. */
  callbacks: string[]
  /** Built-in integration names by moment, from `input_callback` / `success_callback` / `failure_callback`. */
  input: string[]
  success: string[]
  failure: string[]
  /** `turn_off_message_logging`: prompt and reply content leave as "[redacted]". */
  redactMessages: boolean
  /** `general_settings.master_key`, else `LLM_ONION_MASTER_KEY`, else `LITELLM_MASTER_KEY` (as LiteLLM reads it). */
  masterKey?: string
  /** Where the master key came from, for the start-up summary. */
  masterKeySource?: string
  /** Largest accepted request body, in bytes (`max_request_size_mb`, default 10 MB). */
  maxBodyBytes: number
  /** `environment_variables` from the file; the proxy sets them before it builds integrations. */
  environmentVariables: Record<string, string>
  /** Keys the proxy does not read, by path; printed at start. */
  warnings: string[]
}

/** Raised for a config that cannot be served; `issues` hold every problem with its path. */
export class ConfigError extends Error {
  readonly issues: ReadonlyArray<{ path: string; message: string }>
  constructor(message: string, issues: ReadonlyArray<{ path: string; message: string }> = []) {
    super(message)
    this.name = 'ConfigError'
    this.issues = issues
  }
}

const loadOptionsSchema = z.object({
  environment: z.record(z.string(), z.string().optional()).optional(),
  directory: z.string().optional(),
})

/** Options of {@link loadConfig} and {@link parseConfig}. */
export interface LoadConfigOptions {
  /** Where `os.environ/NAME` references are read (default `process.env`). */
  environment?: Environment
  /** {@link parseConfig} only: the folder callback modules are looked up in (default the working directory). */
  directory?: string
}

/**
 * Reads and validates a proxy config file (LiteLLM's `config.yaml` shape, or the native names).
 *
 * @example
 * ```ts
 * const config = await loadConfig('config.yaml')
 * console.log(config.models.map((model) => model.modelName))
 * ```
 */
export async function loadConfig(path: string, options: LoadConfigOptions = {}): Promise<ProxyConfig> {
  validate(loadOptionsSchema, options, 'loadConfig() options')
  const file = resolve(path)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message
    throw new ConfigError(`Cannot read the proxy config ${file}: ${reason}. Check the --config path.`)
  }
  const { parse, YAMLParseError } = await import('yaml')
  let raw: unknown
  try {
    raw = parse(text)
  } catch (error) {
    if (!(error instanceof YAMLParseError)) throw error
    const position = error.linePos?.[0]
    const where = position ? `line ${position.line}, column ${position.col}` : 'somewhere'
    throw new ConfigError(`${file}: invalid YAML at ${where}: ${error.message.split('\n')[0]}`)
  }
  return parseConfig(raw, { ...options, directory: dirname(file) }, file)
}

/**
 * Validates a config already parsed into an object (what {@link loadConfig} does after reading YAML).
 *
 * @example
 * ```ts
 * const config = parseConfig({ model_list: [{ model_name: 'echo', litellm_params: { model: 'mock/echo' } }] })
 * ```
 */
export function parseConfig(raw: unknown, options: LoadConfigOptions = {}, file?: string): ProxyConfig {
  validate(loadOptionsSchema, options, 'parseConfig() options')
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(`${file ?? 'The proxy config'}: expected a mapping with model_list, litellm_settings, general_settings; found ${raw === null ? 'nothing' : Array.isArray(raw) ? 'a list' : typeof raw}.`)
  }
  const originalNames = new WeakMap<object, Map<string, string>>()
  const issues: Array<{ path: string; message: string }> = []
  const root = normalise(raw as Record<string, unknown>, originalNames, issues)
  const warnings = unknownKeys(root, originalNames)
  const fromFile = readEnvironmentVariables(root.environment_variables)
  const environment = { ...(options.environment ?? process.env), ...fromFile }
  const result = configSchema(environment).safeParse(root)
  if (!result.success) {
    for (const issue of result.error.issues) issues.push({ path: originalPath(root, issue.path, originalNames), message: issue.message })
  }
  if (issues.length > 0) throw configError(file, issues)
  const parsed = result.data as RawConfig
  const models = parsed.model_list.map((entry, index) => toDeployment(entry, `${originalPath(root, ['model_list', index], originalNames)}`))
  const settings = parsed.litellm_settings ?? {}
  const general = parsed.general_settings ?? {}
  const strategy = parsed.router_settings?.routing_strategy
  if (strategy !== undefined && strategy !== 'simple-shuffle') {
    warnings.push(`router_settings.routing_strategy "${strategy}" is not supported; simple-shuffle (weighted random) is used`)
  }
  return {
    path: file,
    directory: options.directory ?? process.cwd(),
    models,
    callbacks: settings.callbacks ?? [],
    input: settings.input_callback ?? [],
    success: settings.success_callback ?? [],
    failure: settings.failure_callback ?? [],
    redactMessages: settings.turn_off_message_logging ?? false,
    ...masterKey(general.master_key, environment),
    maxBodyBytes: Math.round((general.max_request_size_mb ?? 10) * 1024 * 1024),
    environmentVariables: fromFile,
    warnings,
  }
}

function toDeployment(entry: RawConfig['model_list'][number], where: string): ModelDeployment {
  const parameters = entry.litellm_params
  const defaults: Record<string, unknown> = {}
  for (const key of defaultParameterKeys) if (parameters[key] !== undefined) defaults[key] = parameters[key]
  const info = { ...entry.model_info }
  // LiteLLM gives every deployment a model_info.id; callbacks that key on it keep working.
  info.id ??= createHash('sha256').update(`${where}\n${entry.model_name}\n${parameters.model}\n${parameters.api_base ?? ''}`).digest('hex').slice(0, 16)
  return {
    modelName: entry.model_name,
    model: parameters.model,
    apiKey: parameters.api_key,
    apiBase: parameters.api_base,
    weight: parameters.weight ?? parameters.rpm ?? 1,
    latencyMs: parameters.latency_ms,
    chunkDelayMs: parameters.chunk_delay_ms,
    defaults,
    modelInfo: info,
    where,
  }
}

/** Folds native names into LiteLLM's, remembering what the file said so messages can use it. */
function normalise(
  raw: Record<string, unknown>,
  originalNames: WeakMap<object, Map<string, string>>,
  issues: Array<{ path: string; message: string }>,
): Record<string, unknown> {
  const rename = (value: unknown, aliases: Record<string, string>, where: string): Record<string, unknown> | unknown => {
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
  const settingsName = originalNames.get(root)?.get('litellm_settings') ?? 'litellm_settings'
  root.litellm_settings = rename(root.litellm_settings, nativeAliases.litellmSettings, settingsName)
  if (root.litellm_settings === undefined) delete root.litellm_settings
  return root
}

/** `['model_list', 0, 'litellm_params', 'model']` in the names the file used (`models[0].params.model`). */
function originalPath(root: unknown, path: ReadonlyArray<PropertyKey>, originalNames: WeakMap<object, Map<string, string>>): string {
  const named: PropertyKey[] = []
  let node = root
  for (const key of path) {
    // A single value given where a list is accepted: its issues are reported at the key itself.
    if (typeof node === 'string' && key === 0) break
    const original = node !== null && typeof node === 'object' ? originalNames.get(node)?.get(String(key)) : undefined
    named.push(original ?? key)
    node = node !== null && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[key] : undefined
  }
  return formatPath(named)
}

function unknownKeys(root: Record<string, unknown>, originalNames: WeakMap<object, Map<string, string>>): string[] {
  const warnings: string[] = []
  const check = (value: unknown, known: Set<string>, path: PropertyKey[]) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return
    for (const key of Object.keys(value)) {
      if (!known.has(key)) warnings.push(`${originalPath(root, [...path, key], originalNames)} is not read by llm-onion and is ignored`)
    }
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

function masterKey(configured: string | undefined, environment: Environment): Pick<ProxyConfig, 'masterKey' | 'masterKeySource'> {
  if (configured !== undefined) return { masterKey: configured, masterKeySource: 'general_settings.master_key' }
  for (const variable of ['LLM_ONION_MASTER_KEY', 'LITELLM_MASTER_KEY']) {
    const value = environment[variable]
    if (value) return { masterKey: value, masterKeySource: variable }
  }
  return {}
}

function readEnvironmentVariables(value: unknown): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return {}
  const out: Record<string, string> = {}
  for (const [key, item] of Object.entries(value)) if (item !== null && typeof item !== 'object') out[key] = String(item)
  return out
}

function configError(file: string | undefined, issues: Array<{ path: string; message: string }>): ConfigError {
  const lines = issues.map((issue) => `  - ${issue.path || '(top level)'}: ${issue.message}`)
  return new ConfigError(`Invalid proxy config${file ? ` ${file}` : ''}:\n${lines.join('\n')}`, issues)
}
