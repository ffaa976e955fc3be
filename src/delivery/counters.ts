/**
 * What the delivery queue counts: items enqueued, delivered, held, retried and dropped (by reason),
 * in total and per sink name, and where a drop is reported.
 */
import type { DeliveryStats, DropInfo, DropReason, SinkStats } from './queue-options'

export interface DeliveryCounters {
  readonly totals: { enqueued: number; delivered: number; held: number; retries: number; dropped: Record<string, number> }
  /** The counters of a sink name (sinks of the same name are counted together). */
  sink(name: string): SinkStats
  /**
   * Counts a drop and reports it to `onDrop`, or with one warning per sink and reason (none when
   * `quiet`: the caller reports it another way).
   */
  drop(name: string, stats: SinkStats, reason: DropReason, count: number, error?: unknown, options?: { quiet?: boolean }): void
  /** A copy of every counter, for `queue.stats()`. */
  snapshot(): DeliveryStats
  /** Reports, once on stderr, what `close()` dropped when it ran out of time (items per sink name). */
  reportClosed(dropped: Map<string, number>, timeoutMs: number): void
}

/**
 * What a queue does with a drop when nobody passed `onDrop`: one `console.warn` per sink and reason,
 * the rest only counted. The queue on the calling thread and the delivery worker's drops both go here.
 *
 * @example
 * ```ts
 * const warnOnce = createDropWarning()
 * warnOnce({ sink: 'helicone', reason: 'queue_full', count: 1, error: undefined })
 * ```
 */
export function createDropWarning(): (info: DropInfo) => void {
  const warned = new Set<string>()
  return (info) => {
    const key = `${info.sink}:${info.reason}`
    if (warned.has(key)) return
    warned.add(key)
    const cause = info.error instanceof Error ? `: ${info.error.message}` : ''
    console.warn(
      `[llm-onion] delivery to ${info.sink} dropped ${info.count} item(s) (${info.reason})${cause}. ` +
        'Further drops of this sink and reason are only counted (client.services.queue.stats()); pass createClient({ queue: { onDrop } }) to see each one.',
    )
  }
}

export function createDeliveryCounters(onDrop: ((info: DropInfo) => void) | undefined): DeliveryCounters {
  const totals = { enqueued: 0, delivered: 0, held: 0, retries: 0, dropped: {} as Record<string, number> }
  const byName = new Map<string, SinkStats>()
  const warnOnce = createDropWarning()

  return {
    totals,
    sink(name) {
      let stats = byName.get(name)
      if (!stats) byName.set(name, (stats = { enqueued: 0, delivered: 0, pending: 0, retries: 0, dropped: {} }))
      return stats
    },
    drop(name, stats, reason, count, error, options) {
      stats.dropped[reason] = (stats.dropped[reason] ?? 0) + count
      totals.dropped[reason] = (totals.dropped[reason] ?? 0) + count
      const info: DropInfo = { sink: name, reason, count, error }
      try {
        if (onDrop) onDrop(info)
        else if (!options?.quiet) warnOnce(info)
      } catch {
        // A failing onDrop must not break delivery of everything else.
      }
    },
    reportClosed(dropped, timeoutMs) {
      const total = [...dropped.values()].reduce((sum, count) => sum + count, 0)
      const bySink = [...dropped].map(([name, count]) => `${name} ${count}`).join(', ')
      console.error(
        `[llm-onion] delivery queue closed with ${total} item(s) still undelivered after ${timeoutMs} ms, dropped as closed: ${bySink}. ` +
          'Raise createClient({ queue: { closeTimeoutMs } }) to wait longer.',
      )
    },
    snapshot() {
      const sinks: Record<string, SinkStats> = {}
      for (const [name, stats] of byName) sinks[name] = { ...stats, dropped: { ...stats.dropped } }
      return {
        enqueued: totals.enqueued,
        delivered: totals.delivered,
        pending: totals.held,
        retries: totals.retries,
        dropped: { ...totals.dropped },
        sinks,
      }
    },
  }
}
