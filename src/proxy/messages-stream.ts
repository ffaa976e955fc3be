/**
 * Chat completion chunks as Anthropic's Messages API server-sent events: `message_start`, per
 * content block `content_block_start`, `content_block_delta` (`text_delta` or `input_json_delta`)
 * and `content_block_stop`, then `message_delta` with the `stop_reason` and usage, and
 * `message_stop`. Pure: each call returns the SSE text to write.
 */
import { messagesUsage, stopReasonOf, type MessagesUsage } from '../providers/anthropic/wire'
import { anthropicErrorBody, messageId } from './messages-reply'
import type { StreamTranslator } from './responses-stream'

/**
 * A translator for one streamed call.
 *
 * @example
 * ```ts
 * const events = createMessagesStream('claude-sonnet')
 * for await (const chunk of client.stream(chat, options)) response.write(events.chunk(chunk))
 * response.end(events.end())
 * ```
 */
export function createMessagesStream(requestedModel: string): StreamTranslator {
  let started = false
  let usage: MessagesUsage = { input_tokens: 0, output_tokens: 0 }
  let finishReason: string | null = null
  let blocks = 0
  /** The open block: 'text', or the chunk's tool-call index. */
  let current: 'text' | number | undefined
  /** Content block index by tool-call index. */
  const calls = new Map<number, number>()

  const event = (type: string, fields: Record<string, unknown>): string => `event: ${type}\ndata: ${JSON.stringify({ type, ...fields })}\n\n`
  const closeCurrent = (): string => {
    if (current === undefined) return ''
    current = undefined
    return event('content_block_stop', { index: blocks - 1 })
  }

  return {
    chunk(chunk) {
      let out = ''
      if (!started) {
        started = true
        const message = { id: messageId(chunk.id), type: 'message', role: 'assistant', model: chunk.model || requestedModel, content: [], stop_reason: null, stop_sequence: null, usage }
        out += event('message_start', { message })
      }
      if (chunk.usage) usage = messagesUsage(chunk.usage)
      const choice = chunk.choices[0]
      if (!choice) return out
      const text = choice.delta.content ?? choice.delta.refusal
      if (text) {
        if (current !== 'text') {
          out += closeCurrent()
          out += event('content_block_start', { index: blocks++, content_block: { type: 'text', text: '' } })
          current = 'text'
        }
        out += event('content_block_delta', { index: blocks - 1, delta: { type: 'text_delta', text } })
      }
      for (const call of choice.delta.tool_calls ?? []) {
        let index = calls.get(call.index)
        if (index === undefined) {
          out += closeCurrent()
          index = blocks++
          calls.set(call.index, index)
          current = call.index
          out += event('content_block_start', { index, content_block: { type: 'tool_use', id: call.id ?? `toolu_${index}`, name: call.function?.name ?? '', input: {} } })
        }
        const piece = call.function?.arguments
        if (piece) out += event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: piece } })
      }
      if (choice.finish_reason) finishReason = choice.finish_reason
      return out
    },
    end() {
      return closeCurrent() + event('message_delta', { delta: { stop_reason: stopReasonOf(finishReason), stop_sequence: null }, usage }) + event('message_stop', {})
    },
    fail(error) {
      const body = anthropicErrorBody(error)
      return `event: error\ndata: ${JSON.stringify(body)}\n\n`
    },
  }
}
