/**
 * One JSON POST over an `undici` pool, answered as a whole: the status, the body as text, and the
 * headers as raw pairs. It dispatches with a handler of its own rather than `pool.request()`,
 * which per call builds a `Readable` body, an `AsyncResource`, parsed headers and an abort
 * listener; for a reply read whole none of that is needed, and in a proxy serving thousands of
 * calls a second it was a measurable share of the CPU (docs/benchmarks.md).
 */
import type { Dispatcher } from 'undici'
import type { CallAbort } from '../../call-abort'

/** What {@link postJson} resolves with. */
export interface JsonReply {
  statusCode: number
  /** Raw header pairs as received: name, value, name, value... */
  rawHeaders: Buffer[]
  text: string
}

/**
 * POSTs `body` to `path` on `dispatcher`; rejects with the transport's error, or with the abort
 * reason once `cancellation` aborts (the connection of a request in flight is closed).
 *
 * @example
 * ```ts
 * const reply = await postJson(pool, '/v1/chat/completions', headers, JSON.stringify(body), ctx.cancellation)
 * if (reply.statusCode === 200) return JSON.parse(reply.text)
 * ```
 */
export function postJson(dispatcher: Dispatcher, path: string, headers: Record<string, string>, body: string, cancellation: CallAbort): Promise<JsonReply> {
  if (cancellation.aborted) return Promise.reject(cancellation.signal.reason)
  return new Promise((resolve, reject) => {
    const handler = new ReplyHandler(resolve, reject)
    handler.stopListening = cancellation.onAbort(() => handler.abort(cancellation.signal.reason))
    dispatcher.dispatch({ path, method: 'POST', headers, body }, handler)
  })
}

const noHeaders: Buffer[] = []

class ReplyHandler implements Dispatcher.DispatchHandlers {
  stopListening?: () => void
  #abortRequest?: (error: Error) => void
  #reason?: Error
  #statusCode = 0
  #rawHeaders = noHeaders
  /** The body: most replies come in one part, kept without an array. */
  #first?: Buffer
  #parts?: Buffer[]
  #settled = false

  constructor(
    private readonly resolve: (reply: JsonReply) => void,
    private readonly reject: (error: Error) => void,
  ) {}

  /** Cancels the request: at once when it is on a connection, else as soon as it gets one. */
  abort(reason: unknown): void {
    this.#reason = reason instanceof Error ? reason : new Error(String(reason))
    this.#abortRequest?.(this.#reason)
  }

  onConnect(abort: (error: Error) => void): void {
    if (this.#reason) abort(this.#reason)
    else this.#abortRequest = abort
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    // 1xx answers (100 Continue) come before the real one.
    if (statusCode < 200) return true
    this.#statusCode = statusCode
    this.#rawHeaders = rawHeaders
    return true
  }

  onData(chunk: Buffer): boolean {
    if (this.#first === undefined) this.#first = chunk
    else (this.#parts ??= [this.#first]).push(chunk)
    return true
  }

  onComplete(): void {
    if (this.#settle()) return
    const text = this.#parts ? Buffer.concat(this.#parts).toString('utf8') : (this.#first?.toString('utf8') ?? '')
    this.resolve({ statusCode: this.#statusCode, rawHeaders: this.#rawHeaders, text })
  }

  onError(error: Error): void {
    if (this.#settle()) return
    this.reject(this.#reason ?? error)
  }

  /** True when the promise was already settled; stops listening for aborts the first time. */
  #settle(): boolean {
    if (this.#settled) return true
    this.#settled = true
    this.stopListening?.()
    return false
  }
}

/** Raw header pairs as Node's lower-cased header object (repeated names become arrays). */
export function headerObject(rawHeaders: Buffer[]): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {}
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const name = rawHeaders[index]!.toString('latin1').toLowerCase()
    const value = rawHeaders[index + 1]!.toString('latin1')
    const existing = headers[name]
    if (existing === undefined) headers[name] = value
    else if (Array.isArray(existing)) existing.push(value)
    else headers[name] = [existing, value]
  }
  return headers
}
