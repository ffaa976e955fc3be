/**
 * The delivery queue's bookkeeping per sink: what it buffers, what is in flight, what it holds, and
 * how a batch is taken from the front of its buffer.
 */
import type { SinkStats } from './queue-options'
import type { Sink } from './sink'

export interface Entry {
  item: unknown
  seq: number
}

/** A batch handed to `send`; `settled` once counted, so close() giving up never counts it twice. */
export interface Batch {
  entries: Entry[]
  settled: boolean
}

export interface SinkState {
  sink: Sink<unknown>
  maxBatchSize: number
  concurrency: number
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
