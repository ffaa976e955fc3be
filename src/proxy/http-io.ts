/**
 * The HTTP plumbing of the proxy's routes: reading a bounded JSON body, answering JSON and OpenAI
 * errors, waiting for a slow client to drain (and giving up on one that stopped reading).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { openAiError, type OpenAiErrorResponse } from './openai-errors'

/** A parsed JSON request body. */
export type Body = Record<string, unknown>

/**
 * The body as a JSON object, or undefined after answering 413 (over `limit` bytes) or 400 (not JSON,
 * not an object). A client that goes away half-way gets no answer. `reject` sends those errors; routes
 * of another API's format pass one that reshapes them.
 */
export function readJsonBody(request: IncomingMessage, response: ServerResponse, limit: number, reject: typeof send = send): Promise<Body | undefined> {
  const declared = Number(request.headers['content-length'])
  if (declared > limit) return Promise.resolve(void tooLarge(response, limit, reject))
  return new Promise((resolve) => {
    const parts: Buffer[] = []
    let size = 0
    let settled = false
    const finish = (body: Body | undefined) => {
      settled = true
      resolve(body)
    }
    request.on('data', (part: Buffer) => {
      if (settled) return
      size += part.length
      if (size > limit) return finish(void tooLarge(response, limit, reject))
      parts.push(part)
    })
    request.once('end', () => {
      if (settled) return
      finish(parseBody(parts.length === 1 ? parts[0]! : Buffer.concat(parts), response, reject))
    })
    request.once('close', () => {
      if (!settled) finish(undefined)
    })
  })
}

function parseBody(raw: Buffer, response: ServerResponse, reject: typeof send): Body | undefined {
  let body: unknown
  try {
    body = JSON.parse(raw.toString('utf8'))
  } catch (error) {
    reject(response, openAiError(400, `The request body is not valid JSON: ${(error as Error).message}. Send a JSON object with Content-Type: application/json.`, { code: 'invalid_json' }))
    return undefined
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    reject(response, openAiError(400, `The request body must be a JSON object; found ${body === null ? 'null' : Array.isArray(body) ? 'an array' : typeof body}.`, { code: 'invalid_json' }))
    return undefined
  }
  return body as Body
}

function tooLarge(response: ServerResponse, limit: number, reject: typeof send): void {
  const megabytes = Math.round((limit / 1024 / 1024) * 100) / 100
  // The rest of the body is not read: the connection closes after this answer.
  response.setHeader('connection', 'close')
  reject(response, openAiError(413, `The request body is larger than ${megabytes} MB. Raise general_settings.max_request_size_mb in the proxy config to accept it.`, { code: 'request_too_large' }))
}

export function methodNotAllowed(response: ServerResponse, allowed: string): void {
  response.setHeader('allow', allowed)
  send(response, openAiError(405, `Use ${allowed} for this route.`, { code: 'method_not_allowed' }))
}

export function send(response: ServerResponse, error: OpenAiErrorResponse): void {
  if (response.headersSent || response.destroyed) return
  for (const name in error.headers) response.setHeader(name, error.headers[name]!)
  sendJson(response, error.status, error.body)
}

export function sendJson(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body)
}

const jsonType = /^\s*application\/json\s*(;|$)/i

/**
 * True for a request whose `Content-Type` is JSON; otherwise answers 415 and returns false. A
 * browser sends `text/plain` or a form type without asking first (no CORS preflight), so
 * requiring JSON also keeps web pages from posting to the proxy behind the user's back.
 */
export function acceptsJson(request: IncomingMessage, response: ServerResponse, reject: typeof send = send): boolean {
  const type = request.headers['content-type']
  // The exact spelling every OpenAI SDK sends is checked without a regular expression.
  if (type !== undefined && (type === 'application/json' || jsonType.test(type))) return true
  reject(response, openAiError(415, `Send the request body as JSON with the header Content-Type: application/json (found ${type === undefined ? 'no Content-Type' : `"${type}"`}).`, { code: 'unsupported_media_type' }))
  return false
}

/**
 * Resolves once the client has read what was written (`drain`) or the response closed. A client
 * that reads nothing for `stallTimeoutMs` has its connection destroyed, which closes the response
 * and so cancels the call behind it.
 */
export function drained(response: ServerResponse, stallTimeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => response.destroy(), stallTimeoutMs)
    const done = () => {
      clearTimeout(timer)
      response.off('drain', done)
      response.off('close', done)
      resolve()
    }
    response.once('drain', done)
    response.once('close', done)
  })
}

/**
 * The server's `clientError` listener: Node's own answers (400, 431, 413), except that a request
 * that did not arrive within the server's `requestTimeout` gets 408 in OpenAI's error shape.
 *
 * @example
 * ```ts
 * server.on('clientError', answerClientError)
 * ```
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  const response = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage
  if (socket.writable && (!response || !response.headersSent)) {
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      const { body } = openAiError(408, 'The request did not arrive in time: send the whole body at once (general_settings.request_body_timeout_ms sets how long the proxy waits).', { code: 'request_timeout' })
      socket.write(`HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`)
    } else {
      socket.write(error.code === 'HPE_HEADER_OVERFLOW' ? headersTooLarge : error.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW' ? chunkExtensionsTooLarge : badRequest)
    }
  }
  socket.destroy(error)
}

const badRequest = 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'
const headersTooLarge = 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n'
const chunkExtensionsTooLarge = 'HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n\r\n'
