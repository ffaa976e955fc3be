/**
 * The Gemini provider, on Google's `@google/generative-ai` SDK. Requests and answers are OpenAI-shaped
 * on our side; gemini-mapping.ts translates both ways.
 */
import type { GenerateContentRequest, GenerativeModel, GoogleGenerativeAI, RequestOptions } from '@google/generative-ai'
import { z } from 'zod'
import { ContentPolicyViolationError, errorForStatus, ValidationError } from '../../errors'
import type { ChatChunk, ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, ToolCallDelta } from '../../schema'
import type { Provider, ProviderCall } from '../../types'
import { isSecretHeader } from '../../redact'
import { createSecretScrubber } from '../../secret-scrubber'
import { validate } from '../../validate'
import {
  finishReasonOf,
  partsToMessage,
  toChatResponse,
  toGeminiRequest,
  usageOf,
  type GeminiResponse,
  type GeminiUsageMetadata,
} from './mapping'
import { connectionError, type ErrorTarget } from '../provider-errors'
import { fromGeminiError } from './errors'
import { loadGemini } from '../sdk-modules'
import { lazySchema } from '../../lazy-schema'

const defaultBaseUrl = 'https://generativelanguage.googleapis.com'

const geminiOptionsSchema = lazySchema(() =>
  z.object({
    name: z.string().min(1).default('gemini'),
    apiKey: z.string().min(1).optional(),
    baseUrl: z.url().optional(),
    apiVersion: z.string().min(1).default('v1beta'),
    headers: z.record(z.string(), z.string()).optional(),
  }),
)

/**
 * Options of {@link gemini}; every one has a default (see {@link gemini}).
 *
 * @example
 * ```ts
 * const options: GeminiOptions = { apiKey: process.env.GEMINI_API_KEY, baseUrl: 'https://my-proxy.example/gemini' }
 * ```
 */
export type GeminiOptions = z.input<typeof geminiOptionsSchema>

/**
 * A provider on `@google/generative-ai`: OpenAI-shaped chat, streamed chat and embeddings mapped to
 * Gemini (system messages → `systemInstruction`, `assistant` → `model`, tools → function
 * declarations, sampling parameters → `generationConfig`) and the answers mapped back (text,
 * function calls as `tool_calls`, `usageMetadata` → usage, finish reasons → OpenAI's).
 *
 * Options:
 * - `apiKey` — default `GEMINI_API_KEY`, then `GOOGLE_API_KEY`.
 * - `baseUrl` — default `https://generativelanguage.googleapis.com`; point it at a proxy or a test server.
 * - `apiVersion` — default `v1beta`.
 * - `headers` — extra headers on every request, default none.
 * - `name` — the provider name in events and errors, default `gemini`.
 *
 * @example
 * ```ts
 * const client = createClient({ providers: { gemini: gemini({ apiKey: process.env.GEMINI_API_KEY }) } })
 * await client.chat({ model: 'gemini/gemini-2.5-flash', messages: [{ role: 'user', content: 'Hi' }] })
 * ```
 */
export function gemini(options: GeminiOptions = {}): Provider {
  const settings = validate(geminiOptionsSchema, options, 'gemini() options')
  const apiKey = settings.apiKey ?? (process.env.GEMINI_API_KEY || process.env.GOOGLE_API_KEY)
  if (!apiKey) {
    throw new ValidationError('gemini() needs an API key: set GEMINI_API_KEY (or GOOGLE_API_KEY) or pass gemini({ apiKey }).', [
      { path: 'apiKey', message: 'required' },
    ])
  }
  const name = settings.name
  const apiBase = (settings.baseUrl ?? defaultBaseUrl).replace(/\/+$/, '')
  const requestOptions: RequestOptions = { baseUrl: apiBase, apiVersion: settings.apiVersion, customHeaders: settings.headers }
  // The SDK is loaded on the first call, not at import; a model seen before is ready without an await.
  let sdk: GoogleGenerativeAI | undefined
  const models = new Map<string, GenerativeModel>()
  const modelFor = async (model: string) => {
    sdk ??= new (await loadGemini()).GoogleGenerativeAI(apiKey)
    let found = models.get(model)
    if (!found) models.set(model, (found = sdk.getGenerativeModel({ model }, requestOptions)))
    return found
  }
  const keyHint = 'set GEMINI_API_KEY (or GOOGLE_API_KEY) or pass gemini({ apiKey })'
  const secrets = [apiKey, ...Object.keys(settings.headers ?? {}).filter(isSecretHeader).map((header) => settings.headers![header]!)]
  const ownScrubber = createSecretScrubber(secrets, {})
  const target = (call: ProviderCall): ErrorTarget => ({
    provider: name,
    model: call.model,
    apiBase,
    signal: call.signal,
    keyHint,
    scrub: call.context?.services ? (text) => call.context.scrub(text) : (text) => ownScrubber.scrub(text),
  })

  async function chat(request: ChatRequest, call: ProviderCall): Promise<ChatResponse> {
    const body = toGeminiRequest(request) as unknown as GenerateContentRequest
    let response: GeminiResponse
    try {
      response = (await (models.get(call.model) ?? (await modelFor(call.model))).generateContent(body, { signal: call.signal })).response as GeminiResponse
    } catch (error) {
      throw fromGeminiError(error, target(call))
    }
    refuseBlockedPrompt(response, target(call))
    return toChatResponse(response, { id: `chatcmpl-gemini-${call.context.id}`, model: call.model })
  }

  async function* stream(request: ChatRequest, call: ProviderCall): AsyncGenerator<ChatChunk> {
    const body = toGeminiRequest(request) as unknown as GenerateContentRequest
    // Our own controller, so a consumer that stops early also stops the SDK reading the body.
    const controller = new AbortController()
    const forward = () => controller.abort(call.signal.reason)
    if (call.signal.aborted) forward()
    else call.signal.addEventListener('abort', forward, { once: true })
    const chunks = new StreamMapper(`chatcmpl-gemini-${call.context.id}`, call.model)
    try {
      const result = await (models.get(call.model) ?? (await modelFor(call.model))).generateContentStream(body, { signal: controller.signal })
      // The SDK also aggregates the stream into a promise; nobody awaits it, so its rejection must not go unhandled.
      result.response.catch(() => undefined)
      for await (const event of result.stream as AsyncIterable<GeminiResponse & { error?: GoogleErrorBody }>) {
        if (event.error) throw errorForStatus(event.error.code ?? 500, `${name} failed mid-stream: ${event.error.message}`, { provider: name, model: call.model })
        refuseBlockedPrompt(event, target(call))
        yield* chunks.map(event)
      }
    } catch (error) {
      throw fromGeminiError(error, target(call))
    } finally {
      call.signal.removeEventListener('abort', forward)
      if (!chunks.finished) controller.abort()
    }
    if (!chunks.finished) throw connectionError(target(call), 'the stream ended before the reply finished (no finishReason)')
    const usage = chunks.usageChunk()
    if (usage) yield usage
  }

  async function embed(request: EmbeddingRequest, call: ProviderCall): Promise<EmbeddingResponse> {
    const texts = typeof request.input === 'string' ? [request.input] : request.input
    if (!texts.every((text): text is string => typeof text === 'string')) {
      throw new ValidationError('Invalid embedding request for gemini: input must be text; token arrays are OpenAI-only.', [
        { path: 'input', message: 'must be a string or an array of strings' },
      ])
    }
    const extra = request.dimensions ? { outputDimensionality: request.dimensions } : {}
    const contentOf = (text: string) => ({ content: { role: 'user', parts: [{ text }] }, ...extra })
    const model = models.get(call.model) ?? (await modelFor(call.model))
    let vectors: number[][]
    try {
      if (typeof request.input === 'string') {
        vectors = [(await model.embedContent(contentOf(request.input), { signal: call.signal })).embedding.values]
      } else {
        const batch = await model.batchEmbedContents({ requests: texts.map(contentOf) }, { signal: call.signal })
        vectors = batch.embeddings.map((embedding) => embedding.values)
      }
    } catch (error) {
      throw fromGeminiError(error, target(call))
    }
    return {
      object: 'list',
      data: vectors.map((values, index) => ({ object: 'embedding', index, embedding: request.encoding_format === 'base64' ? toBase64(values) : values })),
      model: call.model,
      // Gemini's embedding API reports no token counts.
      usage: { prompt_tokens: 0, total_tokens: 0 },
    }
  }

  return { name, apiBase, secrets, chat, stream, embed }
}

interface GoogleErrorBody {
  code?: number
  message?: string
}

/** A prompt Gemini refused outright comes back with no candidates and a block reason. */
function refuseBlockedPrompt(response: GeminiResponse, target: ErrorTarget): void {
  const blocked = response.promptFeedback?.blockReason
  if (!blocked || response.candidates?.length) return
  const detail = response.promptFeedback?.blockReasonMessage ? `: ${response.promptFeedback.blockReasonMessage}` : ''
  throw new ContentPolicyViolationError(`${target.provider} blocked the prompt (${blocked}${detail}). Rephrase the prompt or adjust the safety settings.`, {
    provider: target.provider,
    model: target.model,
    code: blocked,
    retryable: false,
  })
}

/** Gemini stream events → OpenAI chunks: role first, text and function calls as deltas, usage last. */
class StreamMapper {
  #id: string
  #model: string
  #started = new Set<number>()
  #toolCounts = new Map<number, number>()
  #usage?: GeminiUsageMetadata
  finished = false

  constructor(id: string, model: string) {
    this.#id = id
    this.#model = model
  }

  *map(event: GeminiResponse): Generator<ChatChunk> {
    if (event.responseId) this.#id = event.responseId
    if (event.modelVersion) this.#model = event.modelVersion
    if (event.usageMetadata) this.#usage = event.usageMetadata
    for (const [position, candidate] of (event.candidates ?? []).entries()) {
      const index = candidate.index ?? position
      const { text, toolCalls } = partsToMessage(candidate.content?.parts)
      const delta: ChatChunk['choices'][number]['delta'] = {}
      if (!this.#started.has(index)) {
        this.#started.add(index)
        delta.role = 'assistant'
      }
      if (text !== '') delta.content = text
      if (toolCalls.length > 0) {
        const before = this.#toolCounts.get(index) ?? 0
        delta.tool_calls = toolCalls.map((call, offset): ToolCallDelta => ({ index: before + offset, ...call }))
        this.#toolCounts.set(index, before + toolCalls.length)
      }
      const finish = finishReasonOf(candidate.finishReason, (this.#toolCounts.get(index) ?? 0) > 0)
      if (finish) this.finished = true
      if (Object.keys(delta).length === 0 && !finish) continue
      yield { ...this.#base(), choices: [{ index, delta, finish_reason: finish }] }
    }
  }

  /** The closing chunk that carries usage, as OpenAI's `include_usage` stream ends. */
  usageChunk(): ChatChunk | undefined {
    const usage = usageOf(this.#usage)
    return usage ? { ...this.#base(), choices: [], usage } : undefined
  }

  #base() {
    return { id: this.#id, object: 'chat.completion.chunk' as const, created: Math.floor(Date.now() / 1000), model: this.#model }
  }
}

/** OpenAI's base64 embedding encoding: little-endian float32. */
function toBase64(values: number[]): string {
  return Buffer.from(new Float32Array(values).buffer).toString('base64')
}
