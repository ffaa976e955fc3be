/**
 * PLACEHOLDER — being replaced by the callbacks work (issue 5): bounded, batched, retried delivery.
 * The interface below is the contract the client and every exporter build on.
 */

/**
 * Thrown by a sink's `send` to tell the queue whether trying again can help. Anything else thrown
 * (a network failure) counts as retryable.
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

/** Where a batch of items goes (an HTTP endpoint, a file). */
export interface Sink<Item = unknown> {
  /** Names the sink in counters and warnings (`helicone`, `langfuse`). */
  readonly name: string
  /** Largest batch `send` receives; default 100. */
  readonly maxBatchSize?: number
  /** Delivers a batch; throw to have it retried (see `isRetryableDeliveryError`). */
  send(items: Item[], signal: AbortSignal): Promise<void>
}

export interface DeliveryStats {
  enqueued: number
  delivered: number
  pending: number
  dropped: Record<string, number>
}

export interface DeliveryQueue {
  enqueue<Item>(sink: Sink<Item>, item: Item): void
  flush(): Promise<void>
  close(): Promise<void>
  stats(): DeliveryStats
}

export interface DeliveryQueueOptions {
  maxSize?: number
}

export function createDeliveryQueue(_options: DeliveryQueueOptions = {}): DeliveryQueue {
  const pending = new Set<Promise<void>>()
  const stats: DeliveryStats = { enqueued: 0, delivered: 0, pending: 0, dropped: {} }
  const controller = new AbortController()
  return {
    enqueue(sink, item) {
      stats.enqueued++
      const delivery = sink.send([item], controller.signal).then(
        () => void stats.delivered++,
        () => void (stats.dropped[sink.name] = (stats.dropped[sink.name] ?? 0) + 1),
      )
      pending.add(delivery)
      void delivery.finally(() => pending.delete(delivery))
    },
    async flush() {
      while (pending.size > 0) await Promise.all(pending)
    },
    async close() {
      await this.flush()
    },
    stats: () => ({ ...stats, pending: pending.size }),
  }
}
