/**
 * The contract between the delivery queue and the places it delivers to: a sink, and the error a
 * sink throws to say whether a retry can help.
 */

/**
 * Thrown by a sink's `send` to tell the queue whether trying again can help. Anything else thrown
 * (a network failure) counts as retryable.
 *
 * @example
 * ```ts
 * if (response.status === 400) throw new DeliveryError('bad payload', { status: 400, retryable: false })
 * if (response.status === 429) throw new DeliveryError('slow down', { status: 429, retryable: true, retryAfterMs: 2000 })
 * ```
 */
export class DeliveryError extends Error {
  readonly status?: number
  readonly retryable: boolean
  readonly retryAfterMs?: number
  constructor(message: string, options: { status?: number; retryable: boolean; retryAfterMs?: number; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'DeliveryError'
    this.status = options.status
    this.retryable = options.retryable
    this.retryAfterMs = options.retryAfterMs
  }
}

/**
 * Where a batch of items goes (an HTTP endpoint, a file).
 *
 * @example
 * ```ts
 * const sink: Sink<CallEvent> = { name: 'stdout', maxBatchSize: 50, async send(events) { console.log(events.length) } }
 * ctx.services.queue.enqueue(sink, ctx.toEvent())
 * ```
 */
export interface Sink<Item = unknown> {
  /** Names the sink in counters and warnings (`helicone`, `langfuse`). */
  readonly name: string
  /** Largest batch `send` receives; default 100. */
  readonly maxBatchSize?: number
  /** Batches of this sink in flight at once; default the queue's `concurrency` (4). */
  readonly maxConcurrency?: number
  /** Delivers a batch; throw a {@link DeliveryError} to say whether a retry can help (anything else is retried). */
  send(items: Item[], signal: AbortSignal): Promise<void>
}
