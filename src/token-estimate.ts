/**
 * Token counts for streams whose provider sent no usage (an OpenAI-compatible server that ignores
 * `stream_options.include_usage`, a custom provider). Counted locally with `gpt-tokenizer`'s
 * `o200k_base` encoding (GPT-4o and later), so for other model families the numbers are an
 * estimate; the usage says so with `estimated: true`, and so does the event.
 */
import type { ChatRequest, ChatResponse, EmbeddingRequest, Message } from './schema'
import type { Usage } from './types'

type CountTokens = (text: string) => number

/** OpenAI's chat format adds about three tokens per message and three to prime the reply. */
const tokensPerMessage = 3
const tokensPerName = 1
const tokensPerReply = 3

let counter: Promise<CountTokens> | undefined

/** The tokenizer's tables are large, so they are loaded on the first estimate, not with the client. */
function loadCounter(): Promise<CountTokens> {
  counter ??= import('gpt-tokenizer/encoding/o200k_base').then(({ countTokens }) => {
    // User text may contain special-token strings (`<|endoftext|>`); count them as text, never throw.
    const options = { disallowedSpecial: new Set<string>() }
    return (text: string) => (text === '' ? 0 : countTokens(text, options))
  })
  return counter
}

/**
 * Estimates the usage of a chat call from its request and its (assembled) response, flagged
 * `estimated: true`. The client uses it for streams that ended without usage from the provider.
 *
 * @example
 * ```ts
 * const usage = await estimateUsage(request, ctx.response as ChatResponse)
 * console.log(usage.inputTokens, usage.outputTokens, usage.estimated) // ... true
 * ```
 */
export async function estimateUsage(request: ChatRequest, response: ChatResponse): Promise<Usage> {
  const count = await loadCounter()
  const inputTokens = chatInputTokens(request, count)
  let outputTokens = 0
  for (const choice of response.choices) {
    const message = choice.message
    if (typeof message.content === 'string') outputTokens += count(message.content)
    for (const call of message.tool_calls ?? []) outputTokens += count(call.function.name) + count(call.function.arguments)
  }
  return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens, estimated: true }
}

/**
 * Estimates the input tokens of a request before it is sent: the prompt of a chat call (messages
 * and tool definitions), or the input of an embedding call.
 *
 * @example
 * ```ts
 * const tokens = await estimateInputTokens({ model: 'openai/gpt-4o-mini', messages })
 * ```
 */
export async function estimateInputTokens(request: ChatRequest | EmbeddingRequest): Promise<number> {
  const count = await loadCounter()
  if (Array.isArray(request.messages)) return chatInputTokens(request as ChatRequest, count)
  const input = (request as EmbeddingRequest).input
  if (typeof input === 'string') return count(input)
  let tokens = 0
  for (const item of input) tokens += typeof item === 'string' ? count(item) : Array.isArray(item) ? item.length : 1
  return tokens
}

function chatInputTokens(request: ChatRequest, count: CountTokens): number {
  let tokens = tokensPerReply
  for (const message of request.messages) tokens += messageTokens(message, count)
  if (request.tools) tokens += count(JSON.stringify(request.tools))
  return tokens
}

function messageTokens(message: Message, count: CountTokens): number {
  let tokens = tokensPerMessage + count(message.role)
  const content = message.content
  if (typeof content === 'string') tokens += count(content)
  else if (Array.isArray(content)) {
    for (const part of content) if (part.type === 'text' && typeof part.text === 'string') tokens += count(part.text)
  }
  if ('name' in message && typeof message.name === 'string') tokens += tokensPerName + count(message.name)
  if ('tool_calls' in message && Array.isArray(message.tool_calls)) {
    for (const call of message.tool_calls) tokens += count(call.function.name) + count(call.function.arguments)
  }
  return tokens
}
