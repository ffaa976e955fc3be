/**
 * The contract between the delivery queue and the places it delivers to: a sink, the error a sink
 * throws to say whether a retry can help, and how the queue sends a batch to a sink (retried with
 * backoff and equal jitter by p-retry, waiting at least the `retryAfterMs` a sink asks for).
 */
import { sleep } from '../abort'
import type { DeliverySettings, DropReason } from './queue-options'
import { pRetry, StopRetrying } from './p-retry'
import type { SendResult, Sink } from './sink-contract'

export type { SendResult, Sink } from './sink-contract'

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
  /** The batch could not be encoded: dropped as `unencodable`, never retried. */
  readonly unencodable: boolean
  constructor(message: string, options: { status?: number; retryable: boolean; retryAfterMs?: number; unencodable?: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'DeliveryError'
    this.status = options.status
    this.retryable = options.unencodable ? false : options.retryable
    this.retryAfterMs = options.retryAfterMs
    this.unencodable = options.unencodable ?? false
  }
}

/** Why a batch was dropped, with the last error. */
export interface Dropped {
  reason: DropReason
  error: unknown
}

/**
 * Sends `items` to `sink`, retrying retryable failures up to `settings.retries` times; resolves with
 * `undefined` once delivered, with the items the sink left out as unencodable ({@link SendResult}),
 * or with why the batch was dropped. `onRetry` is called before each retry.
 *
 * @example
 * ```ts
 * const dropped = await sendWithRetries(sink, items, settings, controller.signal, () => stats.retries++)
 * if (dropped && 'reason' in dropped) console.warn(dropped.reason)
 * ```
 */
export async function sendWithRetries(
  sink: Sink<unknown>,
  items: unknown[],
  settings: DeliverySettings,
  signal: AbortSignal,
  onRetry: () => void,
): Promise<Dropped | SendResult | undefined> {
  // The first attempt is made here, not through p-retry: nearly every batch goes through at once,
  // and p-retry's set-up (its options, closures and checks) would be work per batch for nothing.
  // Retries go through p-retry as before, the first failure already counted.
  let first: DeliveryError
  try {
    signal.throwIfAborted()
    const result = await sink.send(items, signal)
    signal.throwIfAborted()
    return result?.unencodable?.length ? result : undefined
  } catch (error) {
    if (signal.aborted) return { reason: 'closed', error }
    first = asDeliveryError(error, sink.name)
  }
  // Encoding again gives the same result: an encode error is never retried.
  if (first.unencodable) return { reason: 'unencodable', error: first }
  if (!first.retryable) return { reason: 'rejected', error: first }
  if (settings.retries === 0) return { reason: 'retries_exhausted', error: first }
  let exhausted = false
  let unencodable = false
  try {
    onRetry()
    await sleep(retryDelay(settings, first, 0), signal, { unref: true })
    const result = await pRetry(
      async () => {
        try {
          return await sink.send(items, signal)
        } catch (error) {
          const failure = asDeliveryError(error, sink.name)
          unencodable = failure.unencodable
          // p-retry's AbortError stops retrying and rejects with the error it wraps.
          throw failure.retryable ? failure : new StopRetrying(failure)
        }
      },
      {
        retries: settings.retries - 1,
        // The wait is computed below so Retry-After can lengthen it; p-retry itself waits 0.
        minTimeout: 0,
        signal,
        onFailedAttempt: async ({ error, retriesLeft, retriesConsumed }) => {
          if (retriesLeft === 0) {
            exhausted = true
            return
          }
          onRetry()
          // The first failure was retried before p-retry started.
          await sleep(retryDelay(settings, error, retriesConsumed + 1), signal, { unref: true })
        },
      },
    )
    return result?.unencodable?.length ? result : undefined
  } catch (error) {
    return { reason: signal.aborted ? 'closed' : unencodable ? 'unencodable' : exhausted ? 'retries_exhausted' : 'rejected', error }
  }
}

function retryDelay(settings: DeliverySettings, error: Error, retriesConsumed: number): number {
  const base = Math.min(settings.maxTimeoutMs, settings.minTimeoutMs * 2 ** retriesConsumed)
  // Equal jitter: half fixed, half random, so sinks that failed together do not retry together.
  const backoff = base / 2 + (Math.random() * base) / 2
  const retryAfter = error instanceof DeliveryError ? (error.retryAfterMs ?? 0) : 0
  return Math.min(settings.maxTimeoutMs, Math.max(backoff, retryAfter))
}

function asDeliveryError(error: unknown, sink: string): DeliveryError {
  if (error instanceof DeliveryError) return error
  const message = error instanceof Error ? error.message : String(error)
  return new DeliveryError(`${sink}: ${message}`, { retryable: true, cause: error })
}
