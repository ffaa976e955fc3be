/**
 * Cancellation helpers shared by the client, the providers and the layers.
 */
import { AbortError, isLlmError } from './errors'

/**
 * The error an aborted signal stands for: its reason when that is one of ours (a timeout layer aborts
 * with a `TimeoutError`), else an {@link AbortError}.
 */
export function abortErrorOf(signal: AbortSignal): Error {
  return isLlmError(signal.reason) ? signal.reason : new AbortError()
}

/**
 * Waits `ms`, or rejects at once with {@link abortErrorOf} when `signal` aborts, clearing its timer.
 * `unref: true` lets the process exit while it waits (background work only).
 */
export function sleep(ms: number, signal: AbortSignal, options: { unref?: boolean } = {}): Promise<void> {
  if (signal.aborted) return Promise.reject(abortErrorOf(signal))
  if (ms <= 0) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer)
      reject(abortErrorOf(signal))
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    if (options.unref) timer.unref()
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
