/**
 * A sink that POSTs batches to an HTTP endpoint: the transport of most exporters. It sends through
 * an `undici` keep-alive pool of its own (about a third of the CPU of `fetch` per request), opened on
 * the first send and freed by `close()` when a client that used it closes.
 */
import { gzipSync } from 'node:zlib'
import type { Pool } from 'undici'
import { DeliveryError, type SendResult, type Sink } from './sink'
import { scrubProcessSecrets } from '../secret-scrubber'

export interface HttpSinkOptions<Item> {
  /** Names the sink in counters and warnings. */
  name: string
  url: string
  /** Headers of every request (credentials go here; they never enter an event). */
  headers?: Record<string, string>
  /** Turns a batch into the request body: an object is sent as JSON, a string or bytes as they are. */
  encode: (items: Item[]) => unknown
  /** Content type for non-JSON bodies (default `application/octet-stream`). */
  contentType?: string
  /** Largest batch per request (default 100; 1 sends one request per item). */
  maxBatchSize?: number
  /**
   * Requests in flight at once (default: the queue's `concurrency`, or its `singleItemConcurrency`
   * for one-item sinks); the keep-alive pool opens up to this many connections.
   */
  maxConcurrency?: number
  /** Compress the body with gzip (`Content-Encoding: gzip`); default false. */
  gzip?: boolean
  /** Per-request time limit in ms, from sending to the last byte of the answer (default 10,000). */
  timeoutMs?: number
}

let loadedUndici: typeof import('undici') | undefined

async function loadUndici(): Promise<typeof import('undici')> {
  return (loadedUndici ??= await import('undici'))
}

/** Statuses where trying again can help. */
export function isRetryableHttpStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500
}

/**
 * A {@link Sink} over an `undici` keep-alive pool: JSON by default, gzip optional, non-2xx answers
 * turned into {@link DeliveryError}s the queue can retry (408, 429, 5xx, honouring Retry-After) or drop.
 * A batch that cannot be encoded (a circular or too deeply nested item) is encoded item by item and
 * sent without the items that fail, which are dropped as `unencodable`, never retried.
 *
 * @example
 * ```ts
 * const sink = httpSink({ name: 'my-db', url: 'http://127.0.0.1:8080/logs', encode: (events) => ({ events }) })
 * ctx.services.queue.enqueue(sink, ctx.toEvent())
 * ```
 */
export function httpSink<Item>(options: HttpSinkOptions<Item>): Sink<Item> {
  const { name, encode } = options
  const url = new URL(options.url)
  const origin = url.origin
  const path = `${url.pathname}${url.search}`
  const timeoutMs = options.timeoutMs ?? 10_000
  const gzip = options.gzip ?? false
  // Built once: every request of this sink carries the same headers.
  const jsonHeaders = requestHeaders('application/json', options.headers, gzip)
  const rawHeaders = requestHeaders(options.contentType ?? 'application/octet-stream', options.headers, gzip)
  let pool: Pool | undefined

  function encodeBody(items: Item[]): { body: string | Uint8Array; isRaw: boolean } {
    const encoded = encode(items)
    const isRaw = typeof encoded === 'string' || encoded instanceof Uint8Array
    return { body: isRaw ? (encoded as string | Uint8Array) : JSON.stringify(encoded), isRaw }
  }

  /** Encodes the batch; when it fails, leaves out the items that fail alone and encodes the rest. */
  function encodeBatch(items: Item[]): { body: string | Uint8Array; isRaw: boolean; result?: SendResult } {
    try {
      return encodeBody(items)
    } catch (error) {
      if (items.length === 1) throw unencodable(name, error)
      const good: Item[] = []
      const left: NonNullable<SendResult['unencodable']> = []
      items.forEach((item, index) => {
        try {
          encodeBody([item])
          good.push(item)
        } catch (itemError) {
          left.push({ index, error: itemError })
        }
      })
      // Every item fine alone but not together (the encoder itself fails): nothing can be sent.
      if (good.length === 0 || left.length === 0) throw unencodable(name, error)
      try {
        return { ...encodeBody(good), result: { unencodable: left } }
      } catch (goodError) {
        throw unencodable(name, goodError)
      }
    }
  }

  return {
    name,
    maxBatchSize: options.maxBatchSize ?? 100,
    maxConcurrency: options.maxConcurrency,
    async send(items, signal) {
      const { isRaw, result, body: encoded } = encodeBatch(items)
      const body = gzip ? gzipSync(encoded) : encoded
      // One deadline for the whole exchange, and the queue's signal (close() giving up) stops it too.
      const deadline = new AbortController()
      const timer = setTimeout(() => deadline.abort(new Error(`no complete answer within ${timeoutMs} ms (the sink's timeoutMs)`)), timeoutMs)
      timer.unref()
      const stop = () => deadline.abort(signal.reason)
      if (signal.aborted) stop()
      else signal.addEventListener('abort', stop, { once: true })
      try {
        // undici loads on the first send, not when an exporter's module is imported (cold start).
        const undici = loadedUndici ?? (await loadUndici())
        // Keep-alive connections, as many as requests in flight (undici opens them as needed).
        pool ??= new undici.Pool(origin, { connections: options.maxConcurrency ?? null })
        let status: number
        let retryAfter: string | string[] | undefined
        let text = ''
        try {
          const response = await pool.request({ path, method: 'POST', headers: isRaw ? rawHeaders : jsonHeaders, body, signal: deadline.signal })
          status = response.statusCode
          if (status >= 200 && status < 300) {
            await response.body.dump()
            return result
          }
          retryAfter = response.headers['retry-after']
          text = await response.body.text().catch(() => '')
        } catch (error) {
          throw new DeliveryError(`${name}: could not reach ${origin}: ${(error as Error).message}`, { retryable: true, cause: error })
        }
        // A service may echo the key it was sent: what is quoted of its answer names no known credential.
        throw new DeliveryError(`${name}: ${origin} answered ${status}: ${scrubProcessSecrets(text.slice(0, 200))}`, {
          status,
          retryable: isRetryableHttpStatus(status),
          retryAfterMs: parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter),
        })
      } finally {
        clearTimeout(timer)
        signal.removeEventListener('abort', stop)
      }
    },
    async close() {
      // Forgotten first, so a send of another client that shares this sink opens a fresh pool.
      const open = pool
      pool = undefined
      await open?.close()
    },
  }
}

function unencodable(name: string, error: unknown): DeliveryError {
  const message = error instanceof Error ? error.message : String(error)
  return new DeliveryError(`${name}: could not encode the batch (a circular or too deeply nested value?): ${message}`, { retryable: false, unencodable: true, cause: error })
}

/** A request's headers: the content type, the caller's headers (names lower-cased, theirs win), gzip. */
function requestHeaders(contentType: string, extra: Record<string, string> | undefined, gzip: boolean): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': contentType }
  for (const [header, value] of Object.entries(extra ?? {})) headers[header.toLowerCase()] = value
  if (gzip) headers['content-encoding'] = 'gzip'
  return headers
}

/** `Retry-After` as seconds or an HTTP date → milliseconds. */
export function parseRetryAfter(value: string | null | undefined): number | undefined {
  if (!value) return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now())
}
