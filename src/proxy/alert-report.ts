/**
 * The spend report (LiteLLM's `daily_reports`): every call adds its model's calls, failures, latency
 * and cost to counters of the current report period in the shared store (`daily_report_frequency`,
 * default 12 h as in LiteLLM); every `report_check_interval` each replica looks whether the last
 * period's report is out, and the first to claim it (in the store) sends it: per model, the calls,
 * failures, average latency and spend, the slowest and most failing models first. A period without
 * calls sends nothing.
 */
import type { SharedStore } from '../shared-state/store'
import type { Middleware } from '../types'
import { dollars, spoken, type AlertNotice } from '../integrations/alert-notice'
import { sendOnce } from '../integrations/alert-windows'

/** What {@link spendReport} needs. */
export interface SpendReportOptions {
  store: SharedStore
  /** The model names of the config (`model_name`s and aliases): the report's rows. */
  models: string[]
  frequencyMs: number
  checkIntervalMs: number
  notify: (notice: AlertNotice) => void
  report: (error: unknown) => void
  /** The clock, epoch ms (default `Date.now`); tests pass their own. */
  now?: () => number
}

/** The recording layer, the check (also run by the timer) and the timer's stop. */
export interface SpendReport {
  layer: Middleware
  /** Sends the last period's report if no replica has; resolves true when this one sent it. */
  check(): Promise<boolean>
  stop(): void
}

const measures = ['calls', 'failures', 'latency', 'spend'] as const

/**
 * Builds the report's layer and timer.
 *
 * @example
 * ```ts
 * const report = spendReport({ store, models: ['gpt-4o'], frequencyMs: 86_400_000, checkIntervalMs: 300_000, notify, report: console.warn })
 * ```
 */
export function spendReport(options: SpendReportOptions): SpendReport {
  const { store, frequencyMs } = options
  const now = options.now ?? Date.now
  const counter = (period: number, model: string, measure: (typeof measures)[number]) => `alerts:report:${frequencyMs}:${period}:${model}:${measure}`
  const keep = { ttlMs: frequencyMs * 2 + 3_600_000 }

  const layer: Middleware = async function spendReportRecorder(ctx, next) {
    let failed = false
    try {
      await next()
    } catch (error) {
      failed = true
      throw error
    } finally {
      const period = Math.floor(now() / frequencyMs)
      const model = ctx.requestedModel
      if (options.models.includes(model)) {
        const latency = (ctx.timing.end ?? Date.now()) - ctx.timing.start
        const cost = ctx.cost?.total ?? 0
        ctx.waitUntil(
          Promise.all([
            store.increment(counter(period, model, 'calls'), 1, keep),
            failed ? store.increment(counter(period, model, 'failures'), 1, keep) : undefined,
            store.increment(counter(period, model, 'latency'), latency, keep),
            cost > 0 ? store.increment(counter(period, model, 'spend'), cost, keep) : undefined,
          ]).catch(options.report),
        )
      }
    }
  }

  const check = async (): Promise<boolean> => {
    const at = now()
    const period = Math.floor(at / frequencyMs) - 1
    const rows = await Promise.all(
      options.models.map(async (model) => {
        const [calls, failures, latency, spend] = await Promise.all(measures.map(async (measure) => Number((await store.get(counter(period, model, measure))) ?? 0)))
        return { model, calls: calls!, failures: failures!, latency: calls! > 0 ? latency! / calls! : 0, spend: spend! }
      }),
    )
    const used = rows.filter((row) => row.calls > 0)
    if (used.length === 0) return false
    if (!(await sendOnce(store, `report:${frequencyMs}:${period}`, frequencyMs * 2))) return false
    options.notify(reportNotice(used, period * frequencyMs, (period + 1) * frequencyMs, at))
    return true
  }

  const timer = setInterval(() => void check().catch(options.report), options.checkIntervalMs)
  timer.unref()
  return { layer, check, stop: () => clearInterval(timer) }
}

interface Row {
  model: string
  calls: number
  failures: number
  latency: number
  spend: number
}

function reportNotice(rows: Row[], start: number, end: number, at: number): AlertNotice {
  const total = rows.reduce((sum, row) => sum + row.spend, 0)
  const calls = rows.reduce((sum, row) => sum + row.calls, 0)
  const failures = rows.reduce((sum, row) => sum + row.failures, 0)
  const slowest = [...rows].sort((a, b) => b.latency - a.latency).slice(0, 5)
  const failing = [...rows].filter((row) => row.failures > 0).sort((a, b) => b.failures - a.failures).slice(0, 5)
  const span = `${new Date(start).toISOString()} to ${new Date(end).toISOString()}`
  const line = (row: Row) => `${row.model}: ${row.calls} calls, ${row.failures} failed, average ${spoken(Math.round(row.latency))}, ${dollars(row.spend)}`
  return {
    kind: 'report',
    title: `Spend report: ${dollars(total)} over ${calls} calls`,
    summary: `Spend report for ${span}: ${dollars(total)} over ${calls} calls, ${failures} failed`,
    detail: [
      `From ${span}.`,
      `Slowest models: ${slowest.map((row) => `${row.model} (${spoken(Math.round(row.latency))})`).join(', ')}.`,
      failing.length > 0 ? `Most failed calls: ${failing.map((row) => `${row.model} (${row.failures})`).join(', ')}.` : 'No failed calls.',
      ...rows.map(line),
    ].join('\n'),
    facts: [
      { name: 'Spend', value: dollars(total) },
      { name: 'Calls', value: String(calls) },
      { name: 'Failed calls', value: String(failures) },
      ...rows.slice(0, 7).map((row) => ({ name: row.model, value: `${dollars(row.spend)}, ${row.calls} calls` })),
    ],
    at,
    severity: 'info',
    key: JSON.stringify(['report', start]),
  }
}
