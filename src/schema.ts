/**
 * Zod schemas of what crosses the client boundary: OpenAI Chat Completions and Embeddings shaped,
 * snake_case as on the wire. Unknown provider parameters pass through untouched.
 */
import { z } from 'zod'

const textPart = z.object({ type: z.literal('text'), text: z.string() })
const imagePart = z.object({
  type: z.literal('image_url'),
  image_url: z.object({ url: z.string(), detail: z.string().optional() }),
})
const contentPart = z.union([textPart, imagePart, z.looseObject({ type: z.string() })])
const content = z.union([z.string(), z.array(contentPart)])

export const toolCallSchema = z.object({
  id: z.string(),
  type: z.literal('function'),
  function: z.object({ name: z.string(), arguments: z.string() }),
})

const systemMessage = z.looseObject({ role: z.literal('system'), content, name: z.string().optional() })
const developerMessage = z.looseObject({ role: z.literal('developer'), content, name: z.string().optional() })
const userMessage = z.looseObject({ role: z.literal('user'), content, name: z.string().optional() })
const assistantMessage = z.looseObject({
  role: z.literal('assistant'),
  content: z.union([content, z.null()]).optional(),
  name: z.string().optional(),
  tool_calls: z.array(toolCallSchema).optional(),
  refusal: z.string().nullable().optional(),
})
const toolMessage = z.looseObject({ role: z.literal('tool'), content, tool_call_id: z.string() })

export const messageSchema = z.discriminatedUnion('role', [
  systemMessage,
  developerMessage,
  userMessage,
  assistantMessage,
  toolMessage,
])

export const toolSchema = z.object({
  type: z.literal('function'),
  function: z.object({
    name: z.string().min(1),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullable().optional(),
  }),
})

/** `mock_error` on a request: the mock provider raises the typed error for this status. */
export const mockErrorSchema = z.object({
  status: z.number().int().min(400).max(599),
  message: z.string().optional(),
  /** Streams only: fail after this many chunks reached the caller (a stream that dies half-way). */
  after_chunks: z.number().int().min(0).optional(),
  /** 429 only: the provider's Retry-After, in milliseconds. */
  retry_after_ms: z.number().min(0).optional(),
})

export const chatRequestSchema = z.looseObject({
  model: z.string().min(1, 'model must name a model, for example "mock/echo" or "openai/gpt-4o-mini"'),
  messages: z.array(messageSchema).min(1, 'messages must hold at least one message'),
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().min(0).max(1).optional(),
  max_tokens: z.number().int().positive().optional(),
  max_completion_tokens: z.number().int().positive().optional(),
  stop: z.union([z.string(), z.array(z.string())]).optional(),
  n: z.number().int().positive().optional(),
  seed: z.number().int().optional(),
  presence_penalty: z.number().optional(),
  frequency_penalty: z.number().optional(),
  tools: z.array(toolSchema).optional(),
  tool_choice: z.unknown().optional(),
  response_format: z.looseObject({ type: z.string() }).optional(),
  stream: z.boolean().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).optional(),
  user: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  tags: z.array(z.string()).optional(),
  mock_response: z.string().optional(),
  mock_error: mockErrorSchema.optional(),
})

export const embeddingRequestSchema = z.looseObject({
  model: z.string().min(1, 'model must name a model, for example "mock/embed" or "openai/text-embedding-3-small"'),
  input: z.union([
    z.string(),
    z.array(z.string()).min(1, 'input must hold at least one string'),
    z.array(z.number()).min(1, 'input must hold at least one token'),
    z.array(z.array(z.number())).min(1, 'input must hold at least one token list'),
  ]),
  encoding_format: z.enum(['float', 'base64']).optional(),
  dimensions: z.number().int().positive().optional(),
  user: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  tags: z.array(z.string()).optional(),
  mock_error: mockErrorSchema.optional(),
})

export type Message = z.infer<typeof messageSchema>
export type Tool = z.infer<typeof toolSchema>
export type ToolCall = z.infer<typeof toolCallSchema>
export type ChatRequest = z.infer<typeof chatRequestSchema>
export type EmbeddingRequest = z.infer<typeof embeddingRequestSchema>

/** Token counts as OpenAI reports them. */
export interface ProviderUsage {
  prompt_tokens: number
  completion_tokens: number
  total_tokens: number
  prompt_tokens_details?: { cached_tokens?: number }
  completion_tokens_details?: { reasoning_tokens?: number }
}

/** The assembled reply of a chat call (streamed or not). */
export interface ChatResponse {
  id: string
  object: 'chat.completion'
  created: number
  model: string
  choices: Array<{
    index: number
    message: { role: 'assistant'; content: string | null; tool_calls?: ToolCall[]; refusal?: string | null }
    finish_reason: string | null
    logprobs?: unknown
  }>
  usage?: ProviderUsage
  system_fingerprint?: string | null
}

/** One tool-call fragment inside a stream chunk. */
export interface ToolCallDelta {
  index: number
  id?: string
  type?: 'function'
  function?: { name?: string; arguments?: string }
}

/** One chunk of a streamed chat call. */
export interface ChatChunk {
  id: string
  object: 'chat.completion.chunk'
  created: number
  model: string
  choices: Array<{
    index: number
    delta: { role?: 'assistant'; content?: string | null; tool_calls?: ToolCallDelta[]; refusal?: string | null }
    finish_reason: string | null
    logprobs?: unknown
  }>
  usage?: ProviderUsage | null
  system_fingerprint?: string | null
}

export interface EmbeddingResponse {
  object: 'list'
  data: Array<{ object: 'embedding'; index: number; embedding: number[] | string }>
  model: string
  usage: { prompt_tokens: number; total_tokens: number }
}
