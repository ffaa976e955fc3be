/**
 * The proxy's alerts, from `general_settings.alerting` and its companions (src/proxy/alerting-settings.ts):
 * one alerting layer per destination (Slack, Teams, Discord, PagerDuty, email) with LiteLLM's alert
 * types mapped onto its options (`llm_exceptions`: failed calls; `llm_too_slow`: slow calls and the
 * latency window; `llm_requests_hanging`; `outage_alerts`: the error window), plus the budget check
 * and the spend report, whose notices are claimed once in the shared store and then sent to every
 * destination. docs/proxy.md ("Alerting") describes them.
 */
import { findIntegration } from '../integrations/catalogue'
import type { AlertLayer, AlertRules } from '../integrations/alert-layer'
import type { AlertNotice } from '../integrations/alert-notice'
import type { SharedStore } from '../shared-state/store'
import type { CounterBuffer } from './keys/counter-buffer'
import type { Middleware } from '../types'
import { budgetAlerts } from './alert-budgets'
import { spendReport, type SpendReport } from './alert-report'
import type { AlertingSettings } from './alerting-settings'
import { ConfigError } from './config-error'

/** The proxy's alerting: layers outermost first, their names, the report's check, and the stop of its timer. */
export interface ProxyAlerting {
  layers: Middleware[]
  names: string[]
  /** Sends the last report period's report now if no replica has (the timer does this every `report_check_interval`). */
  checkReport(): Promise<boolean>
  close(): void
}

/**
 * Builds the alerting of one proxy.
 *
 * @example
 * ```ts
 * const alerting = createProxyAlerting({ settings: config.alerting, store, models: router.modelNames, spendCounters: keys.counters })
 * layers.unshift(...alerting.layers)
 * ```
 */
export function createProxyAlerting(options: { settings: AlertingSettings; store: SharedStore; models: string[]; spendCounters?: CounterBuffer; now?: () => number; env?: Record<string, string | undefined> }): ProxyAlerting {
  const { settings, store } = options
  const env = options.env ?? process.env
  const types = new Set(settings.types)
  const rules: AlertRules & { moments: Array<'failure'>; thresholdMs: number | false } = {
    moments: types.has('llm_exceptions') ? ['failure'] : [],
    thresholdMs: types.has('llm_too_slow') ? settings.thresholdMs : false,
    ...(types.has('llm_too_slow') && settings.latency ? { latency: settings.latency } : {}),
    ...(types.has('outage_alerts') ? { outage: { window: settings.outage.windowMs, errors: settings.outage.errors, rate: settings.outage.rate } } : {}),
    ...(types.has('llm_requests_hanging') ? { hanging: { afterMs: settings.hangingMs } } : {}),
  }
  const destinations = settings.destinations.map((name, index) => destination(name, index, options.env === undefined ? rules : { ...rules, env }, env))
  const report = (error: unknown) => console.warn(`[llm-onion] an alert could not be decided (${(error as Error).message}); the call is not affected.`)
  const notify = (notice: AlertNotice) => {
    for (const layer of destinations) layer.notify(notice)
  }
  const layers: Middleware[] = []
  const names: string[] = []
  if (types.has('budget_alerts') && options.spendCounters) {
    layers.push(budgetAlerts({ store, counters: options.spendCounters, thresholds: settings.budget.thresholds, ttlMs: settings.budget.ttlMs, notify, report, now: options.now }))
    names.push(`budgetAlerts(${settings.budget.thresholds.map((share) => `${Math.round(share * 100)}%`).join(', ')})`)
  }
  let spend: SpendReport | undefined
  if (types.has('daily_reports')) {
    spend = spendReport({ store, models: options.models, frequencyMs: settings.report.frequencyMs, checkIntervalMs: settings.report.checkIntervalMs, notify, report, now: options.now })
    layers.push(spend.layer)
    names.push(`spendReport(every ${settings.report.frequencyMs / 1000} s)`)
  }
  layers.push(...destinations)
  names.push(...settings.destinations.map((name) => `alerts(${name}: ${settings.types.join(', ')})`))
  return { layers, names, checkReport: () => spend?.check() ?? Promise.resolve(false), close: () => spend?.stop() }
}

function destination(name: string, index: number, rules: object, env: Record<string, string | undefined>): AlertLayer {
  const where = `general_settings.alerting[${index}]`
  let integration = name === 'email' ? findIntegration(env.RESEND_API_KEY ? 'resend_email' : env.SENDGRID_API_KEY ? 'sendgrid_email' : 'smtp_email') : findIntegration(name)
  if (name === 'webhook') {
    throw new ConfigError(`${where}: "webhook" alerting (LiteLLM's WebhookEvent posts) is not supported yet; use "slack", "teams", "discord", "pagerduty" or "email", or log every call with success_callback: ["generic_api"].`, [
      { path: where, message: 'webhook alerting is not supported' },
    ])
  }
  if (integration?.position !== 'alerts') integration = undefined
  if (integration === undefined) {
    throw new ConfigError(`${where}: unknown alerting destination "${name}"; use slack, teams, discord, pagerduty or email (docs/proxy.md, Alerting).`, [{ path: where, message: `unknown alerting destination ${name}` }])
  }
  try {
    return integration.factory(rules as Parameters<typeof integration.factory>[0]) as AlertLayer
  } catch (error) {
    // Usually a missing credential: the integration's message names the variable to set.
    throw new ConfigError(`${where} (${name}): ${(error as Error).message}`, [{ path: where, message: (error as Error).message }])
  }
}
