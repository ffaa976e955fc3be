/**
 * SDK errors → the llm-onion error family. The real providers throw only what this file returns, so
 * retry, fallback and every exporter see one shape whichever SDK failed, with a message that says
 * what to do about it.
 */
import type { GoogleGenerativeAIFetchError } from '@google/generative-ai'
import {
  AbortError,
  APIConnectionError,
  AuthenticationError,
  BadRequestError,
  ContentPolicyViolationError,
  ContextWindowExceededError,
  errorForStatus,
  isLlmError,
  TimeoutError,
  type LlmError,
  type LlmErrorOptions,
} from '../errors'
import { scrubError } from '../secret-scrubber'
// The SDKs load on a provider's first call; an error can only be one of their classes once they have.
import { loadedGemini, loadedOpenAI } from './sdk-modules'

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
interface HttpFailure {
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
function errorForFailure(failure: HttpFailure, target: ErrorTarget): LlmError {
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
function cancelled(target: ErrorTarget, cause: unknown): LlmError {
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

/** Before an SDK has loaded no error is an instance of its classes: a class nothing is an instance of stands in. */
class NotLoaded {
  static [Symbol.hasInstance](): boolean {
    return false
  }
}
const noOpenAIClasses = { APIConnectionTimeoutError: NotLoaded, APIError: NotLoaded, APIUserAbortError: NotLoaded } as unknown as typeof import('openai')
const noGeminiClasses = {
  GoogleGenerativeAIAbortError: NotLoaded,
  GoogleGenerativeAIFetchError: NotLoaded,
  GoogleGenerativeAIRequestInputError: NotLoaded,
} as unknown as typeof import('@google/generative-ai')

/**
 * Any error the `openai` SDK threw (or the network under it, `fetch` or `undici`) as an {@link LlmError},
 * scrubbed of every known credential: its message, and the SDK error and provider body it keeps as `cause`.
 */
export function fromOpenAIError(thrown: unknown, target: ErrorTarget): LlmError {
  return scrubbed(openAIErrorOf(thrown, target), target)
}

function openAIErrorOf(thrown: unknown, target: ErrorTarget): LlmError {
  if (isLlmError(thrown)) return thrown
  const { APIConnectionTimeoutError, APIError, APIUserAbortError } = loadedOpenAI() ?? noOpenAIClasses
  if (target.signal.aborted || thrown instanceof APIUserAbortError) return cancelled(target, thrown)
  // The SDK's own timer, or undici's `headersTimeout` (the `http` transport's `timeout`).
  if (thrown instanceof APIConnectionTimeoutError || (thrown as { code?: unknown } | null)?.code === 'UND_ERR_HEADERS_TIMEOUT') {
    return new TimeoutError(`${target.provider} did not answer in time. Raise openai({ timeout }) or use a timeout() layer.`, {
      provider: target.provider,
      model: target.model,
      cause: thrown,
    })
  }
  if (thrown instanceof APIError && thrown.status !== undefined) {
    const body = thrown.error as { message?: unknown } | undefined
    return errorForFailure(
      {
        status: thrown.status,
        message: typeof body?.message === 'string' ? body.message : thrown.message,
        code: thrown.code ?? undefined,
        param: thrown.param ?? undefined,
        retryAfterMs: retryAfterFromHeaders(thrown.headers),
        cause: thrown,
      },
      target,
    )
  }
  if (thrown instanceof APIError && thrown.error !== undefined) {
    // An `error` event inside a stream: the status line said 200, the body says what went wrong.
    const body = thrown.error as { message?: string; code?: string | number }
    const status = typeof body.code === 'number' ? body.code : 500
    return errorForFailure({ status, message: body.message ?? thrown.message, code: String(body.code ?? ''), cause: thrown }, target)
  }
  return connectionError(target, messageOf(thrown), thrown)
}

/** Any error the `@google/generative-ai` SDK threw (or the network under it) as an {@link LlmError}, scrubbed as {@link fromOpenAIError}'s. */
export function fromGeminiError(thrown: unknown, target: ErrorTarget): LlmError {
  return scrubbed(geminiErrorOf(thrown, target), target)
}

function geminiErrorOf(thrown: unknown, target: ErrorTarget): LlmError {
  if (isLlmError(thrown)) return thrown
  if (target.signal.aborted) return cancelled(target, thrown)
  const { GoogleGenerativeAIAbortError, GoogleGenerativeAIFetchError, GoogleGenerativeAIRequestInputError } = loadedGemini() ?? noGeminiClasses
  if (thrown instanceof GoogleGenerativeAIFetchError && thrown.status) {
    const details = (thrown.errorDetails ?? []) as Array<Record<string, unknown>>
    const options = { provider: target.provider, model: target.model, cause: thrown }
    const message = geminiMessage(thrown)
    // Google answers a wrong key with 400 INVALID_ARGUMENT; the fix is the key, so say so.
    if (details.some((detail) => detail.reason === 'API_KEY_INVALID')) {
      return new AuthenticationError(`${target.provider} answered ${thrown.status}: ${asSentence(message)} Check the API key: ${target.keyHint}.`, {
        ...options,
        status: thrown.status,
        retryable: false,
        code: 'API_KEY_INVALID',
      })
    }
    const retryAfterMs = details.map(retryDelayOf).find((delay) => delay !== undefined)
    return errorForFailure({ status: thrown.status, message, retryAfterMs, cause: thrown }, target)
  }
  if (thrown instanceof GoogleGenerativeAIRequestInputError) {
    return new BadRequestError(`${messageOf(thrown)}. Check the gemini() options.`, {
      provider: target.provider,
      model: target.model,
      retryable: false,
      cause: thrown,
    })
  }
  if (thrown instanceof GoogleGenerativeAIAbortError) {
    return new TimeoutError(`${target.provider} did not answer in time. Use a timeout() layer to bound calls.`, {
      provider: target.provider,
      model: target.model,
      cause: thrown,
    })
  }
  return connectionError(target, messageOf(thrown), thrown)
}

function scrubbed(error: LlmError, target: ErrorTarget): LlmError {
  if (target.scrub) scrubError(error, target.scrub)
  return error
}

/** Google's own message, without the SDK's prefix, URL and the details it appends. */
function geminiMessage(error: GoogleGenerativeAIFetchError): string {
  let message = /\[\d{3}[^\]]*\]\s*([\s\S]*)$/.exec(error.message)?.[1] ?? error.message
  if (error.errorDetails) {
    const appended = ` ${JSON.stringify(error.errorDetails)}`
    if (message.endsWith(appended)) message = message.slice(0, -appended.length)
  }
  return message.trim() || error.statusText || 'no message'
}

/** `google.rpc.RetryInfo` `retryDelay: "2.5s"` → 2500. */
function retryDelayOf(detail: Record<string, unknown>): number | undefined {
  if (typeof detail['@type'] !== 'string' || !detail['@type'].endsWith('RetryInfo')) return undefined
  const match = /^(\d+(?:\.\d+)?)s$/.exec(String(detail.retryDelay ?? ''))
  return match ? Math.round(Number(match[1]) * 1000) : undefined
}

/** The provider's message, ending like a sentence so the hint after it reads as one. */
function asSentence(message: string): string {
  const trimmed = message.trim()
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`
}

function messageOf(thrown: unknown): string {
  if (!(thrown instanceof Error)) return String(thrown)
  const cause = thrown.cause instanceof Error ? ` (${thrown.cause.message})` : ''
  return `${thrown.message.replace(/^\[GoogleGenerativeAI Error\]: /, '')}${cause}`
}
