/**
 * Alerts that are not about one call: a model's latency over a window, a deployment's errors over a
 * window (an outage), a call hanging past a threshold, a budget crossed, a spend report. They share
 * the call alerts' content (title, summary, detail, facts, footer), so every alerting integration
 * renders them without knowing which kind they are. Prompt and reply content are never part of one.
 */

/** One labelled value of an alert. `code` marks ids, shown as code where the markup has it. */
export interface AlertFact {
  name: string
  value: string
  code?: boolean
}

/** Kinds of alerts that are about many calls, a budget or a report, not one call. */
export type NoticeKind = 'latency' | 'outage' | 'hanging' | 'budget' | 'report'

/** What a notice says: built by the windows, the budget check or the report, rendered by each integration. */
export interface AlertNotice {
  kind: NoticeKind
  /** `Average latency of gpt-4 is 6.2 s over the last 5 min`. */
  title: string
  /** One line for notifications. */
  summary: string
  /** The detail as plain text. */
  detail: string
  facts: AlertFact[]
  /** When it was decided, epoch ms. */
  at: number
  severity: 'info' | 'warning' | 'critical'
  /** The model or deployment it is about, when there is one. */
  model?: string
  /** Equal for notices that are the same one (PagerDuty's `dedup_key`). */
  key: string
}

/**
 * A duration as milliseconds: a number of ms, or text such as `30s`, `5m`, `1h`, `1d`.
 *
 * @example
 * ```ts
 * windowMs('5m') // 300000
 * windowMs(60_000) // 60000
 * ```
 */
export function windowMs(value: string | number): number {
  if (typeof value === 'number') return value
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(value.trim())
  if (!match) return Number.NaN
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms' | 's' | 'm' | 'h' | 'd']
  return Math.round(Number(match[1]) * unit)
}

/**
 * A duration for people: `5 min`, `30 s`, `2 h`, `1 d`, `6.2 s`, `250 ms`.
 *
 * @example
 * ```ts
 * spoken(300_000) // '5 min'
 * ```
 */
export function spoken(ms: number): string {
  if (ms >= 86_400_000 && ms % 86_400_000 === 0) return `${ms / 86_400_000} d`
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000} h`
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`
  if (ms < 1000) return `${Math.round(ms)} ms`
  return ms >= 10_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 1000).toFixed(1)} s`
}

/**
 * An amount in USD as a report shows it: `$0.0042`, `$12.50`.
 *
 * @example
 * ```ts
 * dollars(12.5) // '$12.50'
 * ```
 */
export function dollars(amount: number): string {
  return amount >= 1 ? `$${amount.toFixed(2)}` : `$${amount.toPrecision(2).replace(/\.?0+$/, '')}`
}
