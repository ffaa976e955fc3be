/**
 * LiteLLM's per-team and per-key callback settings, read into one shape: which integrations get a
 * call at which moment, and the variables they are built with. Two sources, LiteLLM's shapes
 * (litellm/proxy/litellm_pre_call_utils.py, `_get_dynamic_logging_metadata`; docs/proxy/team_logging.md):
 *
 * - `litellm_settings.default_team_settings: [{ team_id, success_callback, failure_callback,
 *   langfuse_public_key, langfuse_secret, langfuse_host, ... }]` in the config (the variables beside
 *   the lists, or under `callback_vars`);
 * - `metadata.logging: [{ callback_name, callback_type, callback_vars }]` on a virtual key (or a team),
 *   `callback_type` one of `success`, `failure`, `success_and_failure` (the default).
 *
 * A variable is the lower-case name of the integration's environment variable (`langfuse_public_key`
 * is `LANGFUSE_PUBLIC_KEY`; LiteLLM's `langfuse_secret` is `LANGFUSE_SECRET_KEY`), so every catalogue
 * integration can be set per team (`helicone_api_key`). `turn_off_message_logging: true` sends the
 * team's events without prompt and reply content.
 */
import { z } from 'zod'
import { findIntegration, knownIntegrationNames } from '../integrations/catalogue'
import type { Environment } from '../integrations/options'
import { isSecretSettingName, registerSecret } from '../secret-scrubber'

/** One team's or key's logging: the integrations by moment, and what they are built from. */
export interface LoggingSetting {
  /** Integration names (as written) that get successful calls. */
  success: string[]
  /** Integration names that get failed calls. */
  failure: string[]
  /** Upper-case variable name → value, from the callback variables. */
  variables: Record<string, string>
  /** `turn_off_message_logging: true`: no prompt or reply content in the team's events. */
  redactMessages: boolean
}

const environmentPrefix = 'os.environ/'
/** LiteLLM names whose variable is not their upper-case form. */
const variableAliases: Record<string, string> = { langfuse_secret: 'LANGFUSE_SECRET_KEY' }
const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()])

/** One entry of key (or team) `metadata.logging`, as LiteLLM's `AddTeamCallback` takes it. */
const loggingItemSchema = z
  .object({
    callback_name: z.string({ error: 'is required: the integration, for example "langfuse"' }).min(1, 'must name an integration, for example "langfuse"'),
    callback_type: z.enum(['success', 'failure', 'success_and_failure'], { error: 'must be "success", "failure" or "success_and_failure"' }).nullish(),
    callback_vars: z.record(z.string(), scalar, { error: 'must be a mapping of variables, for example { langfuse_public_key: "os.environ/TEAM_A_PK" }' }).nullish(),
  })
  .loose()

/**
 * The variables of a team entry or a logging item, as the integrations read them: upper-case names,
 * `os.environ/NAME` replaced by the variable (from `environment`). Throws naming the variable when
 * a referenced one is unset.
 *
 * @example
 * ```ts
 * callbackVariables({ langfuse_public_key: 'pk-lf-a', langfuse_secret: 'os.environ/TEAM_A_SK' }, process.env, 'team a')
 * // { LANGFUSE_PUBLIC_KEY: 'pk-lf-a', LANGFUSE_SECRET_KEY: '...' }
 * ```
 */
export function callbackVariables(vars: Record<string, unknown>, environment: Environment, where: string): { variables: Record<string, string>; redactMessages: boolean } {
  const variables: Record<string, string> = {}
  let redactMessages = false
  for (const [name, raw] of Object.entries(vars)) {
    if (raw === null || raw === undefined) continue
    if (name === 'turn_off_message_logging') {
      redactMessages = raw === true || raw === 'true'
      continue
    }
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) throw new Error(`${where}: "${name}" is not a variable name (letters, digits and _, for example langfuse_public_key)`)
    let value = String(raw)
    if (value.startsWith(environmentPrefix)) {
      const variable = value.slice(environmentPrefix.length)
      const found = environment[variable]
      if (found === undefined || found === '') throw new Error(`${where}: ${name} names the environment variable ${variable}, which is not set; export ${variable} in the proxy's environment`)
      value = found
    }
    const variable = variableAliases[name] ?? name.toUpperCase()
    // A credential (LANGFUSE_SECRET_KEY, HELICONE_API_KEY) is scrubbed from logs and errors from now on.
    if (isSecretSettingName(variable)) registerSecret(value)
    variables[variable] = value
  }
  return { variables, redactMessages }
}

/**
 * A key's (or team's) `metadata.logging` list as a setting. Throws naming the item and field when it
 * is not LiteLLM's shape or names an unknown integration.
 *
 * @example
 * ```ts
 * const setting = keyLoggingSetting([{ callback_name: 'langfuse', callback_type: 'success', callback_vars: { langfuse_public_key: 'pk' } }], process.env, 'key sk-...abcd')
 * ```
 */
export function keyLoggingSetting(logging: unknown, environment: Environment, where: string): LoggingSetting {
  if (!Array.isArray(logging)) throw new Error(`${where}: metadata.logging must be a list of { callback_name, callback_type, callback_vars }`)
  const setting: LoggingSetting = { success: [], failure: [], variables: {}, redactMessages: false }
  logging.forEach((item, index) => {
    const at = `${where}: metadata.logging[${index}]`
    const parsed = loggingItemSchema.safeParse(item)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!
      throw new Error(`${at}${issue.path.length > 0 ? `.${issue.path.join('.')}` : ''} ${issue.message}`)
    }
    const { callback_name: name, callback_type: type, callback_vars: vars } = parsed.data
    checkIntegration(name, `${at}.callback_name`)
    if (type !== 'failure' && !setting.success.includes(name)) setting.success.push(name)
    if (type !== 'success' && !setting.failure.includes(name)) setting.failure.push(name)
    const read = callbackVariables(vars ?? {}, environment, at)
    Object.assign(setting.variables, read.variables)
    setting.redactMessages ||= read.redactMessages
  })
  return setting
}

/** A `default_team_settings` entry as the config schema left it (`os.environ/` already resolved). */
export interface TeamSettingsEntry {
  team_id: string
  success_callback?: string[]
  failure_callback?: string[]
  callback_vars?: Record<string, unknown>
  [variable: string]: unknown
}

/**
 * A `default_team_settings` entry as a setting: its lists, and its variables (under `callback_vars`
 * when given, else every other key of the entry, as LiteLLM reads it).
 *
 * @example
 * ```ts
 * teamLoggingSetting({ team_id: 'a', success_callback: ['langfuse'], langfuse_public_key: 'pk', langfuse_secret: 'sk' }, process.env, 'default_team_settings[0]')
 * ```
 */
export function teamLoggingSetting(entry: TeamSettingsEntry, environment: Environment, where: string): LoggingSetting {
  const { team_id: _team, success_callback: success = [], failure_callback: failure = [], callback_vars: nested, ...flat } = entry
  success.forEach((name, index) => checkIntegration(name, `${where}.success_callback[${index}]`))
  failure.forEach((name, index) => checkIntegration(name, `${where}.failure_callback[${index}]`))
  const read = callbackVariables(nested ?? flat, environment, where)
  return { success: [...new Set(success)], failure: [...new Set(failure)], ...read }
}

function checkIntegration(name: string, where: string): void {
  if (findIntegration(name) === undefined) throw new Error(`${where}: unknown integration "${name}". Known: ${knownIntegrationNames.join(', ')}.`)
}

/**
 * The environment a team's integration is built from: the proxy's, without the variables of the
 * integrations the team names (their prefix, `LANGFUSE_` for langfuse), then the team's own. So a
 * team that forgot its secret fails to build rather than borrowing the proxy's, and the proxy's
 * credentials never go to a host the team chose.
 *
 * @example
 * ```ts
 * const env = teamEnvironment(setting, process.env) // LANGFUSE_* only from the team's variables
 * ```
 */
export function teamEnvironment(setting: LoggingSetting, environment: Environment): Environment {
  const prefixes = [...new Set([...setting.success, ...setting.failure].map((name) => `${findIntegration(name)!.name.split(/[_-]/)[0]!.toUpperCase()}_`))]
  const env: Environment = {}
  for (const [name, value] of Object.entries(environment)) if (!prefixes.some((prefix) => name.startsWith(prefix))) env[name] = value
  return { ...env, ...setting.variables }
}
