/**
 * For sinks whose service accepts a batch in parts: DynamoDB's BatchWriteItem hands back the items
 * it left unprocessed, SQS's SendMessageBatch answers per message, and a batch too large for one
 * request goes as several. Each batch's progress is remembered (the queue retries a batch with the
 * same array), so a retry sends only what the service has not accepted yet: no duplicate messages.
 */
import { DeliveryError, type SendResult } from './sink'

/** What is left of one batch: items not yet accepted, and items refused for good. */
export interface BatchProgress {
  /** Indexes (in the batch) the service has not accepted yet. */
  readonly pending: Set<number>
  /** Items the service refused for good (a retry cannot help), by index, with why. */
  readonly refused: Array<{ index: number; error: unknown }>
}

/**
 * A memory of the progress of each batch a sink is given, keyed by the batch itself.
 *
 * @example
 * ```ts
 * const progressOf = batchProgress()
 * const progress = progressOf(items) // the same object when the queue retries `items`
 * ```
 */
export function batchProgress(): (items: readonly unknown[]) => BatchProgress {
  const known = new WeakMap<readonly unknown[], BatchProgress>()
  return (items) => {
    let progress = known.get(items)
    if (progress === undefined) known.set(items, (progress = { pending: new Set(items.keys()), refused: [] }))
    return progress
  }
}

/**
 * Splits `indexes`, in order, into requests of at most `maxCount` items and `maxBytes` bytes (as
 * `sizeOf` measures an item). An item larger than `maxBytes` on its own goes alone.
 *
 * @example
 * ```ts
 * requestsOf([0, 1, 2], (index) => [100, 200, 50][index]!, { maxCount: 10, maxBytes: 250 }) // [[0], [1, 2]]
 * ```
 */
export function requestsOf(indexes: Iterable<number>, sizeOf: (index: number) => number, limits: { maxCount: number; maxBytes: number }): number[][] {
  const requests: number[][] = []
  let current: number[] = []
  let bytes = 0
  for (const index of indexes) {
    const size = sizeOf(index)
    if (current.length > 0 && (current.length >= limits.maxCount || bytes + size > limits.maxBytes)) {
      requests.push(current)
      current = []
      bytes = 0
    }
    current.push(index)
    bytes += size
  }
  if (current.length > 0) requests.push(current)
  return requests
}

/**
 * The outcome of a batch once every request was made: throws a retryable {@link DeliveryError}
 * while items are still pending (the queue retries, and only those go again), else resolves with
 * the refused items, which the queue drops and counts.
 *
 * @example
 * ```ts
 * return settle(progress, () => `${name}: ${progress.pending.size} items were throttled`)
 * ```
 */
export function settle(progress: BatchProgress, whyPending: () => string): SendResult | undefined {
  if (progress.pending.size > 0) throw new DeliveryError(whyPending(), { retryable: true })
  return progress.refused.length > 0 ? { unencodable: [...progress.refused] } : undefined
}
