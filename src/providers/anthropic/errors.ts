/**
 * The `@anthropic-ai/sdk` SDK's errors → the llm-onion error family (shared rules in
 * ../provider-errors.ts). Anthropic's family, as LiteLLM maps it (litellm_core_utils/exception_mapping_utils.py):
 * 400 and 413 `request_too_large` → BadRequestError (a prompt over the window →
 * ContextWindowExceededError), 401 → AuthenticationError, 403 → PermissionDeniedError, 404 →
 * NotFoundError, 429 → RateLimitError, 500 `api_error` and 529 `overloaded_error` →
 * InternalServerError (retryable), 503 → ServiceUnavailableError; each keeps its HTTP status and
 * Anthropic's error `type` as `code`. An `error` event inside a stream gets the status of its type.
 */
import { BadRequestError, isLlmError, TimeoutError, type LlmError } from '../../errors'
import { asSentence, cancelled, connectionError, errorForFailure, messageOf, NotLoaded, retryAfterFromHeaders, scrubbed, type ErrorTarget } from '../provider-errors'
// The SDK loads on a provider's first call; an error can only be one of its classes once it has.
import { loadedAnthropic } from '../sdk-modules'
import { statusOfErrorType } from './wire'

const noAnthropicClasses = {
  APIConnectionTimeoutError: NotLoaded,
  APIError: NotLoaded,
  APIUserAbortError: NotLoaded,
} as unknown as typeof import('@anthropic-ai/sdk')

/** The `{ type: "error", error: { type, message } }` body Anthropic answers errors with. */
interface ErrorBody {
  type?: string
  error?: { type?: string; message?: string }
}

/**
 * Any error the `@anthropic-ai/sdk` SDK threw (or the network under it) as an {@link LlmError},
 * scrubbed of every known credential: its message, and the SDK error it keeps as `cause`.
 *
 * @example
 * ```ts
 * try { await sdk.messages.create(body, { signal }) } catch (error) { throw fromAnthropicError(error, target) }
 * ```
 */
export function fromAnthropicError(thrown: unknown, target: ErrorTarget): LlmError {
  return scrubbed(anthropicErrorOf(thrown, target), target)
}

function anthropicErrorOf(thrown: unknown, target: ErrorTarget): LlmError {
  if (isLlmError(thrown)) return thrown
  const { APIConnectionTimeoutError, APIError, APIUserAbortError } = loadedAnthropic() ?? noAnthropicClasses
  if (target.signal.aborted || thrown instanceof APIUserAbortError) return cancelled(target, thrown)
  if (thrown instanceof APIConnectionTimeoutError) {
    return new TimeoutError(`${target.provider} did not answer in time. Raise anthropic({ timeout }) or use a timeout() layer.`, {
      provider: target.provider,
      model: target.model,
      cause: thrown,
    })
  }
  if (thrown instanceof APIError && (thrown.status !== undefined || thrown.error !== undefined)) {
    const body = (thrown.error ?? {}) as ErrorBody
    const type = body.error?.type ?? thrown.type ?? undefined
    const message = body.error?.message ?? thrown.message
    // An `error` event inside a stream comes after the 200: its type says what the status would have been.
    const status = thrown.status ?? statusOfErrorType(type)
    if (status === 413) {
      return new BadRequestError(`${target.provider} answered 413: ${asSentence(message)} Send a smaller request: fewer or smaller messages, images or documents.`, {
        provider: target.provider,
        model: target.model,
        status,
        code: type,
        retryable: false,
        cause: thrown,
      })
    }
    return errorForFailure({ status, message, code: type, retryAfterMs: retryAfterFromHeaders(thrown.headers), cause: thrown }, target)
  }
  return connectionError(target, messageOf(thrown), thrown)
}
