/**
 * A sink that POSTs batches to an HTTP endpoint: the transport of most exporters.
 */
import { gzipSync } from 'node:zlib'
import { DeliveryError, type Sink } from './delivery-queue'

export interface HttpSinkOptions<Item> {
  /** Names the sink in counters and warnings. */
  name: string
  url: string
  /** Headers of every request (credentials go here; they never enter an event). */
  headers?: Record<string, string>
  /** Turns a batch into the request body: an object is sent as JSON, a string or bytes as they are. */
  encode: (items: Item[]) => unknown
  /** Content type for non-JSON bodies. */
  contentType?: string
  /** Largest batch per request (default 100; 1 sends one request per item). */
  maxBatchSize?: number
  /** Compress the body with gzip (`Content-Encoding: gzip`). */
  gzip?: boolean
  /** Per-request time limit in ms (default 10,000). */
  timeoutMs?: number
}

/** Statuses where trying again can help. */
export function isRetryableHttpStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500
}

/**
 * A {@link Sink} over `fetch`: JSON by default, gzip optional, non-2xx answers turned into
 * {@link DeliveryError}s the queue can retry (408, 429, 5xx, honouring Retry-After) or drop.
 *
 * @example
 * ```ts
 * const sink = httpSink({ name: 'my-db', url: 'http://127.0.0.1:8080/logs', encode: (events) => ({ events }) })
 * ctx.services.queue.enqueue(sink, ctx.toEvent())
 * ```
 */
export function httpSink<Item>(options: HttpSinkOptions<Item>): Sink<Item> {
  const timeoutMs = options.timeoutMs ?? 10_000
  return {
    name: options.name,
    maxBatchSize: options.maxBatchSize ?? 100,
    async send(items, signal) {
      const encoded = options.encode(items)
      const isRaw = typeof encoded === 'string' || encoded instanceof Uint8Array
      let body: string | Uint8Array = isRaw ? (encoded as string | Uint8Array) : JSON.stringify(encoded)
      const headers: Record<string, string> = {
        'content-type': isRaw ? (options.contentType ?? 'application/octet-stream') : 'application/json',
        ...options.headers,
      }
      if (options.gzip) {
        body = gzipSync(body)
        headers['content-encoding'] = 'gzip'
      }
      let response: Response
      try {
        response = await fetch(options.url, {
          method: 'POST',
          headers,
          body: body as BodyInit,
          signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
        })
      } catch (error) {
        throw new DeliveryError(`${options.name}: could not reach ${new URL(options.url).origin}: ${(error as Error).message}`, {
          retryable: true,
          cause: error,
        })
      }
      if (response.ok) {
        await response.arrayBuffer().catch(() => undefined)
        return
      }
      const text = await response.text().catch(() => '')
      throw new DeliveryError(`${options.name}: ${new URL(options.url).origin} answered ${response.status}: ${text.slice(0, 200)}`, {
        status: response.status,
        retryable: isRetryableHttpStatus(response.status),
        retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
      })
    },
  }
}

/** `Retry-After` as seconds or an HTTP date → milliseconds. */
export function parseRetryAfter(value: string | null | undefined): number | undefined {
  if (!value) return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now())
}
