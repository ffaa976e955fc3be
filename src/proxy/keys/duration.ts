/**
 * LiteLLM's durations (`duration`, `budget_duration`): `30s`, `30m`, `30h`, `30d`, `2w`, `1mo`, a bare
 * number of seconds, and the words `hourly`, `daily`, `weekly`, `monthly` (litellm/litellm_core_utils/
 * duration_parser.py). Budget periods are counted from an anchor (the record's creation time): period
 * `n` runs from `anchor + n × duration` to `anchor + (n + 1) × duration`, months counted on the calendar.
 */

/** A parsed duration: a count of a unit. */
export interface Duration {
  count: number
  unit: 's' | 'm' | 'h' | 'd' | 'w' | 'mo'
}

const unitMs = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const
const words: Record<string, string> = { hourly: '1h', daily: '24h', weekly: '7d', monthly: '30d' }
const pattern = /^(\d+)(mo|[smhdw]?)$/

/**
 * Parses a duration, or returns undefined when it is not one.
 *
 * @example
 * ```ts
 * parseDuration('30d') // { count: 30, unit: 'd' }
 * parseDuration('1mo') // { count: 1, unit: 'mo' }
 * parseDuration('soon') // undefined
 * ```
 */
export function parseDuration(text: string): Duration | undefined {
  const normal = words[text.trim().toLowerCase()] ?? text.trim()
  const match = pattern.exec(normal)
  if (!match) return undefined
  const count = Number(match[1])
  if (count <= 0) return undefined
  return { count, unit: (match[2] || 's') as Duration['unit'] }
}

/** What a duration field must look like, for error messages. */
export const durationHint = 'a duration such as "30s", "30m", "1h", "30d", "2w" or "1mo" (or hourly, daily, weekly, monthly)'

/**
 * `from` plus `duration`, in epoch ms (months on the UTC calendar, the day clamped to the month's last).
 *
 * @example
 * ```ts
 * addDuration(Date.UTC(2026, 0, 31), { count: 1, unit: 'mo' }) // Date.UTC(2026, 1, 28)
 * ```
 */
export function addDuration(from: number, duration: Duration, times = 1): number {
  if (duration.unit !== 'mo') return from + unitMs[duration.unit] * duration.count * times
  const date = new Date(from)
  const day = date.getUTCDate()
  const target = new Date(from)
  target.setUTCDate(1)
  target.setUTCMonth(target.getUTCMonth() + duration.count * times)
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate()
  target.setUTCDate(Math.min(day, lastDay))
  return target.getTime()
}

/** One budget period: its index from the anchor, its start and its end (the reset time), epoch ms. */
export interface Period {
  index: number
  start: number
  end: number
}

/**
 * The budget period `now` falls in, counted from `anchor`; without a duration, one period forever.
 *
 * @example
 * ```ts
 * periodAt(0, { count: 1, unit: 'h' }, 5_400_000) // { index: 1, start: 3_600_000, end: 7_200_000 }
 * ```
 */
export function periodAt(anchor: number, duration: Duration | undefined, now: number): Period {
  if (duration === undefined) return { index: 0, start: anchor, end: Number.POSITIVE_INFINITY }
  if (duration.unit !== 'mo') {
    const length = unitMs[duration.unit] * duration.count
    const index = Math.max(0, Math.floor((now - anchor) / length))
    return { index, start: anchor + index * length, end: anchor + (index + 1) * length }
  }
  const from = new Date(anchor)
  const to = new Date(now)
  let index = Math.max(0, Math.floor(((to.getUTCFullYear() - from.getUTCFullYear()) * 12 + to.getUTCMonth() - from.getUTCMonth()) / duration.count))
  // The month count overshoots by one when `now` is before the anchor's day in its month.
  while (index > 0 && addDuration(anchor, duration, index) > now) index--
  return { index, start: addDuration(anchor, duration, index), end: addDuration(anchor, duration, index + 1) }
}
