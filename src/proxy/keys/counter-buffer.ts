/**
 * Spend and token counters as this process sees them, at a fraction of the store's round trips:
 * additions are gathered and sent as one increment per counter every `flushMs` (LiteLLM syncs its
 * in-memory counters with Redis every 10 ms for the same reason), and a read is answered from the
 * counter's last known total while it is younger than `maxAgeMs`, plus what this process added since.
 * A process sees its own additions at once; another worker or replica sees them within `flushMs` +
 * `maxAgeMs`. Request counts are not kept here: a rate limit's count is one atomic increment per
 * request (src/proxy/keys/rate-windows.ts), so that exactly the limit passes.
 */
import type { SharedStore } from '../../shared-state/store'

/**
 * Buffered counters over a store.
 *
 * @example
 * ```ts
 * const counters = createCounterBuffer(store, { flushMs: 10, maxAgeMs: 100 })
 * counters.add('spend:key:<hash>:0', 0.0004)
 * await counters.read('spend:key:<hash>:0') // 0.0004 at once in this process
 * ```
 */
export interface CounterBuffer {
  /** The counter's total: the store's (at most `maxAgeMs` old) plus this process's additions since. */
  read(key: string): Promise<number>
  /** The counter's total when this process knows it (read from the store under `maxAgeMs` ago), else undefined: then {@link CounterBuffer.read}. */
  peek(key: string): number | undefined
  /** Adds `amount`, sent to the store within `flushMs`; `ttlMs` is the expiry of a counter the store creates. */
  add(key: string, amount: number, ttlMs?: number): void
  /** Sets the counter now (an admin resetting a spend). */
  set(key: string, value: number, ttlMs?: number): Promise<void>
  /** Sends what is gathered; resolves when the store has answered (what it refused is kept for the next flush). */
  flush(): Promise<void>
}

interface Entry {
  /** The store's total when last seen, and when. */
  known: number
  seenAt: number
  /** Added here, not yet sent; sent, not yet confirmed. */
  pending: number
  sending: number
  ttlMs?: number
  /** The store's answer being awaited: reads of a stale total made meanwhile wait for it instead of asking again. */
  reading?: Promise<void>
}

/** Entries neither pending nor read for this long are forgotten (memory follows the live counters). */
const idleMs = 60_000

/**
 * Buffers counters over `store`.
 *
 * @example
 * ```ts
 * const counters = createCounterBuffer(store, { flushMs: 10, maxAgeMs: 100 })
 * ```
 */
export function createCounterBuffer(store: SharedStore, options: { flushMs: number; maxAgeMs: number; now?: () => number; onError?: (error: unknown) => void }): CounterBuffer {
  const now = options.now ?? Date.now
  const entries = new Map<string, Entry>()
  let timer: NodeJS.Timeout | undefined
  let lastSweep = now()

  const entryOf = (key: string): Entry => {
    let entry = entries.get(key)
    if (entry === undefined) entries.set(key, (entry = { known: 0, seenAt: Number.NEGATIVE_INFINITY, pending: 0, sending: 0 }))
    return entry
  }
  const flush = async (): Promise<void> => {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    const sends: Array<Promise<void>> = []
    for (const [key, entry] of entries) {
      if (entry.pending === 0) continue
      const amount = entry.pending
      entry.pending = 0
      entry.sending += amount
      sends.push(
        store.increment(key, amount, entry.ttlMs === undefined ? undefined : { ttlMs: entry.ttlMs }).then(
          (total) => {
            // Sends of one counter are answered in order: the ones still sending are not in this total.
            entry.sending -= amount
            entry.known = total
            entry.seenAt = now()
          },
          (error: unknown) => {
            // Kept for the next flush: a store that is down (fail-closed) loses nothing it comes back for.
            entry.sending -= amount
            entry.pending += amount
            options.onError?.(error)
            schedule()
          },
        ),
      )
    }
    if (now() - lastSweep > idleMs) {
      lastSweep = now()
      for (const [key, entry] of entries) if (entry.pending === 0 && entry.sending === 0 && now() - entry.seenAt > idleMs) entries.delete(key)
    }
    await Promise.all(sends)
  }
  const readStore = async (key: string, entry: Entry): Promise<void> => {
    try {
      // One connection answers in order: an increment sent before this read is confirmed (and no longer
      // counted as sending) before the read's answer, which includes it; one sent after is not in it.
      const value = Number(await store.get(key))
      entry.known = Number.isFinite(value) ? value : 0
      entry.seenAt = now()
    } finally {
      entry.reading = undefined
    }
  }
  const schedule = () => {
    if (timer !== undefined) return
    timer = setTimeout(() => void flush(), options.flushMs)
    timer.unref()
  }

  return {
    async read(key) {
      const entry = entryOf(key)
      // Every request that finds the total stale waits for one answer: a busy process asks once, not once per request in flight.
      if (now() - entry.seenAt >= options.maxAgeMs) await (entry.reading ??= readStore(key, entry))
      return entry.known + entry.pending + entry.sending
    },
    peek(key) {
      const entry = entries.get(key)
      if (entry === undefined || now() - entry.seenAt >= options.maxAgeMs) return undefined
      return entry.known + entry.pending + entry.sending
    },
    add(key, amount, ttlMs) {
      if (!(amount !== 0 && Number.isFinite(amount))) return
      const entry = entryOf(key)
      entry.pending += amount
      if (ttlMs !== undefined) entry.ttlMs = ttlMs
      schedule()
    },
    async set(key, value, ttlMs) {
      const entry = entryOf(key)
      entry.pending = 0
      await store.set(key, String(value), ttlMs === undefined ? {} : { ttlMs })
      entry.known = value
      entry.seenAt = now()
    },
    flush,
  }
}
