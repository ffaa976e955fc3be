/**
 * A chat completion as Anthropic's Messages API reply (text and `tool_use` blocks, `stop_reason`,
 * usage), and any proxy error in Anthropic's shape `{ type: "error", error: { type, message } }`,
 * so the Anthropic SDK raises its own error class for the status. Pure.
 */
import type { ChatResponse, ProviderUsage } from '../schema'
import type { OpenAiErrorResponse } from './openai-errors'

/** Anthropic's usage block: input tokens exclude the ones read from the cache, as Anthropic counts. */
export interface MessagesUsage {
  input_tokens: number
  output_tokens: number
  cache_read_input_tokens?: number
}

const stopReasons: Record<string, string> = { stop: 'end_turn', length: 'max_tokens', tool_calls: 'tool_use', function_call: 'tool_use', content_filter: 'refusal' }

/**
 * Chat's `finish_reason` as Anthropic's `stop_reason`.
 *
 * @example
 * ```ts
 * stopReason('length') // 'max_tokens'
 * ```
 */
export function stopReason(finishReason: string | null | undefined): string {
  return (finishReason && stopReasons[finishReason]) || 'end_turn'
}

/**
 * Chat usage in Anthropic's names.
 *
 * @example
 * ```ts
 * messagesUsage({ prompt_tokens: 10, completion_tokens: 2, total_tokens: 12, prompt_tokens_details: { cached_tokens: 8 } })
 * // { input_tokens: 2, output_tokens: 2, cache_read_input_tokens: 8 }
 * ```
 */
export function messagesUsage(usage: ProviderUsage | null | undefined): MessagesUsage {
  if (!usage) return { input_tokens: 0, output_tokens: 0 }
  const cached = usage.prompt_tokens_details?.cached_tokens ?? 0
  const out: MessagesUsage = { input_tokens: usage.prompt_tokens - cached, output_tokens: usage.completion_tokens }
  if (cached > 0) out.cache_read_input_tokens = cached
  return out
}

/**
 * A message id in Anthropic's style, derived from the chat completion's.
 *
 * @example
 * ```ts
 * messageId('chatcmpl-1') // 'msg_chatcmpl-1'
 * ```
 */
export function messageId(chatId: string): string {
  return chatId.startsWith('msg_') ? chatId : `msg_${chatId}`
}

/**
 * Tool arguments as the object Anthropic's `input` is; arguments that are not a JSON object become `{}`.
 *
 * @example
 * ```ts
 * toolInput('{"city":"Paris"}') // { city: 'Paris' }
 * ```
 */
export function toolInput(argumentsText: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(argumentsText || '{}')
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {}
  } catch {
    return {}
  }
}

/**
 * The Messages API reply for a chat completion.
 *
 * @example
 * ```ts
 * const reply = await client.chat(messagesToChatRequest(body), options)
 * sendJson(response, 200, JSON.stringify(chatToMessagesReply(reply)))
 * ```
 */
export function chatToMessagesReply(reply: ChatResponse): Record<string, unknown> {
  const choice = reply.choices[0]
  const content: Array<Record<string, unknown>> = []
  const text = choice?.message.content ?? choice?.message.refusal
  if (text) content.push({ type: 'text', text })
  for (const call of choice?.message.tool_calls ?? []) content.push({ type: 'tool_use', id: call.id, name: call.function.name, input: toolInput(call.function.arguments) })
  return {
    id: messageId(reply.id),
    type: 'message',
    role: 'assistant',
    model: reply.model,
    content,
    stop_reason: stopReason(choice?.finish_reason),
    stop_sequence: null,
    usage: messagesUsage(reply.usage),
  }
}

const errorTypes: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  503: 'overloaded_error',
  529: 'overloaded_error',
}

/**
 * Anthropic's error `type` for a status (`api_error` for other 5xx).
 *
 * @example
 * ```ts
 * anthropicErrorType(404) // 'not_found_error'
 * ```
 */
export function anthropicErrorType(status: number): string {
  return errorTypes[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error')
}

/**
 * An error the proxy would send in OpenAI's shape, in Anthropic's instead: same status and headers.
 *
 * @example
 * ```ts
 * send(response, toAnthropicError(toOpenAiError(error)))
 * ```
 */
export function toAnthropicError(error: OpenAiErrorResponse): OpenAiErrorResponse {
  return { status: error.status, headers: error.headers, body: JSON.stringify(anthropicErrorBody(error)) }
}

/**
 * The `{ type: "error", error: { type, message } }` body of an error the proxy would send in OpenAI's shape.
 *
 * @example
 * ```ts
 * anthropicErrorBody(openAiError(429, 'Slow down.')) // { type: 'error', error: { type: 'rate_limit_error', message: 'Slow down.' } }
 * ```
 */
export function anthropicErrorBody(error: OpenAiErrorResponse): { type: 'error'; error: { type: string; message: string } } {
  const { message } = (JSON.parse(error.body) as { error: { message: string } }).error
  return { type: 'error', error: { type: anthropicErrorType(error.status), message } }
}
