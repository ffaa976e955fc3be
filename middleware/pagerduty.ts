/**
 * PagerDuty alerts through the Events API v2: failed calls and slow calls as `trigger` events, with
 * the Slack alert's merge key as `dedup_key`, so identical alerts land on one PagerDuty alert.
 */
import { z } from 'zod'
import { httpSink } from '../src/delivery/http-sink'
import { readBaseUrl, requireSetting } from '../src/integrations/options'
import { alertContent, alertDetailText, truncate } from '../src/integrations/alert-content'
import { alertOptionsSchema, alertRules, defineAlertLayer, type Alert, type AlertLayer } from '../src/integrations/alert-layer'
import { validate } from '../src/validate'
import { defineIntegration } from '../src/integrations/descriptor'
import { lazySchema } from '../src/lazy-schema'

const severities = ['critical', 'error', 'warning', 'info'] as const

const pagerdutyOptionsSchema = lazySchema(() =>
  alertOptionsSchema
    .extend({
      routingKey: z.string().min(1).optional(),
      baseUrl: z.url().optional(),
      failureSeverity: z.enum(severities).optional(),
      slowSeverity: z.enum(severities).optional(),
    })
    .strict(),
)

/**
 * Options of {@link pagerduty}, besides the common ones (`moments`, `redact`, `env`).
 * - `routingKey`: the Events API v2 integration key, default `PAGERDUTY_API_KEY` (LiteLLM's name; required).
 * - `baseUrl`: default `PAGERDUTY_API_BASE`, else `https://events.pagerduty.com`.
 * - `failureSeverity`: default `critical` (what LiteLLM sends); `slowSeverity`: default `warning`.
 * - `thresholdMs`, `windowMs`, `timeoutMs`: as for `slack()` (slow calls over 300,000 ms; merge window 60,000 ms).
 */
export type PagerdutyOptions = z.input<typeof pagerdutyOptionsSchema>

/** One event of `POST /v2/enqueue`, as PagerDuty's Events API v2 documents it. */
export interface PagerdutyEvent {
  routing_key: string
  event_action: 'trigger'
  dedup_key: string
  client: string
  payload: {
    summary: string
    source: string
    severity: (typeof severities)[number]
    timestamp: string
    component: string
    group: string
    class: string
    custom_details: Record<string, unknown>
  }
}

/**
 * pagerduty() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * pagerdutyIntegration.factory({ moments: ['failure'] }) // what callbacks({ failure: ['pagerduty'] }) builds
 * ```
 */
export const pagerdutyIntegration = defineIntegration({
  name: 'pagerduty',
  aliases: [],
  switchedOnBy: [['PAGERDUTY_API_KEY']],
  position: 'alerts',
  takesEnv: true,
  factory: pagerduty,
})

/**
 * Triggers a PagerDuty alert when a call fails (not when the caller cancels) or takes longer than
 * `thresholdMs`: one event per alert, identical ones within `windowMs` merged into one `[N alerts]`
 * event, and every event of the same alert carrying the same `dedup_key`. Prompt and reply content
 * are never sent.
 *
 * @example
 * ```ts
 * // PAGERDUTY_API_KEY=<integration key> in the environment
 * client.use(pagerduty({ thresholdMs: 60_000 }))
 * ```
 */
export function pagerduty(options: PagerdutyOptions = {}): AlertLayer {
  const settings = validate(pagerdutyOptionsSchema, options, 'pagerduty() options')
  const env = settings.env ?? process.env
  const routingKey = requireSetting({ integration: 'pagerduty', option: 'routingKey', variable: 'PAGERDUTY_API_KEY' }, settings.routingKey, env)
  const base = readBaseUrl('pagerduty', settings.baseUrl, 'PAGERDUTY_API_BASE', 'https://events.pagerduty.com', env)
  const severity = { failure: settings.failureSeverity ?? 'critical', slow: settings.slowSeverity ?? 'warning' } as const
  return defineAlertLayer<Omit<PagerdutyEvent, 'routing_key'>>({
    name: 'pagerduty',
    sink: httpSink({
      name: 'pagerduty',
      url: `${base}/v2/enqueue`,
      // The Events API takes one event per request; the key rides in the body, added only here.
      maxBatchSize: 1,
      encode: (events) => ({ routing_key: routingKey, ...events[0] }),
      timeoutMs: settings.timeoutMs,
    }),
    // A notice carries its own severity (an outage's major level is critical, a report info).
    toMessage: (alert) => toPagerdutyEvent(alert, alert.notice !== undefined ? alert.notice.severity : severity[alert.kind]),
    moments: settings.moments,
    thresholdMs: settings.thresholdMs,
    windowMs: settings.windowMs,
    timeoutMs: settings.timeoutMs,
    redact: settings.redact,
    ...alertRules(settings),
  })
}

/** Maps an alert to a PagerDuty trigger event (without its routing key). */
export function toPagerdutyEvent(alert: Alert, severity: PagerdutyEvent['payload']['severity']): Omit<PagerdutyEvent, 'routing_key'> {
  const content = alertContent(alert)
  if (alert.notice !== undefined) {
    const { notice } = alert
    return {
      event_action: 'trigger',
      dedup_key: truncate(`llm-onion:${alert.key}`, 255),
      client: 'llm-onion',
      payload: {
        summary: truncate(content.summary, 1024),
        source: 'llm-onion',
        severity,
        timestamp: new Date(notice.at).toISOString(),
        component: notice.model ?? 'llm-onion',
        group: notice.kind,
        class: notice.kind,
        custom_details: { detail: notice.detail, ...Object.fromEntries(content.facts.map((fact) => [fact.name.toLowerCase().replace(/ /g, '_'), fact.value])) },
      },
    }
  }
  const { event } = alert
  return {
    event_action: 'trigger',
    // PagerDuty's limit is 255 characters; the merge key is readable and short for real model names.
    dedup_key: truncate(`llm-onion:${alert.key}`, 255),
    client: 'llm-onion',
    payload: {
      summary: truncate(content.summary, 1024),
      source: sourceOf(event.apiBase) ?? event.provider ?? 'unknown',
      severity,
      timestamp: new Date(event.endTime).toISOString(),
      component: event.model,
      group: event.provider ?? 'unknown',
      class: alert.kind === 'failure' ? (event.error?.type ?? 'Error') : 'SlowCall',
      custom_details: {
        detail: alertDetailText(content, (text) => text),
        ...Object.fromEntries(content.facts.map((fact) => [fact.name.toLowerCase().replace(/ /g, '_'), fact.value])),
        alerts: alert.count,
        ...(event.error?.status === undefined ? {} : { status: event.error.status }),
        latency_ms: event.latencyMs,
      },
    },
  }
}

/** The provider's host: a base URL can carry a key in its query, which must not leave. */
function sourceOf(apiBase: string | undefined): string | undefined {
  if (apiBase === undefined || !URL.canParse(apiBase)) return undefined
  return new URL(apiBase).host || undefined
}
