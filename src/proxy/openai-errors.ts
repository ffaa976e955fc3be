/**
 * Errors as OpenAI's API sends them: `{ error: { message, type, param, code } }` with the matching
 * HTTP status, so every OpenAI SDK raises its own typed error (`RateLimitError`, `NotFoundError`, ...).
 */
import { isAbortError, isLlmError, isValidationError, type LlmError } from '../errors'
import { stripBearerTokens } from '../redact'

/** The body of an OpenAI error response. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null }
}

/** An error ready to send: status, extra headers and the serialised body. */
export interface OpenAiErrorResponse {
  status: number
  headers: Record<string, string>
  body: string
}

const typeByStatus: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'invalid_request_error',
  405: 'invalid_request_error',
  408: 'timeout_error',
  413: 'invalid_request_error',
  422: 'invalid_request_error',
  429: 'rate_limit_error',
}

/** OpenAI's error `type` for a status (`server_error` for 5xx). */
export function errorTypeForStatus(status: number): string {
  return typeByStatus[status] ?? (status >= 500 ? 'server_error' : 'invalid_request_error')
}

/**
 * An OpenAI-shaped error response for a status and message.
 *
 * @example
 * ```ts
 * const { status, body } = openAiError(404, 'The model `gpt-5` does not exist.', { param: 'model', code: 'model_not_found' })
 * ```
 */
export function openAiError(
  status: number,
  message: string,
  details: { param?: string | null; code?: string | null; type?: string; headers?: Record<string, string> } = {},
): OpenAiErrorResponse {
  const body: OpenAiErrorBody = {
    error: { message, type: details.type ?? errorTypeForStatus(status), param: details.param ?? null, code: details.code ?? null },
  }
  return { status, headers: details.headers ?? {}, body: JSON.stringify(body) }
}

/**
 * Maps anything a call threw to OpenAI's error shape: an {@link LlmError}'s status (a
 * `ValidationError` → 400 with `param` naming the field), `retry-after` for rate limits, 502 for an
 * unreachable upstream, 500 for an error that is not an LLM error. The message is passed through
 * `scrub` (the client's scrubber of known credentials; default: `Bearer` tokens only), so a provider
 * that echoed a key never has it sent on to the proxy's client.
 *
 * @example
 * ```ts
 * try { await client.chat(body) } catch (error) {
 *   const { status, headers, body } = toOpenAiError(error)
 *   response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body)
 * }
 * ```
 */
export function toOpenAiError(thrown: unknown, scrub: (text: string) => string = stripBearerTokens): OpenAiErrorResponse {
  if (!isLlmError(thrown)) {
    const message = thrown instanceof Error ? thrown.message : String(thrown)
    return openAiError(500, scrub(message) || 'Internal error in the proxy.', { code: 'internal_error' })
  }
  const error = thrown as LlmError & { retryAfterMs?: number }
  if (isValidationError(thrown)) return openAiError(400, scrub(thrown.message), { param: thrown.path || null, code: thrown.code ?? 'invalid_request' })
  if (isAbortError(thrown)) return openAiError(499, scrub(error.message), { type: 'cancelled', code: 'cancelled' })
  // No status means the upstream could not be reached: a gateway error, which clients retry.
  const status = error.status ?? (error.name === 'APIConnectionError' ? 502 : 500)
  const headers: Record<string, string> = {}
  if (typeof error.retryAfterMs === 'number') {
    headers['retry-after-ms'] = String(Math.ceil(error.retryAfterMs))
    headers['retry-after'] = String(Math.ceil(error.retryAfterMs / 1000))
  }
  return openAiError(status, withoutLibraryAdvice(scrub(error.message)), { param: error.param ?? null, code: error.code ?? null, headers })
}

/** A call of the library's API in a message: `retry()`, `timeout({ ms: 100 })`, `openai({ apiKey })`. */
const libraryCall = /\b[a-z][A-Za-z]*\((?:\{[^}]*\})?\)/

/**
 * `message` without the advice meant for library users: errors end with hints such as "retry()
 * tries again" or "pass openai({ apiKey })", which a proxy's HTTP client can do nothing about. The
 * first sentence (what happened) stays whole; of each later sentence, the clauses naming a library
 * call are dropped.
 *
 * @example
 * ```ts
 * withoutLibraryAdvice('openai answered 500: Boom. The provider failed; retry() tries again.') // 'openai answered 500: Boom.'
 * ```
 */
export function withoutLibraryAdvice(message: string): string {
  const sentences = message.split(/(?<=[.!?])\s+(?=[A-Z])/)
  const kept = [sentences[0]!]
  for (const sentence of sentences.slice(1)) {
    if (!libraryCall.test(sentence)) {
      kept.push(sentence)
      continue
    }
    const clauses = sentence.replace(/[.!?]$/, '').split(/;\s+/).filter((clause) => !libraryCall.test(clause))
    if (clauses.length > 0) kept.push(`${clauses.join('; ')}.`)
  }
  return kept.join(' ')
}

/** The SSE event a stream that fails after its first chunk ends with (OpenAI SDKs raise it as an APIError). */
export function streamErrorEvent(thrown: unknown, scrub?: (text: string) => string): string {
  return `data: ${toOpenAiError(thrown, scrub).body}\n\n`
}
