/** The `@google/generative-ai` SDK's errors → the llm-onion error family (shared rules in ../provider-errors.ts). */
import type { GoogleGenerativeAIFetchError } from '@google/generative-ai'
import { AuthenticationError, BadRequestError, isLlmError, TimeoutError, type LlmError } from '../../errors'
import { asSentence, cancelled, connectionError, errorForFailure, messageOf, NotLoaded, scrubbed, type ErrorTarget } from '../provider-errors'
// The SDK loads on a provider's first call; an error can only be one of its classes once it has.
import { loadedGemini } from '../sdk-modules'

const noGeminiClasses = {
  GoogleGenerativeAIAbortError: NotLoaded,
  GoogleGenerativeAIFetchError: NotLoaded,
  GoogleGenerativeAIRequestInputError: NotLoaded,
} as unknown as typeof import('@google/generative-ai')

/** Any error the `@google/generative-ai` SDK threw (or the network under it) as an {@link LlmError}, scrubbed of every known credential as the OpenAI mapping is. */
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
    return new BadRequestError(`${geminiMessageOf(thrown)}. Check the gemini() options.`, {
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
  return connectionError(target, geminiMessageOf(thrown), thrown)
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

/** The SDK's message without the `[GoogleGenerativeAI Error]: ` prefix it puts before every message. */
function geminiMessageOf(thrown: unknown): string {
  return messageOf(thrown).replace(/^\[GoogleGenerativeAI Error\]: /, '')
}
