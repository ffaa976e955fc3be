/**
 * The contract between the delivery queue and the places it delivers to: a sink, the error a sink
 * throws to say whether a retry can help, and how the queue sends a batch to a sink (retried with
 * backoff and equal jitter by p-retry, waiting at least the `retryAfterMs` a sink asks for).
 */
import { sleep } from '../abort'
import type { DeliverySettings, DropReason } from './queue-options'
import { pRetry, StopRetrying } from './p-retry'

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
  /**
   * Delivers a batch; throw a {@link DeliveryError} to say whether a retry can help (anything else is
   * retried). A sink that sent the batch without some items it could not encode resolves with their
   * indexes ({@link SendResult}): only those are dropped, as `unencodable`.
   */
  send(items: Item[], signal: AbortSignal): Promise<void | SendResult>
  /**
   * Frees what the sink holds open (an HTTP sink's keep-alive connections); optional. Exporters call
   * it when a client that used the sink closes. The sink must still work afterwards (another client
   * may share it): a later `send` opens what it needs again.
   */
  close?(): Promise<void>
}

/**
 * What a `send` may resolve with: the items of the batch it left out because they could not be
 * encoded (by index in the batch), each with its error. The others count as delivered.
 *
 * @example
 * ```ts
 * return { unencodable: [{ index: 3, error: new TypeError('Converting circular structure to JSON') }] }
 * ```
 */
export interface SendResult {
  unencodable?: Array<{ index: number; error: unknown }>
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
  let exhausted = false
  let unencodable = false
  try {
    const result = await pRetry(
      async () => {
        try {
          return await sink.send(items, signal)
        } catch (error) {
          const failure = asDeliveryError(error, sink.name)
          // Encoding again gives the same result: an encode error is never retried.
          unencodable = failure.unencodable
          // p-retry's AbortError stops retrying and rejects with the error it wraps.
          throw failure.retryable ? failure : new StopRetrying(failure)
        }
      },
      {
        retries: settings.retries,
        // The wait is computed below so Retry-After can lengthen it; p-retry itself waits 0.
        minTimeout: 0,
        signal,
        onFailedAttempt: async ({ error, retriesLeft, retriesConsumed }) => {
          if (retriesLeft === 0) {
            exhausted = true
            return
          }
          onRetry()
          await sleep(retryDelay(settings, error, retriesConsumed), signal, { unref: true })
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
