/**
 * Facts of Anthropic's Messages API wire format that both directions share: the `anthropic/`
 * provider (a chat request to Anthropic and its answer back) and the proxy's `POST /v1/messages`
 * (an Anthropic request to a chat request and the answer back), and the fake Anthropic server of
 * the tests. Stop reasons, error types, usage and image sources, each with its inverse here, so the
 * two directions cannot drift apart. Pure: no SDK, no I/O.
 */
import type { ProviderUsage } from '../../schema'

/** Anthropic's usage block: `input_tokens` excludes the tokens read from or written to the prompt cache. */
export interface MessagesUsage {
  input_tokens: number
  output_tokens: number
  cache_read_input_tokens?: number
  cache_creation_input_tokens?: number
}

/** Usage as it arrives (a non-streamed reply, `message_start` or the cumulative `message_delta`): any field may be null. */
export interface AnthropicUsage {
  input_tokens?: number | null
  output_tokens?: number | null
  cache_read_input_tokens?: number | null
  cache_creation_input_tokens?: number | null
  output_tokens_details?: { thinking_tokens?: number | null } | null
}

/** An image block's `source`, as Anthropic takes it. */
export type ImageSource = { type: 'base64'; media_type: string; data: string } | { type: 'url'; url: string }

// LiteLLM's map_finish_reason (litellm/litellm_core_utils/core_helpers.py), plus the context-window stop Anthropic added since.
const finishReasons: Readonly<Record<string, string>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  compaction: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
}

const stopReasons: Readonly<Record<string, string>> = { stop: 'end_turn', length: 'max_tokens', tool_calls: 'tool_use', function_call: 'tool_use', content_filter: 'refusal' }

/**
 * Anthropic's `stop_reason` as an OpenAI `finish_reason` (`stop` for one this table does not know, as
 * LiteLLM does); null while there is none yet.
 *
 * @example
 * ```ts
 * finishReasonOf('tool_use') // 'tool_calls'
 * ```
 */
export function finishReasonOf(stopReason: string | null | undefined): string | null {
  if (!stopReason) return null
  return finishReasons[stopReason] ?? 'stop'
}

/**
 * An OpenAI `finish_reason` as Anthropic's `stop_reason`.
 *
 * @example
 * ```ts
 * stopReasonOf('length') // 'max_tokens'
 * ```
 */
export function stopReasonOf(finishReason: string | null | undefined): string {
  return (finishReason && stopReasons[finishReason]) || 'end_turn'
}

const errorTypes: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  503: 'overloaded_error',
  504: 'timeout_error',
  529: 'overloaded_error',
}

const statuses: Readonly<Record<string, number>> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
}

/**
 * Anthropic's error `type` for an HTTP status (`api_error` for other 5xx).
 *
 * @example
 * ```ts
 * anthropicErrorType(529) // 'overloaded_error'
 * ```
 */
export function anthropicErrorType(status: number): string {
  return errorTypes[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error')
}

/**
 * The HTTP status Anthropic sends with an error `type`, for errors that arrive without one (an
 * `error` event inside a stream, after the 200); 500 for a type it does not know.
 *
 * @example
 * ```ts
 * statusOfErrorType('overloaded_error') // 529
 * ```
 */
export function statusOfErrorType(type: string | null | undefined): number {
  return (type && statuses[type]) || 500
}

/**
 * Anthropic's usage as OpenAI usage, as LiteLLM maps it (`AnthropicConfig.calculate_usage`):
 * `prompt_tokens` counts the input, cache-read and cache-creation tokens; the cache reads are
 * `prompt_tokens_details.cached_tokens`, the cache writes `cache_creation_tokens`; thinking tokens
 * are output tokens and `completion_tokens_details.reasoning_tokens`.
 *
 * @example
 * ```ts
 * usageFromAnthropic({ input_tokens: 10, cache_read_input_tokens: 80, cache_creation_input_tokens: 5, output_tokens: 3 })
 * // { prompt_tokens: 95, completion_tokens: 3, total_tokens: 98, prompt_tokens_details: { cached_tokens: 80, cache_creation_tokens: 5 }, ... }
 * ```
 */
export function usageFromAnthropic(usage: AnthropicUsage): ProviderUsage {
  const read = usage.cache_read_input_tokens ?? 0
  const written = usage.cache_creation_input_tokens ?? 0
  const prompt = (usage.input_tokens ?? 0) + read + written
  const completion = usage.output_tokens ?? 0
  const result: ProviderUsage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion }
  if (read > 0 || written > 0) {
    result.prompt_tokens_details = { cached_tokens: read, cache_creation_tokens: written }
    result.cache_read_input_tokens = read
    result.cache_creation_input_tokens = written
  }
  const thinking = usage.output_tokens_details?.thinking_tokens ?? 0
  if (thinking > 0) result.completion_tokens_details = { reasoning_tokens: thinking }
  return result
}

/**
 * OpenAI usage in Anthropic's names: the inverse of {@link usageFromAnthropic}.
 *
 * @example
 * ```ts
 * messagesUsage({ prompt_tokens: 10, completion_tokens: 2, total_tokens: 12, prompt_tokens_details: { cached_tokens: 8 } })
 * // { input_tokens: 2, output_tokens: 2, cache_read_input_tokens: 8 }
 * ```
 */
export function messagesUsage(usage: ProviderUsage | null | undefined): MessagesUsage {
  if (!usage) return { input_tokens: 0, output_tokens: 0 }
  const read = usage.prompt_tokens_details?.cached_tokens ?? 0
  const written = usage.prompt_tokens_details?.cache_creation_tokens ?? 0
  const out: MessagesUsage = { input_tokens: Math.max(0, usage.prompt_tokens - read - written), output_tokens: usage.completion_tokens }
  if (read > 0) out.cache_read_input_tokens = read
  if (written > 0) out.cache_creation_input_tokens = written
  return out
}

/**
 * An OpenAI `image_url` as an Anthropic image source: a `data:` URL becomes `base64` with its media
 * type, any other URL a `url` source (Anthropic fetches it).
 *
 * @example
 * ```ts
 * imageSourceOf('data:image/png;base64,iVBORw0K') // { type: 'base64', media_type: 'image/png', data: 'iVBORw0K' }
 * imageSourceOf('https://example.com/cat.jpg')    // { type: 'url', url: 'https://example.com/cat.jpg' }
 * ```
 */
export function imageSourceOf(url: string): ImageSource {
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(url)
  if (data) return { type: 'base64', media_type: data[1]!, data: data[2]! }
  return { type: 'url', url }
}

/**
 * An Anthropic image source as an OpenAI `image_url`: the inverse of {@link imageSourceOf};
 * undefined for a source that is neither `base64` nor `url`.
 *
 * @example
 * ```ts
 * imageUrlOf({ type: 'base64', media_type: 'image/png', data: 'iVBORw0K' }) // 'data:image/png;base64,iVBORw0K'
 * ```
 */
export function imageUrlOf(source: unknown): string | undefined {
  const value = (source ?? {}) as { type?: unknown; media_type?: unknown; data?: unknown; url?: unknown }
  if (value.type === 'base64' && typeof value.data === 'string') return `data:${String(value.media_type ?? 'image/png')};base64,${value.data}`
  if (value.type === 'url' && typeof value.url === 'string') return value.url
  return undefined
}
