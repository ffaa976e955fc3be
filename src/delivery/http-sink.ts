/**
 * A sink that POSTs batches to an HTTP endpoint: the transport of most exporters. It sends through
 * an `undici` keep-alive pool of its own (about a third of the CPU of `fetch` per request), opened on
 * the first send and freed by `close()` when a client that used it closes.
 */
import { constants as zlibConstants, gzipSync } from 'node:zlib'
import type { Dispatcher, Pool } from 'undici'
import { coalescedWrites } from './coalesced-writes'
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
  /** Compress the body with gzip (`Content-Encoding: gzip`, fastest level); default false. */
  gzip?: boolean
  /** Per-request time limit in ms, from sending to the last byte of the answer (default 10,000). */
  timeoutMs?: number
  /**
   * Headers computed for each request from its body as encoded (before gzip), added to `headers`: a
   * signature over the body, or a short-lived token fetched in the background. Default none. When it
   * has a `forget()` (as `cachedBearer`'s has), a 401 answer calls it and the batch is sent again with
   * headers fetched anew: a token the service stopped taking before its expiry costs a retry, not the
   * batches of its remaining lifetime.
   */
  headersFor?: ((body: string | Uint8Array) => Record<string, string> | Promise<Record<string, string>>) & { forget?: () => void }
  /**
   * Reads the body of a 2xx answer for a failure its status does not show (a GraphQL endpoint
   * answers 200 with an `errors` list): returns what went wrong and whether sending the batch again
   * can help, or `undefined` when the batch was taken. Default none: a success's body is dropped unread.
   */
  failureIn2xx?: (body: string) => { message: string; retryable: boolean } | undefined
}

let loadedUndici: typeof import('undici') | undefined

async function loadUndici(): Promise<typeof import('undici')> {
  return (loadedUndici ??= await import('undici'))
}

/**
 * gzip at its fastest level: on batches of telemetry (JSON, OTLP protobuf) it takes half the CPU of
 * the default level for about 4% more bytes.
 */
const gzipOptions = { level: zlibConstants.Z_BEST_SPEED }

/**
 * Requests in flight on one connection for a sink that sends one item per request (Helicone,
 * Athina, the alerts): HTTP/1.1 pipelining, so the queue's sends in flight share a few connections
 * and their answers come back several to a read (about 10% less CPU per Helicone event than a
 * connection per request; bench/notes.md, stop 24). undici pipelines a POST only when told it is
 * idempotent and not blocking: a request whose answer is lost with its connection fails and the
 * queue sends it again, the at-least-once the queue gives every sink anyway. Batch sinks send one
 * request per 100 items and keep one request per connection.
 */
const pipelinedRequests = 16

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
  const exchanges = createExchanges(timeoutMs)
  const maxBatchSize = options.maxBatchSize ?? 100
  const pipelining = maxBatchSize === 1 ? pipelinedRequests : 1
  const readsSuccess = options.failureIn2xx !== undefined

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
    maxBatchSize,
    maxConcurrency: options.maxConcurrency,
    async send(items, signal) {
      const { isRaw, result, body: encoded } = encodeBatch(items)
      const body = gzip ? gzipSync(encoded, gzipOptions) : encoded
      const baseHeaders = isRaw ? rawHeaders : jsonHeaders
      const headers = options.headersFor ? requestHeaders(baseHeaders['content-type']!, { ...baseHeaders, ...(await options.headersFor(encoded)) }, gzip) : baseHeaders
      // undici loads on the first send, not when an exporter's module is imported (cold start).
      const undici = loadedUndici ?? (await loadUndici())
      // Keep-alive connections, opened as needed for the requests in flight (pipelined for one-item sinks).
      // Pipelined requests written in one turn leave in one write (coalesced-writes.ts).
      pool ??= new undici.Pool(origin, { connections: options.maxConcurrency ?? null, pipelining, ...(pipelining > 1 ? { connect: coalescedWrites(undici.buildConnector({})) } : {}) })
      let answer: Answer
      try {
        answer = await exchanges.post(pool, { path, method: 'POST', headers, body, idempotent: pipelining > 1, blocking: pipelining === 1 }, signal, readsSuccess)
      } catch (error) {
        throw new DeliveryError(`${name}: could not reach ${origin}: ${(error as Error).message}`, { retryable: true, cause: error })
      }
      const { status } = answer
      if (status >= 200 && status < 300) {
        const failure = options.failureIn2xx?.(answer.text)
        if (failure === undefined) return result
        throw new DeliveryError(`${name}: ${origin} answered ${status} but refused the batch: ${scrubProcessSecrets(failure.message.slice(0, 200))}`, {
          status,
          retryable: failure.retryable,
        })
      }
      const staleCredentials = status === 401 && options.headersFor?.forget !== undefined
      if (staleCredentials) options.headersFor!.forget!()
      // A service may echo the key it was sent: what is quoted of its answer names no known credential.
      throw new DeliveryError(`${name}: ${origin} answered ${status}${staleCredentials ? ' (its token is fetched anew for the retry)' : ''}: ${scrubProcessSecrets(answer.text.slice(0, 200))}`, {
        status,
        retryable: staleCredentials || isRetryableHttpStatus(status),
        retryAfterMs: parseRetryAfter(answer.retryAfter),
      })
    },
    async close() {
      // Forgotten first, so a send of another client that shares this sink opens a fresh pool.
      const open = pool
      pool = undefined
      await open?.close()
    },
  }
}

/** What a POST got back: its status, and for a failure the first bytes of its body and its Retry-After (a success's body only when asked). */
interface Answer {
  status: number
  text: string
  retryAfter?: string
}

/** One POST in flight: when it gives up, the queue signal that stops it, and undici's abort once connected. */
interface Exchange {
  deadline: number
  signal: AbortSignal
  abort?: (reason: Error) => void
  /** Why it was stopped before undici handed over its abort. */
  stopped?: Error
}

/** How much of a failed answer's body is kept for the error message. */
const quotedBytes = 1024

/**
 * The POSTs of one sink, each through undici's `dispatch` with a handler of its own. Per request
 * there is no AbortController, no timer, no abort listener and no response stream (what
 * `pool.request()` makes, about a third of the CPU of a one-item sink's send): every exchange of a
 * sink has the same time limit, so the ones in flight, kept in the order they started, are also in
 * the order they expire, and one timer (for the oldest) serves them all; one listener per queue signal
 * stops them when the queue gives up.
 */
function createExchanges(timeoutMs: number) {
  const inFlight = new Set<Exchange>()
  const listening = new WeakSet<AbortSignal>()
  let timer: NodeJS.Timeout | undefined

  const stop = (exchange: Exchange, reason: Error) => {
    inFlight.delete(exchange)
    if (exchange.abort) exchange.abort(reason)
    else exchange.stopped ??= reason
  }
  const expire = () => {
    timer = undefined
    const now = Date.now()
    for (const exchange of inFlight) {
      if (exchange.deadline > now) break
      stop(exchange, new Error(`no complete answer within ${timeoutMs} ms (the sink's timeoutMs)`))
    }
    arm()
  }
  const arm = () => {
    if (timer !== undefined || inFlight.size === 0) return
    const oldest = inFlight.values().next().value!
    timer = setTimeout(expire, Math.max(0, oldest.deadline - Date.now()))
    timer.unref()
  }
  const listen = (signal: AbortSignal) => {
    listening.add(signal)
    signal.addEventListener('abort', () => {
      for (const exchange of inFlight) if (exchange.signal === signal) stop(exchange, signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)))
    })
  }

  return {
    /** `readsSuccess`: keep the whole body of a 2xx answer too (for `failureIn2xx`). */
    post(pool: Pool, request: Dispatcher.DispatchOptions, signal: AbortSignal, readsSuccess = false): Promise<Answer> {
      signal.throwIfAborted()
      if (!listening.has(signal)) listen(signal)
      return new Promise<Answer>((resolve, reject) => {
        const exchange: Exchange = { deadline: Date.now() + timeoutMs, signal }
        inFlight.add(exchange)
        arm()
        let status = 0
        let retryAfter: string | undefined
        let text = ''
        // A success's body, when read, is decoded once it is whole (a character may span two chunks).
        let kept: Buffer[] | undefined
        const handler: Dispatcher.DispatchHandlers = {
          onConnect(abort) {
            if (exchange.stopped) abort(exchange.stopped)
            else exchange.abort = abort
          },
          onHeaders(statusCode, rawHeaders) {
            status = statusCode
            if (statusCode < 200 || statusCode >= 300) retryAfter = headerValue(rawHeaders, 'retry-after')
            return true
          },
          onData(chunk) {
            // A success's body is read and dropped (unless the sink reads it); a failure's first bytes go into the error.
            if (status < 200 || status >= 300) {
              if (text.length < quotedBytes) text += chunk.toString('utf8')
            } else if (readsSuccess) (kept ??= []).push(chunk)
            return true
          },
          onComplete() {
            inFlight.delete(exchange)
            if (kept) text = Buffer.concat(kept).toString('utf8')
            resolve({ status, text, retryAfter })
          },
          onError(error) {
            inFlight.delete(exchange)
            reject(error)
          },
        }
        try {
          pool.dispatch(request, handler)
        } catch (error) {
          inFlight.delete(exchange)
          reject(error)
        }
      })
    },
  }
}

/** The first value of header `name` (lower case) in undici's raw headers (name, value, name, value...). */
function headerValue(rawHeaders: Buffer[] | string[] | null, name: string): string | undefined {
  if (!rawHeaders) return undefined
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    if (rawHeaders[index]!.toString().toLowerCase() === name) return rawHeaders[index + 1]!.toString()
  }
  return undefined
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
