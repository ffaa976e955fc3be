/**
 * Loads the proxy's `config.yaml`: YAML, native key names folded into LiteLLM's, `os.environ/NAME`
 * resolved, validated with zod. Every error names the file and the path of the wrong value, in the
 * names the file itself uses.
 */
import { readAlertingSettings, type AlertingSettings } from './alerting-settings'
import { readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { z } from 'zod'
import { validate } from '../validate'
import { foldNativeNames } from './config-names'
import { configSchema, type Environment, type RawConfig } from './config-schema'
import { toDeployment, type ModelDeployment } from './config-deployment'
import { readServerSettings, type ServerSettings } from './server-settings'
import type { ReliabilitySettings } from './reliability'
import { ConfigError, configError } from './config-error'
import { modelGroupAliases, readReliability, readRouting, shuffleWeights } from './config-router-settings'
import { readSharedState, type SharedStateSettings } from './config-shared-state'
import { readCacheSettings, type CacheSettings } from './config-cache'
import { readAwsCallbackSettings, type AwsCallbackOptions } from './config-aws-callbacks'
import type { RoutingSettings } from './routing-strategies'
import { readKeySettings, type KeySettings } from './keys/key-settings'
import type { TeamSettingsEntry } from './team-logging-settings'

export { ConfigError } from './config-error'

export type { Environment } from './config-schema'
export type { ModelDeployment } from './config-deployment'

/**
 * A loaded, validated proxy configuration, in llm-onion's own names.
 *
 * @example
 * ```ts
 * const config: ProxyConfig = await loadConfig('config.yaml')
 * if (!config.masterKey) console.warn('the proxy is open to anyone who can reach it')
 * ```
 */
export interface ProxyConfig {
  /** Absolute path of the file, or undefined for the embedded default. */
  path?: string
  /** Where callback modules are looked up (the file's folder). */
  directory: string
  models: ModelDeployment[]
  /** `module.instance` references from `litellm_settings.callbacks`. */
  callbacks: string[]
  /**
   * Built-in integration names by moment, from `input_callback` / `success_callback` /
   * `failure_callback`; a built-in name in `callbacks` (`otel`) is in `success` and `failure`.
   */
  input: string[]
  success: string[]
  failure: string[]
  /** `router_settings.model_group_alias`: alias → the model_name it serves (every alias, hidden or not). */
  aliases: Record<string, string>
  /** Aliases GET /v1/models leaves out (`{ model, hidden: true }`). */
  hiddenAliases: string[]
  /** `turn_off_message_logging`: prompt and reply content leave as "[redacted]". */
  redactMessages: boolean
  /** `general_settings.master_key`, else `LLM_ONION_MASTER_KEY`, else `LITELLM_MASTER_KEY` (as LiteLLM reads it). */
  masterKey?: string
  /** Where the master key came from, for the start-up summary. */
  masterKeySource?: string
  /** Largest accepted request body, in bytes (`max_request_size_mb`, default 10 MB). */
  maxBodyBytes: number
  /** The proxy's own HTTP settings from `general_settings` (origins, hosts, timeouts, connections), defaults filled in. */
  server: ServerSettings
  /** Virtual keys, spend and limits from `general_settings` (database, cache, failure modes), defaults filled in (src/proxy/keys/key-settings.ts). */
  keys: KeySettings
  /** `environment_variables` from the file; the proxy sets them before it builds integrations. */
  environmentVariables: Record<string, string>
  /** LiteLLM's retry, timeout, fallback and drop_params settings, mapped onto layers (src/proxy/reliability.ts). */
  reliability: ReliabilitySettings
  /** `routing_strategy` and the cooldowns (`allowed_fails`, `cooldown_time`); absent in a config built by hand: simple-shuffle. */
  routing?: RoutingSettings
  /** Where the shared store lives (Redis from the config or environment, else memory); absent: memory. */
  sharedState?: SharedStateSettings
  /** `litellm_settings.cache: true` with its `cache_params`: the `cache()` layer's settings; absent: no cache. */
  cache?: CacheSettings
  /** `litellm_settings.global_disable_no_log_param`: requests may not switch logging off (`no-log`, `x-litellm-disable-callbacks`). */
  forbidLoggingOptOut: boolean
  /** `litellm_settings.default_team_settings`: per-team callbacks and their variables (src/proxy/team-logging.ts). */
  teamLogging?: TeamSettingsEntry[]
  /** The `guardrails:` section's entries, as written (src/proxy/guardrails-config.ts builds their layers). */
  guardrails: unknown[]
  /** `general_settings.alerting`, `alerting_threshold`, `alert_types`, `alerting_args` (src/proxy/alerting-settings.ts); absent: no alerts. */
  alerting?: AlertingSettings
  /**
   * Options of built-in integrations from LiteLLM's per-callback settings (`s3_callback_params`,
   * `aws_sqs_callback_params`, `dynamodb_table_name`), by integration name; absent: none.
   */
  integrationOptions?: AwsCallbackOptions
  /** Keys the proxy does not read, by path; printed at start. */
  warnings: string[]
}


const loadOptionsSchema = z.object({
  environment: z.record(z.string(), z.string().optional()).optional(),
  directory: z.string().optional(),
})

/**
 * Options of {@link loadConfig} and {@link parseConfig}; every one has a default.
 *
 * @example
 * ```ts
 * const config = await loadConfig('config.yaml', { environment: { OPENAI_API_KEY: 'sk-test' } })
 * ```
 */
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
  return parseConfig(await readYaml(text, file), { ...options, directory: dirname(file) }, file)
}

/** How many times a config may use YAML aliases (`*name`): a real config needs a few, a "billion laughs" bomb thousands. */
const maxAliasCount = 100

/**
 * The config's YAML as LiteLLM reads it: PyYAML reads YAML 1.1, so `tpm: 20_000` is the number 20000
 * and `yes`/`no` are booleans. Every failure is a one-line {@link ConfigError}, never a stack.
 */
async function readYaml(text: string, file: string): Promise<unknown> {
  const { parse, YAMLParseError } = await import('yaml')
  try {
    return parse(text, { version: '1.1', maxAliasCount })
  } catch (error) {
    if (error instanceof YAMLParseError) {
      const position = error.linePos?.[0]
      const where = position ? `line ${position.line}, column ${position.col}` : 'somewhere'
      throw new ConfigError(`${file}: invalid YAML at ${where}: ${error.message.split('\n')[0]}`)
    }
    // The yaml package throws a ReferenceError when aliases expand past maxAliasCount.
    if (error instanceof ReferenceError && /alias/i.test(error.message)) {
      throw new ConfigError(`${file}: the YAML's aliases expand too far (over ${maxAliasCount} uses, as a "billion laughs" file does); write the values out instead of nesting aliases.`)
    }
    throw error
  }
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
  const { root, issues, pathOf, unreadKeys } = foldNativeNames(raw as Record<string, unknown>)
  const warnings = unreadKeys().map(explainUnread)
  const fromFile = readEnvironmentVariables(root.environment_variables)
  const environment = { ...(options.environment ?? process.env), ...fromFile }
  const result = configSchema(environment).safeParse(root)
  if (!result.success) {
    for (const issue of result.error.issues) issues.push({ path: pathOf(issue.path), message: issue.message })
  }
  if (issues.length > 0) throw configError(file, issues)
  const parsed = result.data as RawConfig
  const weights = shuffleWeights(parsed.model_list)
  const models = parsed.model_list.map((entry, index) => toDeployment(entry, pathOf(['model_list', index]), weights[index]!))
  const { aliases, hiddenAliases } = modelGroupAliases(parsed, new Set(models.map((model) => model.modelName)), pathOf, file)
  const settings = parsed.litellm_settings ?? {}
  // Built-in names in `callbacks` ("otel") take the path success_callback and failure_callback take.
  const builtInNames = (settings.callbacks ?? []).filter((name) => !name.includes('.'))
  const unique = (names: string[]) => [...new Set(names)]
  const general = parsed.general_settings ?? {}
  const sharedState = readSharedState(parsed.router_settings ?? undefined, settings.cache_params ?? undefined, environment)
  return {
    path: file,
    directory: options.directory ?? process.cwd(),
    models,
    callbacks: (settings.callbacks ?? []).filter((name) => name.includes('.')),
    input: settings.input_callback ?? [],
    success: unique([...(settings.success_callback ?? []), ...builtInNames]),
    failure: unique([...(settings.failure_callback ?? []), ...builtInNames]),
    aliases,
    hiddenAliases,
    redactMessages: settings.turn_off_message_logging ?? false,
    ...masterKey(general.master_key, environment),
    maxBodyBytes: Math.round((general.max_request_size_mb ?? 10) * 1024 * 1024),
    server: readServerSettings(general),
    keys: readKeySettings(general, environment),
    environmentVariables: fromFile,
    reliability: readReliability(parsed, new Set([...models.map((model) => model.modelName), ...Object.keys(aliases)]), pathOf, file),
    routing: readRouting(parsed, warnings),
    sharedState,
    cache: readCacheSettings(settings.cache, settings.cache_params ?? undefined, sharedState, warnings),
    guardrails: parsed.guardrails ?? [],
    forbidLoggingOptOut: settings.global_disable_no_log_param ?? false,
    ...optional('alerting', readAlertingSettings(general, warnings)),
    teamLogging: (settings.default_team_settings ?? []) as TeamSettingsEntry[],
    integrationOptions: readAwsCallbackSettings(settings, warnings, pathOf),
    warnings,
  }
}

/** Why a key LiteLLM users bring is not read, where a bare "ignored" would not say what happens instead. */
const unreadReasons: Record<string, string> = {
  'router_settings.retry_after': 'retries wait with exponential backoff, or as long as the upstream asks with retry-after',
}

function explainUnread(warning: string): string {
  const key = warning.replace(/ is not read by llm-onion and is ignored$/, '')
  const reason = unreadReasons[key]
  return reason ? `${warning}: ${reason}` : warning
}

function optional<Key extends string, Value>(key: Key, value: Value | undefined): { [K in Key]?: Value } {
  return (value === undefined ? {} : { [key]: value }) as { [K in Key]?: Value }
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
