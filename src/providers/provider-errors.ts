/**
 * What every provider's error mapping shares: who failed ({@link ErrorTarget}), an HTTP failure → the
 * typed error of the llm-onion family with a message that says what to do, cancellation, connection
 * loss, `retry-after` and credential scrubbing. Each provider maps its own SDK's errors onto these in
 * its folder (`openai/errors.ts`, `gemini/errors.ts`, ...); the real providers throw only what those
 * return, so retry, fallback and every exporter see one shape whichever SDK failed.
 */
import {
  AbortError,
  APIConnectionError,
  ContentPolicyViolationError,
  ContextWindowExceededError,
  errorForStatus,
  isLlmError,
  type LlmError,
  type LlmErrorOptions,
} from '../errors'
import { scrubError } from '../secret-scrubber'

/** Who failed: the facts every mapped error carries, and the hints its message gives. */
export interface ErrorTarget {
  provider: string
  model: string
  apiBase: string
  signal: AbortSignal
  /** How to fix a rejected key, for example `set OPENAI_API_KEY or pass openai({ apiKey })`. */
  keyHint: string
  /**
   * Replaces the credentials the caller knows in what the provider said (many OpenAI-compatible
   * servers echo the key in a 401 body): the client's scrubber when the call has one, else one of
   * the provider's own key.
   */
  scrub?: (text: string) => string
}

/** An HTTP error answer, whatever SDK reported it. */
export interface HttpFailure {
  status: number
  message: string
  code?: string
  param?: string
  retryAfterMs?: number
  cause: unknown
}

const contextWindowPattern =
  /context[_ ]length|context window|maximum context|prompt is too long|too many tokens|input token count.*exceeds|exceeds the maximum number of tokens/i
const contentPolicyPattern = /content[_ ]policy|content management policy|safety system|content[_ ]filter/i

/** The typed error for an HTTP failure: context-window and content-policy 400s get their own classes. */
export function errorForFailure(failure: HttpFailure, target: ErrorTarget): LlmError {
  const options: LlmErrorOptions = {
    provider: target.provider,
    model: target.model,
    code: failure.code,
    param: failure.param,
    retryAfterMs: failure.retryAfterMs,
    cause: failure.cause,
  }
  const said = `${target.provider} answered ${failure.status}: ${asSentence(failure.message)}`
  const about = `${failure.code ?? ''} ${failure.message}`
  if (failure.status === 400 && contextWindowPattern.test(about)) {
    return new ContextWindowExceededError(`${said} Shorten the messages or use a model with a larger context window.`, options)
  }
  if (failure.status === 400 && contentPolicyPattern.test(about)) {
    return new ContentPolicyViolationError(`${said} The provider's content filter refused the request; rephrase the prompt.`, options)
  }
  return errorForStatus(failure.status, `${said}${hintFor(failure.status, target)}`, options)
}

function hintFor(status: number, target: ErrorTarget): string {
  if (status === 401) return ` Check the API key: ${target.keyHint}.`
  if (status === 403) return ' The key may not use this model or project; check its permissions.'
  if (status === 404) return ` Check the model name "${target.model}" and the base URL ${target.apiBase}.`
  if (status === 429) return ' Slow down, or add retry() so the call waits and tries again.'
  if (status >= 500) return ' The provider failed; retry() tries again.'
  return ''
}

/** The caller cancelled, or a timeout layer aborted with its own error as the reason. */
export function cancelled(target: ErrorTarget, cause: unknown): LlmError {
  const reason = target.signal.reason
  if (isLlmError(reason)) return reason
  return new AbortError(undefined, { provider: target.provider, model: target.model, cause })
}

/** A network failure: refused, reset, a connection dropped or a stream cut off half-way. */
export function connectionError(target: ErrorTarget, detail: string, cause?: unknown): APIConnectionError {
  return new APIConnectionError(
    `Lost the connection to ${target.provider} at ${target.apiBase}: ${detail}. Check the base URL and the network; retry() tries again.`,
    { provider: target.provider, model: target.model, cause },
  )
}

/**
 * Milliseconds to wait from `retry-after-ms` (OpenAI's, exact) or `retry-after` (seconds or an
 * HTTP date), or undefined when neither says.
 */
export function retryAfterFromHeaders(headers: { get(name: string): string | null } | undefined): number | undefined {
  const exact = Number(headers?.get('retry-after-ms') ?? Number.NaN)
  if (Number.isFinite(exact) && exact >= 0) return exact
  const after = headers?.get('retry-after')
  if (!after) return undefined
  const seconds = Number(after)
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined
  const date = Date.parse(after)
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now())
}

/**
 * Before an SDK has loaded no error is an instance of its classes: this class, which nothing is an
 * instance of, stands in for them.
 *
 * @example
 * ```ts
 * const { APIError } = loadedOpenAI() ?? ({ APIError: NotLoaded } as unknown as typeof import('openai'))
 * ```
 */
export class NotLoaded {
  static [Symbol.hasInstance](): boolean {
    return false
  }
}

/** `error` with every known credential replaced by the target's scrubber, in its message and its causes. */
export function scrubbed(error: LlmError, target: ErrorTarget): LlmError {
  if (target.scrub) scrubError(error, target.scrub)
  return error
}

/** The provider's message, ending like a sentence so the hint after it reads as one. */
export function asSentence(message: string): string {
  const trimmed = message.trim()
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`
}

/** A thrown value's message, with its cause's message in parentheses. */
export function messageOf(thrown: unknown): string {
  if (!(thrown instanceof Error)) return String(thrown)
  const cause = thrown.cause instanceof Error ? ` (${thrown.cause.message})` : ''
  return `${thrown.message}${cause}`
}
