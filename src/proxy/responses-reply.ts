/**
 * A chat completion as OpenAI's Responses API reply: the `response` object, its output items
 * (an assistant `message`, then one `function_call` per tool call) and its usage. Pure; the stream
 * translator (responses-stream.ts) builds the same objects piece by piece.
 */
import type { ChatResponse, ProviderUsage } from '../schema'

/** The usage block of a response. */
export interface ResponsesUsage {
  input_tokens: number
  input_tokens_details: { cached_tokens: number }
  output_tokens: number
  output_tokens_details: { reasoning_tokens: number }
  total_tokens: number
}

/** One output item: the assistant's text or a function call. */
export type ResponsesOutputItem =
  | { type: 'message'; id: string; status: string; role: 'assistant'; content: Array<Record<string, unknown>> }
  | { type: 'function_call'; id: string; call_id: string; name: string; arguments: string; status: string }

/**
 * Chat usage in the Responses API's names.
 *
 * @example
 * ```ts
 * responsesUsage({ prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 }).input_tokens // 5
 * ```
 */
export function responsesUsage(usage: ProviderUsage | null | undefined): ResponsesUsage | null {
  if (!usage) return null
  return {
    input_tokens: usage.prompt_tokens,
    input_tokens_details: { cached_tokens: usage.prompt_tokens_details?.cached_tokens ?? 0 },
    output_tokens: usage.completion_tokens,
    output_tokens_details: { reasoning_tokens: usage.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: usage.total_tokens,
  }
}

/**
 * `length` and `content_filter` leave a response incomplete; everything else completes it.
 *
 * @example
 * ```ts
 * incompleteReason('length') // 'max_output_tokens'
 * incompleteReason('stop')   // null
 * ```
 */
export function incompleteReason(finishReason: string | null | undefined): string | null {
  if (finishReason === 'length') return 'max_output_tokens'
  if (finishReason === 'content_filter') return 'content_filter'
  return null
}

/**
 * Ids derived from the chat completion's, so a reply and its stream name their items alike.
 *
 * @example
 * ```ts
 * responseIds.response('chatcmpl-1') // 'resp_chatcmpl-1'
 * ```
 */
export const responseIds = {
  response: (chatId: string) => `resp_${chatId}`,
  message: (chatId: string) => `msg_${chatId}`,
  functionCall: (callId: string) => `fc_${callId}`,
}

/**
 * The `response` object around `output`: the request's settings echoed back, as OpenAI does.
 * `store` is always false: nothing is kept.
 *
 * @example
 * ```ts
 * responseObject(body, { id: 'resp_1', createdAt: 0, model: 'm', status: 'in_progress', output: [], usage: null, incomplete: null })
 * ```
 */
export function responseObject(
  body: Record<string, unknown>,
  facts: { id: string; createdAt: number; model: string; status: string; output: ResponsesOutputItem[]; usage: ResponsesUsage | null; incomplete: string | null },
): Record<string, unknown> {
  return {
    id: facts.id,
    object: 'response',
    created_at: facts.createdAt,
    status: facts.status,
    error: null,
    incomplete_details: facts.incomplete ? { reason: facts.incomplete } : null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model: facts.model,
    output: facts.output,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: null,
    reasoning: { effort: (body.reasoning as { effort?: unknown } | undefined)?.effort ?? null, summary: null },
    store: false,
    temperature: body.temperature ?? null,
    text: body.text ?? { format: { type: 'text' } },
    tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [],
    top_p: body.top_p ?? null,
    truncation: 'disabled',
    usage: facts.usage,
    user: body.user ?? null,
    metadata: body.metadata ?? {},
  }
}

/**
 * The Responses API reply for a chat completion; `body` is the Responses request it answers.
 *
 * @example
 * ```ts
 * const reply = await client.chat(responsesToChatRequest(body), options)
 * sendJson(response, 200, JSON.stringify(chatToResponsesReply(reply, body)))
 * ```
 */
export function chatToResponsesReply(reply: ChatResponse, body: Record<string, unknown>): Record<string, unknown> {
  const choice = reply.choices[0]
  const output: ResponsesOutputItem[] = []
  const message = choice?.message
  if (message?.content) {
    output.push({ type: 'message', id: responseIds.message(reply.id), status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: message.content, annotations: [], logprobs: [] }] })
  } else if (message?.refusal) {
    output.push({ type: 'message', id: responseIds.message(reply.id), status: 'completed', role: 'assistant', content: [{ type: 'refusal', refusal: message.refusal }] })
  }
  for (const call of message?.tool_calls ?? []) {
    output.push({ type: 'function_call', id: responseIds.functionCall(call.id), call_id: call.id, name: call.function.name, arguments: call.function.arguments, status: 'completed' })
  }
  const incomplete = incompleteReason(choice?.finish_reason)
  return responseObject(body, {
    id: responseIds.response(reply.id),
    createdAt: reply.created,
    model: reply.model,
    status: incomplete ? 'incomplete' : 'completed',
    output,
    usage: responsesUsage(reply.usage),
    incomplete,
  })
}
