/**
 * A chat completion as Anthropic's Messages API reply (text and `tool_use` blocks, `stop_reason`,
 * usage), and any proxy error in Anthropic's shape `{ type: "error", error: { type, message } }`,
 * so the Anthropic SDK raises its own error class for the status. Pure.
 */
// Stop reasons, usage and error types: the Anthropic wire facts the `anthropic/` provider maps the other way.
import { anthropicErrorType, messagesUsage, stopReasonOf } from '../providers/anthropic/wire'
import type { ChatResponse } from '../schema'
import type { OpenAiErrorResponse } from './openai-errors'

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
    stop_reason: stopReasonOf(choice?.finish_reason),
    stop_sequence: null,
    usage: messagesUsage(reply.usage),
  }
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
