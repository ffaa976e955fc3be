/**
 * How far a sink's limit of batches in flight may grow past its default when a backlog builds: 16
 * times (4 → 64 batches; 64 → 1,024 requests for a one-item sink such as Helicone).
 */
export const inFlightGrowth = 16

/** What a sink's state (buffer.ts) carries of its limit: batches in flight now, where it started, how far it may grow. */
export interface InFlightLimit {
  readonly maxBatchSize: number
  concurrency: number
  readonly baseConcurrency: number
  readonly concurrencyCeiling: number
}

/**
 * A sink's limit of batches in flight, adapted to its latency: what one sink delivers per second is
 * its batches in flight over its answer time, so a fixed limit caps a distant service (64 requests
 * in flight against Helicone answering in 150 ms: 427 events/s, the rest dropped once the queue is
 * full). The limit starts at the default, grows by one with each batch delivered at its first
 * attempt while a full batch more is waiting (up to {@link inFlightGrowth} times the default), and
 * halves at each retry, never below the default: a slow sink gets the requests in flight its latency
 * needs, a failing one is not pressed harder. A sink that sets `maxConcurrency` keeps exactly that.
 *
 * @example
 * ```ts
 * if (deliveredAtFirstAttempt) raiseInFlightLimit(state, buffered(state))
 * else lowerInFlightLimit(state)
 * ```
 */
export function raiseInFlightLimit(state: InFlightLimit, waiting: number): void {
  if (waiting >= state.maxBatchSize && state.concurrency < state.concurrencyCeiling) state.concurrency++
}

/** Halves the limit after a failed attempt, down to the sink's default. */
export function lowerInFlightLimit(state: InFlightLimit): void {
  state.concurrency = Math.max(state.baseConcurrency, state.concurrency >> 1)
}
