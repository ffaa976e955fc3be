/**
 * The windows alerts are decided on, kept in the shared store (`ctx.store`) so every worker and
 * replica adds to the same ones: a model's latencies over a sliding window (average and p95), a
 * deployment's outcomes over a sliding window (errors and error rate). Whether an alert is sent is
 * decided in the store too: the first process to write the alert's "sent" key (`set` with
 * `onlyIfAbsent` and a time to live) sends it, every other one sees the key and does not. So N
 * replicas send one alert, not N. The proxy's alerts (docs/proxy.md) and the `latency` / `outage`
 * options of the alerting layers (docs/integrations/slack.md) both use this file.
 */
import type { SharedStore } from '../shared-state/store'
import { spoken, type AlertNotice } from './alert-notice'

/** The "sent" keys live under this prefix in the store. */
const sentPrefix = 'alerts:sent:'

/**
 * True for the one process that claims `key` until `ttlMs` passes; false for every other one (and
 * for this one again) meanwhile. The claim is atomic in the store (SET NX PX on Redis).
 *
 * @example
 * ```ts
 * if (await sendOnce(ctx.store, `budget:key:${token}:0:0.8`, periodLeftMs)) send(notice)
 * ```
 */
export async function sendOnce(store: SharedStore, key: string, ttlMs: number | undefined): Promise<boolean> {
  return store.set(sentPrefix + key, String(Date.now()), { onlyIfAbsent: true, ...(ttlMs === undefined ? {} : { ttlMs: Math.max(1, Math.round(ttlMs)) }) })
}

/** A latency rule: alert when a model's average or p95 latency over `windowMs` is above a threshold. */
export interface LatencyRule {
  /** Whose windows these are (the alerting layer's name): two destinations keep two sets, each alerted once. */
  scope: string
  windowMs: number
  /** Alert when the average latency (ms) over the window is above this. */
  averageMs?: number
  /** Alert when the 95th percentile latency (ms) over the window is above this. */
  p95Ms?: number
  /** Only these models (the event's `model`, or the name the caller asked for); default every model. */
  models?: string[]
  /** Calls the window must hold before it is judged (default 1). */
  minCalls: number
}

/**
 * Adds one call's latency to its model's window and answers the notices it makes: at most one per
 * measure (average, p95) per window per model across every process sharing the store.
 *
 * @example
 * ```ts
 * const notices = await recordLatency(ctx.store, { scope: 'slack', windowMs: 300_000, averageMs: 5000, minCalls: 1 }, 'gpt-4', 6200, Date.now())
 * ```
 */
export async function recordLatency(store: SharedStore, rule: LatencyRule, model: string, latencyMs: number, now: number): Promise<AlertNotice[]> {
  const key = `alerts:latency:${rule.scope}:${model}:${rule.windowMs}`
  const totals = await store.addToWindow(key, latencyMs, rule.windowMs)
  if (totals.count < rule.minCalls) return []
  const notices: AlertNotice[] = []
  const average = totals.sum / totals.count
  const over = spoken(rule.windowMs)
  const facts = (measure: string, value: number, threshold: number) => [
    { name: 'Model', value: model },
    { name: measure, value: spoken(Math.round(value)) },
    { name: 'Threshold', value: spoken(threshold) },
    { name: 'Window', value: over },
    { name: 'Calls in window', value: String(totals.count) },
  ]
  if (rule.averageMs !== undefined && average > rule.averageMs && (await sendOnce(store, `latency:${rule.scope}:${model}:average:${rule.windowMs}`, rule.windowMs))) {
    const title = `Average latency of ${model} is ${spoken(Math.round(average))} over the last ${over}`
    notices.push({
      kind: 'latency',
      title,
      summary: `${title} (threshold ${spoken(rule.averageMs)}, ${callCount(totals.count)})`,
      detail: `The average response time of ${model} over the last ${over} is ${spoken(Math.round(average))}, above the ${spoken(rule.averageMs)} threshold (${callCount(totals.count)}).`,
      facts: facts('Average latency', average, rule.averageMs),
      at: now,
      severity: 'warning',
      model,
      key: JSON.stringify(['latency', model, 'average']),
    })
  }
  if (rule.p95Ms !== undefined) {
    const p95 = percentile(await store.windowValues(key, rule.windowMs), 0.95)
    if (p95 > rule.p95Ms && (await sendOnce(store, `latency:${rule.scope}:${model}:p95:${rule.windowMs}`, rule.windowMs))) {
      const title = `p95 latency of ${model} is ${spoken(Math.round(p95))} over the last ${over}`
      notices.push({
        kind: 'latency',
        title,
        summary: `${title} (threshold ${spoken(rule.p95Ms)}, ${callCount(totals.count)})`,
        detail: `95% of the calls to ${model} over the last ${over} took up to ${spoken(Math.round(p95))}, above the ${spoken(rule.p95Ms)} threshold (${callCount(totals.count)}).`,
        facts: facts('p95 latency', p95, rule.p95Ms),
        at: now,
        severity: 'warning',
        model,
        key: JSON.stringify(['latency', model, 'p95']),
      })
    }
  }
  return notices
}

/** The value below which `share` of the values lie (nearest rank); 0 for none. */
export function percentile(values: number[], share: number): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(share * sorted.length) - 1))]!
}

/** An outage rule: alert when a deployment fails often over `windowMs`. */
export interface OutageRule {
  /** Whose windows these are (the alerting layer's name). */
  scope: string
  windowMs: number
  /** Failures in the window that make an outage, in increasing order: one alert per level (LiteLLM's minor and major outage, default 5 and 10). */
  errors: number[]
  /** The share of failed calls (0..1) the window must also reach (default 0: the count alone decides). */
  rate: number
  /** Calls the window must hold before it is judged (default 1). */
  minCalls: number
}

/**
 * Adds one call's outcome to its deployment's window and answers the notices it makes: at most one
 * per level per window per deployment across every process sharing the store. A 400 (the caller's
 * mistake) is not counted as a failure, as in LiteLLM.
 *
 * @example
 * ```ts
 * const notices = await recordOutcome(ctx.store, { scope: 'slack', windowMs: 60_000, errors: [5, 10], rate: 0, minCalls: 1 }, 'openai/gpt-4o', true, Date.now())
 * ```
 */
export async function recordOutcome(store: SharedStore, rule: OutageRule, deployment: string, failed: boolean, now: number): Promise<AlertNotice[]> {
  // One window holds both counts: its sum is the failures, its count the calls.
  const totals = await store.addToWindow(`alerts:outcomes:${rule.scope}:${deployment}:${rule.windowMs}`, failed ? 1 : 0, rule.windowMs)
  if (!failed || totals.count < rule.minCalls) return []
  const failures = Math.round(totals.sum)
  const rate = failures / totals.count
  if (rate < rule.rate) return []
  const notices: AlertNotice[] = []
  for (const [level, threshold] of rule.errors.entries()) {
    if (failures < threshold) continue
    if (!(await sendOnce(store, `outage:${rule.scope}:${deployment}:${level}:${rule.windowMs}`, rule.windowMs))) continue
    const name = rule.errors.length > 1 ? (level === rule.errors.length - 1 ? 'Major outage' : 'Minor outage') : 'Outage'
    const over = spoken(rule.windowMs)
    const title = `${name}: ${deployment} failed ${failures} of ${totals.count} calls in the last ${over}`
    notices.push({
      kind: 'outage',
      title,
      summary: `${title} (${Math.round(rate * 100)}% errors)`,
      detail: `${deployment} failed ${failures} of its last ${totals.count} calls (${Math.round(rate * 100)}%) within ${over}; the threshold is ${threshold} failures${rule.rate > 0 ? ` at ${Math.round(rule.rate * 100)}% or more` : ''}.`,
      facts: [
        { name: 'Deployment', value: deployment },
        { name: 'Failures', value: String(failures) },
        { name: 'Calls in window', value: String(totals.count) },
        { name: 'Error rate', value: `${Math.round(rate * 100)}%` },
        { name: 'Window', value: over },
      ],
      at: now,
      severity: level === rule.errors.length - 1 ? 'critical' : 'warning',
      model: deployment,
      key: JSON.stringify(['outage', deployment, level]),
    })
  }
  return notices
}

function callCount(count: number): string {
  return count === 1 ? '1 call' : `${count} calls`
}
