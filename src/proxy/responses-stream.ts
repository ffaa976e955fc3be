/**
 * Chat completion chunks as the Responses API's server-sent events: `response.created` and
 * `response.in_progress` first, then per output item `response.output_item.added`, its content
 * or argument deltas and the matching `.done` events, and `response.completed` (or
 * `response.incomplete`) with the whole response and its usage. Every event carries its
 * `sequence_number`. Pure: each call returns the SSE text to write.
 */
import type { ChatChunk } from '../schema'
import type { OpenAiErrorResponse } from './openai-errors'
import { incompleteReason, responseIds, responseObject, responsesUsage, type ResponsesOutputItem, type ResponsesUsage } from './responses-reply'

/** Turns one call's chunks into the SSE text of another API; shared with the Messages API. */
export interface StreamTranslator {
  /** The events for one chunk; the first chunk also opens the stream. */
  chunk(chunk: ChatChunk): string
  /** The closing events, once the chunks have ended. */
  end(): string
  /** The event that reports a failure after the stream began. */
  fail(error: OpenAiErrorResponse): string
}

type MessageItem = Extract<ResponsesOutputItem, { type: 'message' }>
type CallItem = Extract<ResponsesOutputItem, { type: 'function_call' }>

/**
 * A translator for one streamed call; `body` is the Responses request it answers.
 *
 * @example
 * ```ts
 * const events = createResponsesStream(body)
 * for await (const chunk of client.stream(chat, options)) response.write(events.chunk(chunk))
 * response.end(events.end())
 * ```
 */
export function createResponsesStream(body: Record<string, unknown>): StreamTranslator {
  let sequence = 0
  let started = false
  let id = ''
  let createdAt = 0
  let model = String(body.model)
  let usage: ResponsesUsage | null = null
  let finishReason: string | null = null
  const output: ResponsesOutputItem[] = []
  let text: { item: MessageItem; index: number; value: string } | undefined
  /** The function-call items by the chunk's tool-call index. */
  const calls = new Map<number, { item: CallItem; index: number }>()
  let current: 'text' | number | undefined

  const event = (type: string, fields: Record<string, unknown>): string => `event: ${type}\ndata: ${JSON.stringify({ type, ...fields, sequence_number: sequence++ })}\n\n`
  const snapshot = (status: string, incomplete: string | null = null) => responseObject(body, { id, createdAt, model, status, output, usage, incomplete })

  const closeCurrent = (): string => {
    let out = ''
    if (current === 'text' && text) {
      const part = { type: 'output_text', text: text.value, annotations: [], logprobs: [] }
      const at = { item_id: text.item.id, output_index: text.index, content_index: 0 }
      text.item.status = 'completed'
      text.item.content = [part]
      out += event('response.output_text.done', { ...at, text: text.value, logprobs: [] })
      out += event('response.content_part.done', { ...at, part })
      out += event('response.output_item.done', { output_index: text.index, item: text.item })
    } else if (typeof current === 'number') {
      const call = calls.get(current)!
      call.item.status = 'completed'
      out += event('response.function_call_arguments.done', { item_id: call.item.id, output_index: call.index, name: call.item.name, arguments: call.item.arguments })
      out += event('response.output_item.done', { output_index: call.index, item: call.item })
    }
    current = undefined
    return out
  }

  const addText = (delta: string): string => {
    let out = ''
    if (!text || current !== 'text') {
      out += closeCurrent()
      if (!text) {
        text = { item: { type: 'message', id: responseIds.message(id.slice('resp_'.length)), status: 'in_progress', role: 'assistant', content: [] }, index: output.length, value: '' }
        output.push(text.item)
        out += event('response.output_item.added', { output_index: text.index, item: { ...text.item, content: [] } })
        out += event('response.content_part.added', { item_id: text.item.id, output_index: text.index, content_index: 0, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } })
      }
      current = 'text'
    }
    text.value += delta
    return out + event('response.output_text.delta', { item_id: text.item.id, output_index: text.index, content_index: 0, delta, logprobs: [] })
  }

  const addCall = (delta: NonNullable<ChatChunk['choices'][number]['delta']['tool_calls']>[number]): string => {
    let out = ''
    let call = calls.get(delta.index)
    if (!call) {
      out += closeCurrent()
      const callId = delta.id ?? `call_${delta.index}`
      const item: CallItem = { type: 'function_call', id: responseIds.functionCall(callId), call_id: callId, name: delta.function?.name ?? '', arguments: '', status: 'in_progress' }
      call = { item, index: output.length }
      calls.set(delta.index, call)
      output.push(item)
      current = delta.index
      out += event('response.output_item.added', { output_index: call.index, item: { ...item } })
    }
    const piece = delta.function?.arguments
    if (piece) {
      call.item.arguments += piece
      out += event('response.function_call_arguments.delta', { item_id: call.item.id, output_index: call.index, delta: piece })
    }
    return out
  }

  return {
    chunk(chunk) {
      let out = ''
      if (!started) {
        started = true
        id = responseIds.response(chunk.id)
        createdAt = chunk.created
        model = chunk.model || model
        out += event('response.created', { response: snapshot('in_progress') })
        out += event('response.in_progress', { response: snapshot('in_progress') })
      }
      if (chunk.usage) usage = responsesUsage(chunk.usage)
      const choice = chunk.choices[0]
      if (!choice) return out
      const delta = choice.delta
      const content = delta.content ?? delta.refusal
      if (content) out += addText(content)
      for (const call of delta.tool_calls ?? []) out += addCall(call)
      if (choice.finish_reason) finishReason = choice.finish_reason
      return out
    },
    end() {
      const closing = closeCurrent()
      const incomplete = incompleteReason(finishReason)
      const final = snapshot(incomplete ? 'incomplete' : 'completed', incomplete)
      return closing + event(incomplete ? 'response.incomplete' : 'response.completed', { response: final })
    },
    fail(error) {
      const { error: details } = JSON.parse(error.body) as { error: { message: string; code: string | null; param: string | null } }
      return event('error', { code: details.code, message: details.message, param: details.param })
    },
  }
}
