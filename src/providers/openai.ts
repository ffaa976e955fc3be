/**
 * The OpenAI provider, on the official `openai` SDK. Its `baseURL` serves every OpenAI-compatible
 * server too (Ollama, vLLM, LM Studio, llama.cpp, Groq, Together, OpenRouter).
 */
import OpenAI from 'openai'
import { z } from 'zod'
import { ValidationError } from '../errors'
import type { ChatChunk, ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse } from '../schema'
import type { Provider, ProviderCall } from '../types'
import { validate } from '../validate'
import { connectionError, fromOpenAIError, type ErrorTarget } from './provider-errors'

const openaiOptionsSchema = z.object({
  name: z.string().min(1).default('openai'),
  apiKey: z.string().min(1).optional(),
  baseURL: z.url().optional(),
  organization: z.string().min(1).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  timeout: z.number().int().positive().optional(),
})

/**
 * Options of {@link openai}; every one has a default (see {@link openai}).
 *
 * @example
 * ```ts
 * const options: OpenAIOptions = { baseURL: 'http://localhost:8000/v1', apiKey: 'vllm', timeout: 30_000 }
 * ```
 */
export type OpenAIOptions = z.input<typeof openaiOptionsSchema>

/** Request fields that are llm-onion's own (or the provider's to set) and never go to the API. */
const ownFields = ['model', 'metadata', 'tags', 'mock_response', 'mock_error', 'stream', 'stream_options'] as const

/**
 * A provider on the `openai` SDK: chat, streamed chat (usage is requested in the stream, so streamed
 * calls have usage too), embeddings, tools and `response_format`. The SDK's own retries are off;
 * retries belong to the `retry()` layer.
 *
 * Options:
 * - `apiKey` — default `OPENAI_API_KEY`. OpenAI-compatible local servers take any placeholder.
 * - `baseURL` — default `OPENAI_BASE_URL`, else `https://api.openai.com/v1`.
 * - `organization` — default the SDK's (`OPENAI_ORG_ID`, else none).
 * - `headers` — extra headers on every request, default none.
 * - `timeout` — milliseconds per request, default the SDK's 10 minutes.
 * - `name` — the provider name in events and errors, default `openai`.
 *
 * @example
 * ```ts
 * const client = createClient({
 *   providers: { ollama: openai({ name: 'ollama', apiKey: 'ollama', baseURL: 'http://localhost:11434/v1' }) },
 * })
 * await client.chat({ model: 'ollama/llama3.2', messages: [{ role: 'user', content: 'Hi' }] })
 * ```
 */
export function openai(options: OpenAIOptions = {}): Provider {
  const settings = validate(openaiOptionsSchema, options, 'openai() options')
  const apiKey = settings.apiKey ?? process.env.OPENAI_API_KEY
  if (!apiKey) {
    throw new ValidationError(
      'openai() needs an API key: set OPENAI_API_KEY or pass openai({ apiKey }). OpenAI-compatible local servers accept any placeholder, for example openai({ apiKey: "ollama", baseURL: "http://localhost:11434/v1" }).',
      [{ path: 'apiKey', message: 'required' }],
    )
  }
  const client = new OpenAI({
    apiKey,
    baseURL: settings.baseURL ?? (process.env.OPENAI_BASE_URL || undefined),
    organization: settings.organization,
    defaultHeaders: settings.headers,
    timeout: settings.timeout,
    maxRetries: 0,
  })
  const name = settings.name
  const apiBase = client.baseURL
  const keyHint = name === 'openai' ? 'set OPENAI_API_KEY or pass openai({ apiKey })' : `pass ${name}: openai({ apiKey }) the key of ${apiBase}`
  const target = (call: ProviderCall): ErrorTarget => ({ provider: name, model: call.model, apiBase, signal: call.signal, keyHint })

  async function chat(request: ChatRequest, call: ProviderCall): Promise<ChatResponse> {
    try {
      const response = await client.chat.completions.create(wireBody(request, call.model) as never, { signal: call.signal })
      return response as unknown as ChatResponse
    } catch (error) {
      throw fromOpenAIError(error, target(call))
    }
  }

  async function* stream(request: ChatRequest, call: ProviderCall): AsyncGenerator<ChatChunk> {
    const body = {
      ...wireBody(request, call.model),
      stream: true,
      stream_options: { ...request.stream_options, include_usage: true },
    }
    let finished = false
    try {
      const chunks = await client.chat.completions.create(body as never, { signal: call.signal })
      for await (const chunk of chunks as unknown as AsyncIterable<ChatChunk>) {
        if (!finished) finished = chunk.choices?.some((choice) => choice.finish_reason) ?? false
        yield chunk
      }
    } catch (error) {
      throw fromOpenAIError(error, target(call))
    }
    // The SDK ends the loop quietly when aborted or when the body ends without `data: [DONE]`;
    // neither is a finished reply, and a cut-off stream must never pass for a success.
    if (call.signal.aborted) throw fromOpenAIError(call.signal.reason, target(call))
    if (!finished) throw connectionError(target(call), 'the stream ended before the reply finished (no finish_reason)')
  }

  async function embed(request: EmbeddingRequest, call: ProviderCall): Promise<EmbeddingResponse> {
    try {
      const response = await client.embeddings.create(wireBody(request, call.model) as never, { signal: call.signal })
      return response as unknown as EmbeddingResponse
    } catch (error) {
      throw fromOpenAIError(error, target(call))
    }
  }

  return { name, apiBase, chat, stream, embed }
}

/** The request as the API takes it: llm-onion's own fields removed, the provider's model name set. */
function wireBody(request: ChatRequest | EmbeddingRequest, model: string): Record<string, unknown> {
  const body: Record<string, unknown> = { ...request }
  for (const field of ownFields) delete body[field]
  body.model = model
  return body
}
