/**
 * The mock provider: deterministic, no network, the embedded default. Tests, demos and the proxy's
 * default config run on it.
 */
import { z } from 'zod'
import { sleep } from '../../abort'
import { errorForStatus } from '../../errors'
import type { ChatChunk, ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, Message } from '../../schema'
import type { Provider, ProviderCall } from '../../types'
import { validate } from '../../validate'
import { lazySchema } from '../../lazy-schema'

const mockOptionsSchema = lazySchema(() =>
  z.object({
    name: z.string().min(1).default('mock'),
    latencyMs: z.number().min(0).default(0),
    chunkDelayMs: z.number().min(0).default(0),
    embeddingDimensions: z.number().int().positive().default(8),
  }),
)

export type MockOptions = z.input<typeof mockOptionsSchema>

/** Waits `ms` unless it is 0; reading `call.signal` creates the call's AbortController, which a call without a delay does not need. */
function pause(ms: number, call: ProviderCall): Promise<void> | undefined {
  return ms > 0 ? sleep(ms, call.signal) : undefined
}

/**
 * A provider that answers without a network. A request's `mock_response` sets the reply, and
 * `mock_error: { status, message }` raises the typed error for that status (`after_chunks` makes a
 * stream fail half-way); `n` gives that many identical choices. Replies stream word by word; usage
 * counts words, so it is the same every run.
 *
 * Options: `latencyMs` (default 0) delays the reply or first chunk, `chunkDelayMs` (default 0) spaces
 * stream chunks, `embeddingDimensions` (default 8), `name` (default `mock`).
 *
 * @example
 * ```ts
 * const client = createClient({ providers: { mock: mock({ chunkDelayMs: 20 }) } })
 * await client.chat({ model: 'mock/any', messages, mock_response: 'Hello there' })
 * ```
 */
export function mock(options: MockOptions = {}): Provider {
  const settings = validate(mockOptionsSchema, options, 'mock() options')

  async function chat(request: ChatRequest, call: ProviderCall): Promise<ChatResponse> {
    await pause(settings.latencyMs, call)
    raiseRequestedError(request, call.model, settings.name)
    const text = replyText(request)
    const choices = request.n ?? 1
    const usage = countUsage(request.messages, text, choices)
    return {
      id: `chatcmpl-mock-${call.context.id}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: call.model,
      choices: Array.from({ length: choices }, (_, index) => ({ index, message: { role: 'assistant' as const, content: text }, finish_reason: 'stop' })),
      usage,
    }
  }

  async function* stream(request: ChatRequest, call: ProviderCall): AsyncGenerator<ChatChunk> {
    await pause(settings.latencyMs, call)
    const failAfter = request.mock_error?.after_chunks
    if (failAfter === undefined) raiseRequestedError(request, call.model, settings.name)
    const text = replyText(request)
    const words = text.split(/(?<=\S)(?=\s)/)
    const base = {
      id: `chatcmpl-mock-${call.context.id}`,
      object: 'chat.completion.chunk' as const,
      created: Math.floor(Date.now() / 1000),
      model: call.model,
    }
    // With n choices, each word arrives once per choice (one chunk each), as OpenAI interleaves them.
    const choices = request.n ?? 1
    for (let index = 0; index < words.length; index++) {
      if (failAfter !== undefined && index === failAfter) raiseRequestedError(request, call.model, settings.name)
      if (index > 0) await pause(settings.chunkDelayMs, call)
      const delta = index === 0 ? { role: 'assistant' as const, content: words[index] } : { content: words[index] }
      for (let choice = 0; choice < choices; choice++) yield { ...base, choices: [{ index: choice, delta, finish_reason: null }] }
    }
    if (failAfter !== undefined) raiseRequestedError(request, call.model, settings.name)
    for (let choice = 0; choice < choices; choice++) yield { ...base, choices: [{ index: choice, delta: {}, finish_reason: 'stop' }] }
    yield { ...base, choices: [], usage: countUsage(request.messages, text, choices) }
  }

  async function embed(request: EmbeddingRequest, call: ProviderCall): Promise<EmbeddingResponse> {
    await pause(settings.latencyMs, call)
    raiseRequestedError(request, call.model, settings.name)
    const inputs = Array.isArray(request.input) ? request.input : [request.input]
    const texts = inputs.map((input) => (typeof input === 'string' ? input : JSON.stringify(input)))
    const tokens = texts.reduce((sum, text) => sum + countWords(text), 0)
    return {
      object: 'list',
      data: texts.map((text, index) => ({
        object: 'embedding',
        index,
        embedding: vectorFor(text, request.dimensions ?? settings.embeddingDimensions),
      })),
      model: call.model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    }
  }

  return { name: settings.name, apiBase: 'mock://local', chat, stream, embed }
}

function raiseRequestedError(request: ChatRequest | EmbeddingRequest, model: string, provider: string): void {
  const requested = request.mock_error
  if (!requested) return
  const message = requested.message ?? `Mock error ${requested.status} requested by mock_error.`
  throw errorForStatus(requested.status, message, { provider, model, retryAfterMs: requested.retry_after_ms })
}

function replyText(request: ChatRequest): string {
  if (request.mock_response !== undefined) return request.mock_response
  const lastUser = [...request.messages].reverse().find((message) => message.role === 'user')
  const prompt = lastUser ? textOf(lastUser) : ''
  return `This is a mock reply to: ${prompt}`
}

/** The text of a message, whether its content is a string or parts. */
export function textOf(message: Message): string {
  const content = message.content
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  return content.map((part) => (part.type === 'text' && typeof part.text === 'string' ? part.text : '')).join(' ')
}

function countWords(text: string): number {
  let count = 0
  for (const word of text.split(/\s+/)) if (word !== '') count++
  return count
}

function countUsage(messages: Message[], reply: string, choices = 1) {
  const prompt = messages.reduce((sum, message) => sum + countWords(textOf(message)) + 1, 0)
  const completion = countWords(reply) * choices
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion }
}

/** A unit vector derived from the text by FNV-1a hashing: same text, same vector. */
function vectorFor(text: string, dimensions: number): number[] {
  const vector: number[] = []
  let hash = 2166136261
  for (let index = 0; index < text.length; index++) hash = Math.imul(hash ^ text.charCodeAt(index), 16777619)
  for (let dimension = 0; dimension < dimensions; dimension++) {
    hash = Math.imul(hash ^ (dimension + 1), 16777619)
    vector.push(((hash >>> 0) / 0xffffffff) * 2 - 1)
  }
  const length = Math.hypot(...vector) || 1
  return vector.map((value) => value / length)
}

/** What a moderation endpoint answers for one text, in OpenAI's shape (`results[0]`). */
export interface ModerationResult {
  flagged: boolean
  categories: Record<string, boolean>
  category_scores: Record<string, number>
}

const mockModerationWords: Record<string, RegExp> = {
  violence: /\b(?:kill|murder|stab|shoot)\w*/i,
  harassment: /\b(?:idiot|moron|worthless)\b/i,
  'self-harm': /\b(?:self[- ]harm|hurt myself)\b/i,
}

/**
 * The mock provider's moderation: deterministic, no network. A text is flagged under `violence`
 * (kill, murder, stab, shoot), `harassment` (idiot, moron, worthless) or `self-harm` when it holds
 * one of those words; scores are 1 or 0.
 *
 * @example
 * ```ts
 * mockModeration('I will kill the process').categories.violence // true
 * ```
 */
export function mockModeration(text: string): ModerationResult {
  const categories: Record<string, boolean> = {}
  const scores: Record<string, number> = {}
  for (const [category, pattern] of Object.entries(mockModerationWords)) {
    categories[category] = pattern.test(text)
    scores[category] = categories[category] ? 1 : 0
  }
  return { flagged: Object.values(categories).some(Boolean), categories, category_scores: scores }
}
