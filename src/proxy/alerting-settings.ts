/**
 * LiteLLM's alerting keys in `general_settings`: `alerting` (where alerts go), `alerting_threshold`
 * (seconds: slow and hanging calls), `alert_types` (which alerts) and `alerting_args` (windows,
 * thresholds, the report's frequency). Names and defaults are LiteLLM's (litellm/types/integrations/
 * slack_alerting.py: `AlertType`, `SlackAlertingArgs`); the window-latency keys are llm-onion's own.
 * An alert type LiteLLM has and llm-onion does not send is said at start; a name neither knows is an
 * error. docs/proxy.md ("Alerting") lists them all.
 */
import { z } from 'zod'
import { ConfigError } from './config-error'

/** The `general_settings` keys this file reads. */
export const alertingSettingKeys = ['alerting', 'alerting_threshold', 'alert_types', 'alerting_args'] as const

/** LiteLLM's alert types llm-onion sends. */
export const sentAlertTypes = ['llm_exceptions', 'llm_too_slow', 'llm_requests_hanging', 'budget_alerts', 'daily_reports', 'outage_alerts'] as const
export type SentAlertType = (typeof sentAlertTypes)[number]

/** LiteLLM's other alert types: accepted, said at start not to be sent. */
export const unsentAlertTypes = [
  'spend_reports', 'failed_tracking_spend', 'db_exceptions', 'cooldown_deployment', 'new_model_added', 'region_outage_alerts', 'fallback_reports',
  'new_virtual_key_created', 'virtual_key_updated', 'virtual_key_deleted', 'new_team_created', 'team_updated', 'team_deleted',
  'new_internal_user_created', 'internal_user_updated', 'internal_user_deleted',
] as const

/** `alerting_args` keys read, LiteLLM's and llm-onion's own. */
const readArgs = [
  'daily_report_frequency', 'report_check_interval', 'budget_alert_ttl', 'outage_alert_ttl', 'minor_outage_alert_threshold', 'major_outage_alert_threshold',
  'failure_threshold', 'failure_threshold_window_seconds', 'hanging_threshold_seconds',
  'budget_alert_thresholds', 'outage_error_rate', 'latency_window', 'latency_average_threshold', 'latency_p95_threshold', 'latency_models', 'latency_min_calls',
]
/** LiteLLM `alerting_args` keys without an effect here, and why. */
const unreadArgs: Record<string, string> = {
  region_outage_alert_ttl: 'region outage alerts are not sent',
  max_outage_alert_list_size: 'outage windows live in the shared store, which forgets old entries by itself',
  hanging_threshold_window_seconds: 'each hanging call is alerted, at most once per model a minute',
  log_to_console: 'alerts go to the configured destinations only',
}

/** The alerting settings after defaults, as `ProxyConfig.alerting` carries them. */
export interface AlertingSettings {
  /** Destinations as written in `alerting` (`slack`, `pagerduty`, `email`, `teams`, `discord`, ...). */
  destinations: string[]
  /** `alerting_threshold` in ms (default 300,000): a call slower than this is slow; one running longer is hanging. */
  thresholdMs: number
  types: SentAlertType[]
  budget: { thresholds: number[]; ttlMs: number }
  outage: { windowMs: number; errors: number[]; rate: number }
  hangingMs: number
  latency?: { window: number; average?: number; p95?: number; models?: string[]; minCalls?: number }
  report: { frequencyMs: number; checkIntervalMs: number }
}

/**
 * The zod shape of these keys (with the config schema's `number` reader, so `os.environ/NAME` works).
 *
 * @example
 * ```ts
 * z.looseObject({ ...alertingSettingsShape(number) })
 * ```
 */
export function alertingSettingsShape(number: z.ZodType<number, unknown>) {
  const names = z.array(z.string().min(1), { error: 'must be a list of names' })
  return {
    alerting: names.nullish(),
    alerting_threshold: number.pipe(z.number().positive('must be a positive number of seconds')).optional(),
    alert_types: names.nullish(),
    alerting_args: z.record(z.string(), z.unknown(), { error: 'must be a mapping (alerting_args: { budget_alert_ttl: 86400, ... })' }).nullish(),
  }
}

/**
 * Reads the validated keys; pushes what is accepted but not acted on to `warnings`; throws a
 * {@link ConfigError} for names neither LiteLLM nor llm-onion knows.
 *
 * @example
 * ```ts
 * readAlertingSettings({ alerting: ['slack'], alerting_threshold: 120 }, warnings)?.thresholdMs // 120000
 * ```
 */
export function readAlertingSettings(
  general: { alerting?: string[] | null; alerting_threshold?: number; alert_types?: string[] | null; alerting_args?: Record<string, unknown> | null },
  warnings: string[],
): AlertingSettings | undefined {
  const destinations = general.alerting ?? []
  const issues: Array<{ path: string; message: string }> = []
  const types: SentAlertType[] = []
  for (const [index, name] of (general.alert_types ?? [...sentAlertTypes]).entries()) {
    if ((sentAlertTypes as readonly string[]).includes(name)) types.push(name as SentAlertType)
    else if ((unsentAlertTypes as readonly string[]).includes(name)) warnings.push(`general_settings.alert_types[${index}] "${name}" is a LiteLLM alert llm-onion does not send (docs/proxy.md, Alerting)`)
    else issues.push({ path: `general_settings.alert_types[${index}]`, message: `unknown alert type "${name}"; llm-onion sends ${sentAlertTypes.join(', ')}` })
  }
  const args = general.alerting_args ?? {}
  const seconds = (key: string, fallback: number): number => {
    const value = args[key]
    if (value === undefined) return fallback
    if (typeof value !== 'number' || !(value > 0)) {
      issues.push({ path: `general_settings.alerting_args.${key}`, message: 'must be a positive number of seconds' })
      return fallback
    }
    return value * 1000
  }
  const count = (key: string): number | undefined => {
    const value = args[key]
    if (value === undefined) return undefined
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) issues.push({ path: `general_settings.alerting_args.${key}`, message: 'must be a whole number, 1 or more' })
    return typeof value === 'number' ? value : undefined
  }
  for (const key of Object.keys(args)) {
    if (readArgs.includes(key)) continue
    const reason = unreadArgs[key]
    if (reason) warnings.push(`general_settings.alerting_args.${key} is not read by llm-onion: ${reason}`)
    else issues.push({ path: `general_settings.alerting_args.${key}`, message: `unknown alerting argument; llm-onion reads ${readArgs.join(', ')}` })
  }
  const thresholds = args.budget_alert_thresholds ?? [0.5, 0.8, 1]
  if (!Array.isArray(thresholds) || thresholds.length === 0 || thresholds.some((value) => typeof value !== 'number' || !(value > 0))) {
    issues.push({ path: 'general_settings.alerting_args.budget_alert_thresholds', message: 'must be a list of shares of the budget, such as [0.5, 0.8, 1]' })
  }
  const rate = args.outage_error_rate ?? 0
  if (typeof rate !== 'number' || rate < 0 || rate > 1) issues.push({ path: 'general_settings.alerting_args.outage_error_rate', message: 'must be a share of failed calls from 0 to 1' })
  const minor = count('minor_outage_alert_threshold') ?? count('failure_threshold') ?? 5
  const major = count('major_outage_alert_threshold') ?? 10
  const thresholdMs = general.alerting_threshold === undefined ? 300_000 : general.alerting_threshold * 1000
  const latencyWindow = args.latency_window
  let latency: AlertingSettings['latency']
  if (latencyWindow !== undefined) {
    const windowMs = typeof latencyWindow === 'number' && latencyWindow > 0 ? latencyWindow * 1000 : Number.NaN
    const average = args.latency_average_threshold === undefined ? undefined : seconds('latency_average_threshold', 0)
    const p95 = args.latency_p95_threshold === undefined ? undefined : seconds('latency_p95_threshold', 0)
    const models = args.latency_models
    if (!Number.isFinite(windowMs)) issues.push({ path: 'general_settings.alerting_args.latency_window', message: 'must be a positive number of seconds (300: five minutes)' })
    if (average === undefined && p95 === undefined) issues.push({ path: 'general_settings.alerting_args.latency_window', message: 'needs latency_average_threshold or latency_p95_threshold (seconds)' })
    if (models !== undefined && (!Array.isArray(models) || models.some((model) => typeof model !== 'string'))) issues.push({ path: 'general_settings.alerting_args.latency_models', message: 'must be a list of model names' })
    latency = { window: Math.round(windowMs), average, p95, models: models as string[] | undefined, minCalls: count('latency_min_calls') }
  }
  if (issues.length > 0) throw new ConfigError(`general_settings: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`, issues)
  if (destinations.length === 0) {
    if (general.alert_types || general.alerting_args || general.alerting_threshold !== undefined) warnings.push('general_settings.alerting is empty: alert_types, alerting_threshold and alerting_args have no effect until it names a destination ("slack", ...)')
    return undefined
  }
  return {
    destinations,
    thresholdMs,
    types,
    budget: { thresholds: [...new Set(thresholds as number[])].sort((a, b) => a - b), ttlMs: seconds('budget_alert_ttl', 86_400_000) },
    outage: { windowMs: seconds('failure_threshold_window_seconds', seconds('outage_alert_ttl', 60_000)), errors: minor < major ? [minor, major] : [minor], rate: rate as number },
    hangingMs: seconds('hanging_threshold_seconds', thresholdMs),
    ...(latency ? { latency } : {}),
    report: { frequencyMs: seconds('daily_report_frequency', 43_200_000), checkIntervalMs: seconds('report_check_interval', 300_000) },
  }
}
