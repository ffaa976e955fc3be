/**
 * The `openai` SDK's errors → the llm-onion error family (shared rules in ../provider-errors.ts). Used
 * by the `openai` provider, its `http` transport, Azure and every OpenAI-compatible prefix.
 */
import { isLlmError, TimeoutError, type LlmError } from '../../errors'
import { cancelled, connectionError, errorForFailure, messageOf, NotLoaded, retryAfterFromHeaders, scrubbed, type ErrorTarget } from '../provider-errors'
// The SDK loads on a provider's first call; an error can only be one of its classes once it has.
import { loadedOpenAI } from '../sdk-modules'

const noOpenAIClasses = { APIConnectionTimeoutError: NotLoaded, APIError: NotLoaded, APIUserAbortError: NotLoaded } as unknown as typeof import('openai')

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
