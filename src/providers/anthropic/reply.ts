/**
 * Anthropic's answers in OpenAI's shape: a whole `Message` as a chat completion, and the Messages
 * API's stream events (`message_start`, `content_block_start` / `_delta` / `_stop`, `message_delta`,
 * `message_stop`) as chat completion chunks. Text blocks are the content, `tool_use` blocks tool
 * calls (their `input` as JSON arguments), thinking blocks are left out; stop reasons and usage as
 * ./wire.ts maps them.
 */
import type { ChatChunk, ChatResponse, ProviderUsage, ToolCall } from '../../schema'
import { finishReasonOf, usageFromAnthropic, type AnthropicUsage } from './wire'

/** A content block of an answer, as far as it is read here. */
export interface AnthropicContentBlock {
  type: string
  text?: string
  id?: string
  name?: string
  input?: unknown
}

/** A non-streamed Messages API answer (the fields read here). */
export interface AnthropicMessage {
  id: string
  model: string
  content: AnthropicContentBlock[]
  stop_reason: string | null
  usage: AnthropicUsage
}

/** One event of a streamed answer (the SDK has already dropped `ping` and raised `error`). */
export interface AnthropicStreamEvent {
  type: string
  index?: number
  message?: AnthropicMessage
  content_block?: AnthropicContentBlock
  delta?: { type?: string; text?: string; partial_json?: string; stop_reason?: string | null }
  usage?: AnthropicUsage
}

/**
 * A whole Messages API answer as an OpenAI chat completion.
 *
 * @example
 * ```ts
 * toChatResponse({ id: 'msg_1', model: 'claude-sonnet-4-5', content: [{ type: 'text', text: 'Hi' }], stop_reason: 'end_turn', usage: { input_tokens: 3, output_tokens: 1 } })
 * // { id: 'msg_1', object: 'chat.completion', model: 'claude-sonnet-4-5', choices: [{ index: 0, message: { role: 'assistant', content: 'Hi' }, finish_reason: 'stop' }], usage: {...} }
 * ```
 */
export function toChatResponse(message: AnthropicMessage): ChatResponse {
  let text = ''
  const toolCalls: ToolCall[] = []
  for (const block of message.content ?? []) {
    if (block.type === 'text' && typeof block.text === 'string') text += block.text
    else if (block.type === 'tool_use') toolCalls.push({ id: String(block.id), type: 'function', function: { name: String(block.name), arguments: JSON.stringify(block.input ?? {}) } })
  }
  const reply: ChatResponse['choices'][number]['message'] = { role: 'assistant', content: text !== '' || toolCalls.length === 0 ? text : null }
  if (toolCalls.length > 0) reply.tool_calls = toolCalls
  return {
    id: message.id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: message.model,
    choices: [{ index: 0, message: reply, finish_reason: finishReasonOf(message.stop_reason) ?? 'stop' }],
    usage: usageFromAnthropic(message.usage ?? {}),
  }
}

/**
 * Stream events → OpenAI chunks: the role first (at `message_start`), each text delta as
 * `delta.content`, each `tool_use` block as a tool call (id and name when it starts, its input JSON
 * in pieces as it arrives), the finish reason with `message_delta`, and after `message_stop` a last
 * chunk with `choices: []` carrying usage, as OpenAI ends an `include_usage` stream.
 *
 * @example
 * ```ts
 * const chunks = new AnthropicStreamMapper('chatcmpl-1', 'claude-sonnet-4-5')
 * for await (const event of sdkStream) yield* chunks.map(event)
 * ```
 */
export class AnthropicStreamMapper {
  #id: string
  #model: string
  #usage: AnthropicUsage = {}
  /** Tool-call index by content block index. */
  #tools = new Map<number, number>()
  /** True once the stop reason arrived: the answer is complete. */
  finished = false

  constructor(id: string, model: string) {
    this.#id = id
    this.#model = model
  }

  *map(event: AnthropicStreamEvent): Generator<ChatChunk> {
    switch (event.type) {
      case 'message_start': {
        if (event.message?.id) this.#id = event.message.id
        if (event.message?.model) this.#model = event.message.model
        this.#addUsage(event.message?.usage)
        yield this.#chunk({ role: 'assistant', content: '' })
        return
      }
      case 'content_block_start': {
        const block = event.content_block
        if (block?.type === 'text' && block.text) yield this.#chunk({ content: block.text })
        if (block?.type === 'tool_use') {
          const index = this.#tools.size
          this.#tools.set(event.index ?? index, index)
          yield this.#chunk({ tool_calls: [{ index, id: block.id, type: 'function', function: { name: block.name ?? '', arguments: '' } }] })
        }
        return
      }
      case 'content_block_delta': {
        const delta = event.delta
        if (delta?.type === 'text_delta' && delta.text) yield this.#chunk({ content: delta.text })
        const index = this.#tools.get(event.index ?? -1)
        if (delta?.type === 'input_json_delta' && delta.partial_json && index !== undefined) {
          yield this.#chunk({ tool_calls: [{ index, function: { arguments: delta.partial_json } }] })
        }
        return
      }
      case 'message_delta': {
        this.#addUsage(event.usage)
        const finish = finishReasonOf(event.delta?.stop_reason)
        if (finish) {
          this.finished = true
          yield this.#chunk({}, finish)
        }
        return
      }
      default:
        // content_block_stop, message_stop, and event types added later carry nothing a chunk holds.
        return
    }
  }

  /** The closing chunk that carries usage. */
  usageChunk(): ChatChunk {
    return { ...this.#base(), choices: [], usage: usageFromAnthropic(this.#usage) satisfies ProviderUsage }
  }

  /** `message_delta` usage is cumulative and may leave out what `message_start` said: later non-null fields win. */
  #addUsage(usage: AnthropicUsage | undefined): void {
    if (!usage) return
    for (const [key, value] of Object.entries(usage)) if (value !== null && value !== undefined) (this.#usage as Record<string, unknown>)[key] = value
  }

  #chunk(delta: ChatChunk['choices'][number]['delta'], finish: string | null = null): ChatChunk {
    return { ...this.#base(), choices: [{ index: 0, delta, finish_reason: finish }] }
  }

  #base() {
    return { id: this.#id, object: 'chat.completion.chunk' as const, created: Math.floor(Date.now() / 1000), model: this.#model }
  }
}
