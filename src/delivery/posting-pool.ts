/**
 * POSTs for sinks that read what the service answers (which items it accepted, a token): one
 * `undici` keep-alive pool per origin, opened on the first request and freed by `close()`, one
 * deadline per request, and a network failure turned into a retryable {@link DeliveryError} whose
 * message names no known credential. The answer comes back whatever its status, for the caller to read.
 */
import type { Pool } from 'undici'
import { scrubProcessSecrets } from '../secret-scrubber'
import { DeliveryError } from './sink'

/** What the service answered. */
export interface PostAnswer {
  status: number
  /** The body as text. */
  text: string
  /** Response headers, names lower-cased. */
  headers: Record<string, string | string[] | undefined>
}

/** A pool of keep-alive connections that POSTs and reads each answer. */
export interface PostingPool {
  post(url: URL, headers: Record<string, string>, body: string, signal: AbortSignal): Promise<PostAnswer>
  close(): Promise<void>
}

let loadedUndici: Promise<typeof import('undici')> | undefined

/**
 * A {@link PostingPool} for the sink `name` (named in errors), each request limited to `timeoutMs`.
 *
 * @example
 * ```ts
 * const pool = postingPool('dynamodb', 10_000)
 * const answer = await pool.post(new URL('https://dynamodb.eu-west-1.amazonaws.com/'), headers, body, signal)
 * ```
 */
export function postingPool(name: string, timeoutMs: number): PostingPool {
  const pools = new Map<string, Pool>()
  return {
    async post(url, headers, body, signal) {
      // One deadline for the whole exchange, and the queue's signal (close() giving up) stops it too.
      const deadline = new AbortController()
      const timer = setTimeout(() => deadline.abort(new Error(`no complete answer within ${timeoutMs} ms (the sink's timeoutMs)`)), timeoutMs)
      timer.unref()
      const stop = () => deadline.abort(signal.reason)
      if (signal.aborted) stop()
      else signal.addEventListener('abort', stop, { once: true })
      try {
        // undici loads on the first request, not when an exporter's module is imported (cold start).
        const undici = await (loadedUndici ??= import('undici'))
        let pool = pools.get(url.origin)
        if (pool === undefined) pools.set(url.origin, (pool = new undici.Pool(url.origin)))
        const response = await pool.request({ path: `${url.pathname}${url.search}`, method: 'POST', headers, body, signal: deadline.signal })
        const text = await response.body.text()
        return { status: response.statusCode, text, headers: response.headers }
      } catch (error) {
        throw new DeliveryError(`${name}: could not reach ${url.origin}: ${scrubProcessSecrets((error as Error).message)}`, { retryable: true, cause: error })
      } finally {
        clearTimeout(timer)
        signal.removeEventListener('abort', stop)
      }
    },
    async close() {
      const open = [...pools.values()]
      pools.clear()
      await Promise.all(open.map((pool) => pool.close()))
    },
  }
}
