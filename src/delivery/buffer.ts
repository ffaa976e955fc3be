/**
 * The delivery queue's bookkeeping per sink: what it buffers, what is in flight, what it holds, and
 * how a batch is taken from the front of its buffer.
 */
import type { DeliverySettings, SinkStats } from './queue-options'
import type { Sink } from './sink'
import { inFlightGrowth } from './in-flight-limit'

export interface Entry {
  item: unknown
  seq: number
  /** The item's record in the durable spool; undefined without a spool (or when the spool refused it). */
  spoolId: number | undefined
}

/** A batch handed to `send`; `settled` once counted, so close() giving up never counts it twice. */
export interface Batch {
  entries: Entry[]
  settled: boolean
}

export interface SinkState {
  sink: Sink<unknown>
  maxBatchSize: number
  /** Batches in flight at once now (in-flight-limit.ts), from `baseConcurrency` up to `concurrencyCeiling`. */
  concurrency: number
  baseConcurrency: number
  concurrencyCeiling: number
  buffer: Entry[]
  head: number
  /** Items at the front of the buffer that must go now, full batch or not (timer fired, flush). */
  due: number
  inFlight: number
  /** Batches sent and not settled yet. */
  sending: Set<Batch>
  /** Items this sink holds: handed over and not mapped yet, buffered, in flight or between retries. */
  held: number
  timer?: NodeJS.Timeout
  stats: SinkStats
}

/** An item handed over by enqueueMapped(): `map(source)` gives the sink's items. */
export interface Unmapped {
  state: SinkState
  source: unknown
  map: (source: unknown) => unknown
  onError: (error: unknown) => void
}

export interface FlushWaiter {
  mark: number
  remaining: number
  resolve: () => void
}

/** Items in the buffer of `state` not taken yet. */
export const buffered = (state: SinkState): number => state.buffer.length - state.head

/**
 * Takes the first `count` buffered items of `state`.
 *
 * @example
 * ```ts
 * const batch = take(state, Math.min(buffered(state), state.maxBatchSize))
 * ```
 */
export function take(state: SinkState, count: number): Entry[] {
  const batch = state.buffer.slice(state.head, state.head + count)
  state.head += count
  // Compact now and then so a long-lived buffer does not keep delivered entries reachable.
  if (state.head === state.buffer.length) {
    state.buffer = []
    state.head = 0
  } else if (state.head > 1024 && state.head * 2 > state.buffer.length) {
    state.buffer = state.buffer.slice(state.head)
    state.head = 0
  }
  return batch
}

/**
 * The state of a sink the queue meets: its batch size and requests in flight from the sink, else
 * from the queue's settings.
 *
 * @example
 * ```ts
 * const state = createSinkState(sink, settings, counters.sink(sink.name))
 * ```
 */
export function createSinkState(sink: Sink<unknown>, settings: DeliverySettings, stats: SinkStats): SinkState {
  const maxBatchSize = Math.max(1, Math.floor(sink.maxBatchSize ?? settings.maxBatchSize))
  // One request per item needs many in flight to keep up: 64 × (1 s / 50 ms) = 1,280 items/s; more
  // when a backlog builds against a slower sink (in-flight-limit.ts), unless the sink sets its own.
  const concurrency = Math.max(1, Math.floor(sink.maxConcurrency ?? (maxBatchSize === 1 ? settings.singleItemConcurrency : settings.concurrency)))
  const concurrencyCeiling = sink.maxConcurrency === undefined ? concurrency * inFlightGrowth : concurrency
  return { sink, maxBatchSize, concurrency, baseConcurrency: concurrency, concurrencyCeiling, buffer: [], head: 0, due: 0, inFlight: 0, sending: new Set(), held: 0, stats }
}

/**
 * Takes every item the sinks hold, in flight (marked settled, so a send that ends later does not
 * count it again) and buffered, and hands each sink's to `drop`; returns how many per sink name.
 * What `close()` does once it has run out of time.
 *
 * @example
 * ```ts
 * const dropped = dropEverything(states.values(), (state, entries) => settle(state, entries, closedReason))
 * ```
 */
export function dropEverything(states: Iterable<SinkState>, drop: (state: SinkState, entries: Entry[]) => void): Map<string, number> {
  const dropped = new Map<string, number>()
  const count = (state: SinkState, entries: Entry[]) => {
    if (entries.length === 0) return
    dropped.set(state.sink.name, (dropped.get(state.sink.name) ?? 0) + entries.length)
    drop(state, entries)
  }
  for (const state of [...states]) {
    for (const batch of state.sending) {
      if (batch.settled) continue
      batch.settled = true
      count(state, batch.entries)
    }
    count(state, take(state, buffered(state)))
  }
  return dropped
}
