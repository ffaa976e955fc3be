/**
 * One error family for every provider and SDK failure.
 *
 * Guards use a `Symbol.for` marker rather than `instanceof`, so an error thrown by one copy of
 * llm-onion is recognised by another (duplicate installs, bundled proxies).
 */

const marker = Symbol.for('llm-onion.error')

/** The fields every {@link LlmError} can be built with. */
export interface LlmErrorOptions {
  status?: number
  provider?: string
  model?: string
  retryable?: boolean
  retryAfterMs?: number
  cause?: unknown
  /** Provider's error code, for example `context_length_exceeded`. */
  code?: string
  /** The request field the error is about, for example `messages[0].role`. */
  param?: string
}

/**
 * Base class of every error llm-onion raises for an LLM call.
 *
 * @example
 * ```ts
 * try { await client.chat(request) } catch (error) {
 *   if (isLlmError(error) && error.retryable) scheduleLater()
 * }
 * ```
 */
export class LlmError extends Error {
  readonly [marker] = true
  status?: number
  provider?: string
  model?: string
  retryable: boolean
  code?: string
  param?: string

  constructor(message: string, options: LlmErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.status = options.status
    this.provider = options.provider
    this.model = options.model
    this.code = options.code
    this.param = options.param
    this.retryable = options.retryable ?? isRetryableStatus(options.status)
  }

  /** A plain object for logs and events (no cause chain, no secrets). */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      message: this.message,
      status: this.status,
      provider: this.provider,
      model: this.model,
      code: this.code,
      retryable: this.retryable,
    }
  }
}

/** Statuses worth trying again: timeouts, rate limits and server errors. */
export function isRetryableStatus(status: number | undefined): boolean {
  return status === 408 || status === 409 || status === 429 || (status !== undefined && status >= 500)
}

/** 400: the provider rejected the request. */
export class BadRequestError extends LlmError {
  constructor(message: string, options: LlmErrorOptions = {}) {
    super(message, { status: 400, ...options })
  }
}

/** 400: the prompt does not fit the model's context window. */
export class ContextWindowExceededError extends BadRequestError {}

/** 400: the provider's content filter refused the prompt or the reply. */
export class ContentPolicyViolationError extends BadRequestError {}

/**
 * 400: a guardrail layer (`pii()`, `bannedKeywords()`, `maxCost()`, ...) blocked the request or the
 * reply; `guardrail` names it. A {@link ContentPolicyViolationError}, so code that handles a
 * provider's content filter handles guardrails too. Never retried: the same text is blocked again.
 *
 * @example
 * ```ts
 * try { await client.chat(request) } catch (error) {
 *   if (isGuardrailError(error)) console.log(`${error.guardrail} blocked it`)
 * }
 * ```
 */
export class GuardrailError extends ContentPolicyViolationError {
  readonly guardrail: string
  constructor(guardrail: string, message: string, options: LlmErrorOptions = {}) {
    super(message, { code: 'guardrail_violation', retryable: false, ...options })
    this.guardrail = guardrail
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), guardrail: this.guardrail }
  }
}

/** 401: the API key is missing or wrong. */
export class AuthenticationError extends LlmError {
  constructor(message: string, options: LlmErrorOptions = {}) {
    super(message, { status: 401, ...options })
  }
}

/** 403: the key is valid but may not use this model or resource. */
export class PermissionDeniedError extends LlmError {
  constructor(message: string, options: LlmErrorOptions = {}) {
    super(message, { status: 403, ...options })
  }
}

/** 404: unknown model, provider or route. */
export class NotFoundError extends LlmError {
  constructor(message: string, options: LlmErrorOptions = {}) {
    super(message, { status: 404, ...options })
  }
}

/** 408: the call took longer than allowed. */
export class TimeoutError extends LlmError {
  constructor(message: string, options: LlmErrorOptions = {}) {
    super(message, { status: 408, ...options })
  }
}

/** 422: the request is well-formed but cannot be processed. */
export class UnprocessableEntityError extends LlmError {
  constructor(message: string, options: LlmErrorOptions = {}) {
    super(message, { status: 422, ...options })
  }
}

/** 429: too many requests or tokens; `retryAfterMs` says when to try again if the provider said so. */
export class RateLimitError extends LlmError {
  retryAfterMs?: number
  constructor(message: string, options: LlmErrorOptions = {}) {
    super(message, { status: 429, ...options })
    this.retryAfterMs = options.retryAfterMs
  }
}

/** 500 (and other 5xx without a class of their own): the provider failed. */
export class InternalServerError extends LlmError {
  constructor(message: string, options: LlmErrorOptions = {}) {
    super(message, { status: 500, ...options })
  }
}

/** 503: the provider is overloaded or down. */
export class ServiceUnavailableError extends LlmError {
  constructor(message: string, options: LlmErrorOptions = {}) {
    super(message, { status: 503, ...options })
  }
}

/** The provider could not be reached (DNS, refused, reset, dropped connection). */
export class APIConnectionError extends LlmError {
  constructor(message: string, options: LlmErrorOptions = {}) {
    super(message, { retryable: true, ...options })
  }
}

/** The caller cancelled the call (`break` out of a stream, an aborted signal, a disconnected client). */
export class AbortError extends LlmError {
  constructor(message = 'The call was cancelled by the caller.', options: LlmErrorOptions = {}) {
    super(message, { retryable: false, ...options })
  }
}

/** The request is invalid; `path` names the field, for example `messages[0].role`. */
export class ValidationError extends LlmError {
  readonly path: string
  readonly issues: ReadonlyArray<{ path: string; message: string }>
  constructor(message: string, issues: ReadonlyArray<{ path: string; message: string }>, options: LlmErrorOptions = {}) {
    super(message, { status: 400, retryable: false, param: issues[0]?.path, ...options })
    this.issues = issues
    this.path = issues[0]?.path ?? ''
  }
}

/** True for any error of the llm-onion family, from any copy of the package. */
export function isLlmError(error: unknown): error is LlmError {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[marker] === true
}

function guard<T extends LlmError>(name: string): (error: unknown) => error is T {
  return (error: unknown): error is T => {
    if (!isLlmError(error)) return false
    for (let prototype = Object.getPrototypeOf(error); prototype; prototype = Object.getPrototypeOf(prototype)) {
      if (prototype.constructor?.name === name) return true
    }
    return false
  }
}

export const isAbortError = guard<AbortError>('AbortError')
export const isRateLimitError = guard<RateLimitError>('RateLimitError')
export const isTimeoutError = guard<TimeoutError>('TimeoutError')
export const isValidationError = guard<ValidationError>('ValidationError')
export const isAuthenticationError = guard<AuthenticationError>('AuthenticationError')
export const isNotFoundError = guard<NotFoundError>('NotFoundError')
export const isBadRequestError = guard<BadRequestError>('BadRequestError')
export const isContextWindowExceededError = guard<ContextWindowExceededError>('ContextWindowExceededError')
export const isContentPolicyViolationError = guard<ContentPolicyViolationError>('ContentPolicyViolationError')
export const isGuardrailError = guard<GuardrailError>('GuardrailError')
export const isAPIConnectionError = guard<APIConnectionError>('APIConnectionError')

/**
 * The typed error for an HTTP status, as providers and the mock raise them.
 *
 * @example
 * ```ts
 * throw errorForStatus(429, 'Slow down', { provider: 'openai', retryAfterMs: 2000 })
 * ```
 */
export function errorForStatus(status: number, message: string, options: LlmErrorOptions = {}): LlmError {
  const full = { ...options, status }
  switch (status) {
    case 400:
      return new BadRequestError(message, full)
    case 401:
      return new AuthenticationError(message, full)
    case 403:
      return new PermissionDeniedError(message, full)
    case 404:
      return new NotFoundError(message, full)
    case 408:
      return new TimeoutError(message, full)
    case 422:
      return new UnprocessableEntityError(message, full)
    case 429:
      return new RateLimitError(message, full)
    case 503:
      return new ServiceUnavailableError(message, full)
    default:
      if (status >= 500) return new InternalServerError(message, full)
      return new LlmError(message, full)
  }
}

/** Turns anything thrown into an Error, keeping LlmErrors as they are. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown
  return new Error(typeof thrown === 'string' ? thrown : JSON.stringify(thrown))
}
