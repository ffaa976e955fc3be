/**
 * Zod schemas of what crosses the client boundary: OpenAI Chat Completions and Embeddings shaped,
 * snake_case as on the wire. Unknown provider parameters pass through untouched.
 */
import { z } from 'zod'
import { lazySchema, memoise } from './lazy-schema'

/** How deep `metadata` may nest: deeper is refused at validation, before any layer or exporter sees it. */
export const maxMetadataDepth = 32
/** How large `metadata` may be, serialised as JSON (64 KiB): larger is refused at validation. */
export const maxMetadataBytes = 64 * 1024

/** The depth of `value` (a scalar is 0), counted no further than `limit + 1`; cycles count as too deep. */
function depthOf(value: unknown, limit: number): number {
  if (typeof value !== 'object' || value === null) return 0
  if (limit < 0) return 1
  let deepest = 0
  for (const key in value) {
    deepest = Math.max(deepest, depthOf((value as Record<string, unknown>)[key], limit - 1))
    if (deepest > limit) break
  }
  return deepest + 1
}

/**
 * An optional parameter for which `null` means absent, as the OpenAI SDKs' types allow
 * (`temperature: null` is "the default", not an error).
 */
function optional<Schema extends z.ZodType>(schema: Schema) {
  return schema.nullish().transform((value): z.output<Schema> | undefined => value ?? undefined).optional()
}

/** Builds the schemas of this module, once (see {@link requestSchemas}). */
function buildRequestSchemas() {

  const textPart = z.object({ type: z.literal('text'), text: z.string() })
  const imagePart = z.object({
    type: z.literal('image_url'),
    image_url: z.object({ url: z.string(), detail: z.string().optional() }),
  })
  const contentPart = z.union([textPart, imagePart, z.looseObject({ type: z.string() })])
  const content = z.union([z.string(), z.array(contentPart)])

  const toolCallSchema = z.object({
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

  const messageSchema = z.discriminatedUnion('role', [
    systemMessage,
    developerMessage,
    userMessage,
    assistantMessage,
    toolMessage,
  ])

  const toolSchema = z.object({
    type: z.literal('function'),
    function: z.object({
      name: z.string().min(1),
      description: z.string().optional(),
      parameters: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullable().optional(),
    }),
  })

  /** `mock_error` on a request: the mock provider raises the typed error for this status. */
  const mockErrorSchema = z.object({
    status: z.number().int().min(400).max(599),
    message: z.string().optional(),
    /** Streams only: fail after this many chunks reached the caller (a stream that dies half-way). */
    after_chunks: z.number().int().min(0).optional(),
    /** 429 only: the provider's Retry-After, in milliseconds. */
    retry_after_ms: z.number().min(0).optional(),
  })

  /**
   * Metadata travels to every exporter; a value nested thousands deep or megabytes large cannot be
   * encoded there (or stalls it), so it is refused here with the limit named.
   */
  const metadataSchema = z.record(z.string(), z.unknown()).superRefine((metadata, ctx) => {
    // The record itself is level 1, so a `{ a: { b: 1 } }` has depth 2.
    if (depthOf(metadata, maxMetadataDepth) > maxMetadataDepth) {
      ctx.addIssue({ code: 'custom', message: `metadata nests deeper than ${maxMetadataDepth} levels: flatten it (for example into dotted keys)` })
      return
    }
    let size: number
    try {
      size = Buffer.byteLength(JSON.stringify(metadata))
    } catch {
      ctx.addIssue({ code: 'custom', message: 'metadata must be JSON-serialisable (no cycles, BigInt or functions)' })
      return
    }
    if (size > maxMetadataBytes) {
      ctx.addIssue({ code: 'custom', message: `metadata is ${size} bytes as JSON; the limit is ${maxMetadataBytes} bytes (64 KiB): send less, or keep large values out of metadata` })
    }
  })

  /** Parameters this schema does not know pass through; a `null` among them is absent too. */
  const otherParameter = z.unknown().transform((value): unknown => (value === null ? undefined : value))

  const chatRequestSchema = z
    .object({
      model: z.string().min(1, 'model must name a model, for example "mock/echo" or "openai/gpt-4o-mini"'),
      messages: z.array(messageSchema).min(1, 'messages must hold at least one message'),
      temperature: optional(z.number().min(0).max(2)),
      top_p: optional(z.number().min(0).max(1)),
      max_tokens: optional(z.number().int().positive()),
      max_completion_tokens: optional(z.number().int().positive()),
      stop: optional(z.union([z.string(), z.array(z.string())])),
      n: optional(z.number().int().positive()),
      seed: optional(z.number().int()),
      presence_penalty: optional(z.number()),
      frequency_penalty: optional(z.number()),
      tools: optional(z.array(toolSchema)),
      tool_choice: z.unknown().optional(),
      response_format: optional(z.looseObject({ type: z.string() })),
      stream: optional(z.boolean()),
      stream_options: optional(z.looseObject({ include_usage: z.boolean().nullish() })),
      user: optional(z.string()),
      metadata: optional(metadataSchema),
      tags: optional(z.array(z.string())),
      mock_response: optional(z.string()),
      mock_error: optional(mockErrorSchema),
    })
    .catchall(otherParameter)

  const embeddingRequestSchema = z
    .object({
      model: z.string().min(1, 'model must name a model, for example "mock/embed" or "openai/text-embedding-3-small"'),
      input: z.union([
        z.string(),
        z.array(z.string()).min(1, 'input must hold at least one string'),
        z.array(z.number()).min(1, 'input must hold at least one token'),
        z.array(z.array(z.number())).min(1, 'input must hold at least one token list'),
      ]),
      encoding_format: optional(z.enum(['float', 'base64'])),
      dimensions: optional(z.number().int().positive()),
      user: optional(z.string()),
      metadata: optional(metadataSchema),
      tags: optional(z.array(z.string())),
      mock_error: optional(mockErrorSchema),
    })
    .catchall(otherParameter)
  return { toolCallSchema, messageSchema, toolSchema, mockErrorSchema, chatRequestSchema, embeddingRequestSchema }
}

/**
 * The schemas of this module, built on the first call (not at import: docs/benchmarks.md, "Cold
 * start"); what a call parses with, so it reads the built schema directly.
 */
export const requestSchemas = memoise(buildRequestSchemas)

export const toolCallSchema = lazySchema(() => requestSchemas().toolCallSchema)
export const messageSchema = lazySchema(() => requestSchemas().messageSchema)
export const toolSchema = lazySchema(() => requestSchemas().toolSchema)
export const mockErrorSchema = lazySchema(() => requestSchemas().mockErrorSchema)
export const chatRequestSchema = lazySchema(() => requestSchemas().chatRequestSchema)
export const embeddingRequestSchema = lazySchema(() => requestSchemas().embeddingRequestSchema)


export type Message = z.infer<typeof messageSchema>
export type Tool = z.infer<typeof toolSchema>
export type ToolCall = z.infer<typeof toolCallSchema>
export type ChatRequest = z.infer<typeof chatRequestSchema>
export type EmbeddingRequest = z.infer<typeof embeddingRequestSchema>

/**
 * Token counts as OpenAI reports them. `prompt_tokens` includes the tokens read from and written to a
 * prompt cache; `cache_creation_tokens` (written to the cache, Anthropic's `cache_creation_input_tokens`)
 * and the top-level `cache_creation_input_tokens` / `cache_read_input_tokens` are LiteLLM's additions.
 */
export interface ProviderUsage {
  prompt_tokens: number
  completion_tokens: number
  total_tokens: number
  prompt_tokens_details?: { cached_tokens?: number; cache_creation_tokens?: number }
  completion_tokens_details?: { reasoning_tokens?: number }
  cache_creation_input_tokens?: number
  cache_read_input_tokens?: number
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
