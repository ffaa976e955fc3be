/**
 * A sink that POSTs batches to an HTTP endpoint: the transport of most exporters. It sends through
 * an `undici` keep-alive pool of its own (about a third of the CPU of `fetch` per request), opened on
 * the first send and freed by `close()` when a client that used it closes.
 */
import { constants as zlibConstants, gzipSync } from 'node:zlib'
import type { Socket } from 'node:net'
import type { Dispatcher, Pool } from 'undici'
import { pipelinedConnections, type Answer, type PipelinedConnections, type Post } from './pipelined-connections'
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
   * signature over the body, or a short-lived token fetched in the background. Default none.
   */
  headersFor?: (body: string | Uint8Array) => Record<string, string> | Promise<Record<string, string>>
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
 * connection per request; bench/notes.md, stop 24), through `pipelined-connections.ts` rather than
 * undici (a third less CPU again; stop 30). A request whose answer is lost with its connection fails
 * and the queue sends it again, the at-least-once the queue gives every sink anyway. Batch sinks
 * send one request per 100 items through undici and keep one request per connection.
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
  let connections: PipelinedConnections | undefined
  let openSocket: (() => Socket) | undefined
  const exchanges = createExchanges(timeoutMs)
  const maxBatchSize = options.maxBatchSize ?? 100
  const pipelined = maxBatchSize === 1
  // The start of every pipelined request up to its body's length, made on the first send (most sinks' headers never change).
  let jsonHead: string | undefined
  let rawHead: string | undefined

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
      const extraHeaders = options.headersFor ? await options.headersFor(encoded) : undefined
      const headers = extraHeaders ? requestHeaders(baseHeaders['content-type']!, { ...baseHeaders, ...extraHeaders }, gzip) : baseHeaders
      let answer: Answer
      try {
        if (pipelined) {
          const head = extraHeaders ? requestHead(name, url, headers) : isRaw ? (rawHead ??= requestHead(name, url, rawHeaders)) : (jsonHead ??= requestHead(name, url, jsonHeaders))
          // net or tls loads on the first send; the connections are made after it, so concurrent first sends share them.
          const connect = (openSocket ??= await connector(url))
          connections ??= pipelinedConnections({ connect, pipelining: pipelinedRequests, maxConnections: options.maxConcurrency })
          answer = await exchanges.pipelined(connections, requestBytes(head, body), signal)
        } else {
          // undici loads on the first send, not when an exporter's module is imported (cold start).
          const undici = loadedUndici ?? (await loadUndici())
          // Keep-alive connections, opened as needed for the requests in flight.
          pool ??= new undici.Pool(origin, { connections: options.maxConcurrency ?? null })
          answer = await exchanges.dispatched(pool, { path, method: 'POST', headers, body }, signal)
        }
      } catch (error) {
        if (error instanceof DeliveryError) throw error
        throw new DeliveryError(`${name}: could not reach ${origin}: ${(error as Error).message}`, { retryable: true, cause: error })
      }
      const { status } = answer
      if (status >= 200 && status < 300) return result
      // A service may echo the key it was sent: what is quoted of its answer names no known credential.
      throw new DeliveryError(`${name}: ${origin} answered ${status}: ${scrubProcessSecrets(answer.text.slice(0, 200))}`, {
        status,
        retryable: isRetryableHttpStatus(status),
        retryAfterMs: parseRetryAfter(answer.retryAfter),
      })
    },
    async close() {
      // Forgotten first, so a send of another client that shares this sink opens fresh connections.
      const open = [pool, connections]
      pool = undefined
      connections = undefined
      await Promise.all(open.map((dispatcher) => dispatcher?.close()))
    },
  }
}

/** One POST in flight: when it gives up, the queue signal that stops it, and how to stop it. */
interface Exchange {
  deadline: number
  signal: AbortSignal
  abort?: (reason: Error) => void
  /** Why it was stopped before undici handed over its abort. */
  stopped?: Error
}

/** What one POST does with its answer, or its failure. */
interface Settle {
  answer(answer: Answer): void
  fail(error: Error): void
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

  /** Runs one POST under the sink's time limit and `signal`; `start` sends it. */
  const exchange = (signal: AbortSignal, start: (exchange: Exchange, settle: Settle) => void): Promise<Answer> => {
    signal.throwIfAborted()
    if (!listening.has(signal)) listen(signal)
    return new Promise<Answer>((resolve, reject) => {
      const exchange: Exchange = { deadline: Date.now() + timeoutMs, signal }
      inFlight.add(exchange)
      arm()
      const settle: Settle = {
        answer(answer) {
          inFlight.delete(exchange)
          resolve(answer)
        },
        fail(error) {
          inFlight.delete(exchange)
          reject(error)
        },
      }
      try {
        start(exchange, settle)
      } catch (error) {
        settle.fail(error as Error)
      }
    })
  }

  return {
    /** A request of a one-item sink, pipelined. */
    pipelined(connections: PipelinedConnections, bytes: string | Uint8Array, signal: AbortSignal): Promise<Answer> {
      return exchange(signal, (exchange, settle) => {
        const post: Post = { bytes, onAnswer: settle.answer, onError: settle.fail }
        exchange.abort = (reason) => connections.stop(post, reason)
        connections.post(post)
      })
    },
    /** A request of a batch sink, through undici's `dispatch` with a handler of its own. */
    dispatched(pool: Pool, request: Dispatcher.DispatchOptions, signal: AbortSignal): Promise<Answer> {
      return exchange(signal, (exchange, settle) => {
        let status = 0
        let retryAfter: string | undefined
        let text = ''
        pool.dispatch(request, {
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
            // A success's body is read and dropped; a failure's first bytes go into the error.
            if ((status < 200 || status >= 300) && text.length < quotedBytes) text += chunk.toString('utf8')
            return true
          },
          onComplete: () => settle.answer({ status, text, retryAfter }),
          onError: settle.fail,
        })
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

/** The sockets of a sink's pipelined requests: `tls` for https, loaded on the first send. */
async function connector(url: URL): Promise<() => Socket> {
  const host = url.hostname.replace(/^\[|\]$/g, '')
  if (url.protocol === 'https:') {
    const tls = await import('node:tls')
    const port = Number(url.port || 443)
    return () => tls.connect({ host, port, servername: /^[\d.]+$|:/.test(host) ? undefined : host, ALPNProtocols: ['http/1.1'] })
  }
  const net = await import('node:net')
  const port = Number(url.port || 80)
  return () => net.connect({ host, port })
}

/** Characters no header name or value may hold: a line break would start a header (or a request) of its own. */
const headerBreak = /[\r\n\0]/

/**
 * A pipelined request up to its body's length: request line, host and `headers`. A header that
 * holds a line break is refused, named (its value may be a credential, so it is not quoted).
 */
function requestHead(name: string, url: URL, headers: Record<string, string>): string {
  let head = `POST ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n`
  for (const header in headers) {
    const value = headers[header]!
    if (headerBreak.test(header) || headerBreak.test(value) || !/^[\x20-\x7e\t]*$/.test(value)) {
      throw new DeliveryError(`${name}: the header "${header.replace(/[^\x21-\x7e]/g, '?')}" holds a line break or a character outside ASCII, which no HTTP request can carry; fix the value you gave for it`, { retryable: false })
    }
    head += `${header}: ${value}\r\n`
  }
  return `${head}content-length: `
}

/** The bytes of a pipelined request: its head, the body's length, the body. */
function requestBytes(head: string, body: string | Uint8Array): string | Uint8Array {
  if (typeof body === 'string') return `${head}${Buffer.byteLength(body)}\r\n\r\n${body}`
  return Buffer.concat([Buffer.from(`${head}${body.byteLength}\r\n\r\n`, 'latin1'), body])
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
