/**
 * Bedrock Converse answers in OpenAI's shape: the text and `toolUse` blocks of the output message →
 * `content` and `tool_calls`, `stopReason` → `finish_reason` (LiteLLM's `map_finish_reason`), the
 * token usage with cache reads and writes → OpenAI usage (LiteLLM's `_transform_usage`), and the
 * ConverseStream events → chat chunks.
 */
import type { ContentBlock, ConverseResponse, ConverseStreamOutput, TokenUsage } from '@aws-sdk/client-bedrock-runtime'
import type { ChatChunk, ChatResponse, ProviderUsage, ToolCall, ToolCallDelta } from '../../schema'

/** OpenAI usage plus LiteLLM's Anthropic-style cache counts, which Bedrock reports. */
export interface BedrockUsage extends ProviderUsage {
  cache_read_input_tokens?: number
  cache_creation_input_tokens?: number
}

const finishReasons: Record<string, string> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  guardrail_intervened: 'content_filter',
  content_filtered: 'content_filter',
}

/**
 * Bedrock's `stopReason` in OpenAI's words; `stop` for a reason OpenAI has no word for
 * (`malformed_model_output`), as LiteLLM does. A forced `response_format` tool call is a plain stop.
 *
 * @example
 * ```ts
 * finishReasonOf('tool_use', false) // 'tool_calls'
 * ```
 */
export function finishReasonOf(stopReason: string | undefined, answeredAsJson: boolean): string {
  if (stopReason === 'tool_use' && answeredAsJson) return 'stop'
  return (stopReason && finishReasons[stopReason]) || 'stop'
}

/**
 * Bedrock's token usage as OpenAI's: cache reads and writes are input too (Bedrock counts them apart
 * from `inputTokens`), the reads are `cached_tokens`.
 *
 * @example
 * ```ts
 * usageOf({ inputTokens: 10, outputTokens: 5, totalTokens: 45, cacheReadInputTokens: 30 })?.prompt_tokens // 40
 * ```
 */
export function usageOf(usage: TokenUsage | undefined): BedrockUsage | undefined {
  if (!usage) return undefined
  const cacheRead = usage.cacheReadInputTokens ?? 0
  const cacheWrite = usage.cacheWriteInputTokens ?? 0
  const prompt = (usage.inputTokens ?? 0) + cacheRead + cacheWrite
  const completion = usage.outputTokens ?? 0
  const result: BedrockUsage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: usage.totalTokens ?? prompt + completion }
  if (cacheRead > 0) {
    result.prompt_tokens_details = { cached_tokens: cacheRead }
    result.cache_read_input_tokens = cacheRead
  }
  if (cacheWrite > 0) result.cache_creation_input_tokens = cacheWrite
  return result
}

/** What every answer of one call shares. */
export interface ReplyIdentity {
  id: string
  model: string
  /** The `response_format` tool, whose input is the answer's content. */
  jsonTool?: string
}

/**
 * A whole Converse answer as an OpenAI chat completion. Reasoning blocks are left out, as the
 * `reasoning_content` OpenAI has no field for.
 *
 * @example
 * ```ts
 * toChatResponse(await client.send(new ConverseCommand(input)), { id: 'chatcmpl-1', model: input.modelId })
 * ```
 */
export function toChatResponse(response: ConverseResponse, identity: ReplyIdentity): ChatResponse {
  let text = ''
  const toolCalls: ToolCall[] = []
  let json: string | undefined
  for (const block of (response.output?.message?.content ?? []) as ContentBlock[]) {
    if (typeof block.text === 'string') text += block.text
    if (block.toolUse) {
      const input = JSON.stringify(block.toolUse.input ?? {})
      if (identity.jsonTool !== undefined && block.toolUse.name === identity.jsonTool) json = input
      else toolCalls.push({ id: block.toolUse.toolUseId ?? '', type: 'function', function: { name: block.toolUse.name ?? '', arguments: input } })
    }
  }
  if (json !== undefined) text = json
  const message: ChatResponse['choices'][number]['message'] = { role: 'assistant', content: text !== '' || toolCalls.length === 0 ? text : null }
  if (toolCalls.length > 0) message.tool_calls = toolCalls
  const result: ChatResponse = {
    id: identity.id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: identity.model,
    choices: [{ index: 0, message, finish_reason: finishReasonOf(response.stopReason, json !== undefined) }],
  }
  const usage = usageOf(response.usage)
  if (usage) result.usage = usage
  return result
}

/**
 * ConverseStream events → OpenAI chunks: `messageStart` → the role, text deltas → `content`, a
 * `toolUse` block start → a tool-call delta with its id and name, its input deltas → `arguments`
 * pieces, `messageStop` → the finish reason, `metadata` → the closing usage chunk. The
 * `response_format` tool's input pieces are content.
 */
export class StreamMapper {
  #identity: ReplyIdentity
  /** Content block index → tool-call index, for blocks that are tool calls. */
  #toolIndexes = new Map<number, number>()
  /** Content block indexes that are the `response_format` tool's. */
  #jsonBlocks = new Set<number>()
  #answeredAsJson = false
  #usage?: BedrockUsage
  /** True once `messageStop` arrived: a stream that ends before it was cut off. */
  finished = false

  constructor(identity: ReplyIdentity) {
    this.#identity = identity
  }

  *map(event: ConverseStreamOutput): Generator<ChatChunk> {
    if (event.messageStart) yield this.#chunk({ role: 'assistant' })
    else if (event.contentBlockStart?.start?.toolUse) {
      const { toolUseId, name } = event.contentBlockStart.start.toolUse
      const block = event.contentBlockStart.contentBlockIndex ?? 0
      if (this.#identity.jsonTool !== undefined && name === this.#identity.jsonTool) {
        this.#jsonBlocks.add(block)
        this.#answeredAsJson = true
        return
      }
      const index = this.#toolIndexes.size
      this.#toolIndexes.set(block, index)
      yield this.#chunk({ tool_calls: [{ index, id: toolUseId, type: 'function', function: { name, arguments: '' } }] })
    } else if (event.contentBlockDelta?.delta) {
      const { delta } = event.contentBlockDelta
      const block = event.contentBlockDelta.contentBlockIndex ?? 0
      if (typeof delta.text === 'string' && delta.text !== '') yield this.#chunk({ content: delta.text })
      const input = delta.toolUse?.input
      if (typeof input === 'string' && input !== '') {
        if (this.#jsonBlocks.has(block)) yield this.#chunk({ content: input })
        else {
          const index = this.#toolIndexes.get(block)
          if (index !== undefined) yield this.#chunk({ tool_calls: [{ index, function: { arguments: input } } satisfies ToolCallDelta] })
        }
      }
    } else if (event.messageStop) {
      this.finished = true
      yield { ...this.#base(), choices: [{ index: 0, delta: {}, finish_reason: finishReasonOf(event.messageStop.stopReason, this.#answeredAsJson) }] }
    } else if (event.metadata?.usage) {
      this.#usage = usageOf(event.metadata.usage)
    }
  }

  /** The closing chunk that carries usage, as OpenAI's `include_usage` stream ends. */
  usageChunk(): ChatChunk | undefined {
    return this.#usage ? { ...this.#base(), choices: [], usage: this.#usage } : undefined
  }

  #chunk(delta: ChatChunk['choices'][number]['delta']): ChatChunk {
    return { ...this.#base(), choices: [{ index: 0, delta, finish_reason: null }] }
  }

  #base() {
    return { id: this.#identity.id, object: 'chat.completion.chunk' as const, created: Math.floor(Date.now() / 1000), model: this.#identity.model }
  }
}
