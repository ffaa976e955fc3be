/**
 * The OpenAI provider. Its `baseURL` serves every OpenAI-compatible server too (Ollama, vLLM,
 * LM Studio, llama.cpp, Groq, Together, OpenRouter). Two transports behave the same through the
 * client: the official `openai` SDK (the default) and `undici` (`transport: 'http'`, ./openai-http.ts).
 */
import type { OpenAI } from 'openai'
import type { ChatChunk, ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse } from '../../schema'
import type { Provider, ProviderCall } from '../../types'
import { assertStreamFinished, finishes, resolveOpenAISettings, streamWireBody, wireBody, type OpenAIOptions, type OpenAISettings } from './common'
import { openaiHttp } from './http'
import { fromOpenAIError } from './errors'
import { loadOpenAI } from '../sdk-modules'

export type { OpenAIOptions } from './common'

/**
 * A provider for OpenAI's API: chat, streamed chat (usage is requested in the stream, so streamed
 * calls have usage too), embeddings, tools and `response_format`. It never retries by itself;
 * retries belong to the `retry()` layer.
 *
 * Options:
 * - `apiKey` — default `OPENAI_API_KEY`. OpenAI-compatible local servers take any placeholder.
 * - `baseURL` — default `OPENAI_BASE_URL`, else `https://api.openai.com/v1`.
 * - `organization` — default `OPENAI_ORG_ID`, else none (`OpenAI-Project` comes from `OPENAI_PROJECT_ID`).
 * - `headers` — extra headers on every request, default none.
 * - `timeout` — milliseconds to wait for an answer, default 10 minutes (the SDK's).
 * - `name` — the provider name in events and errors, default `openai`.
 * - `transport` — `'sdk'` (default): the official `openai` SDK over Node's `fetch`. `'http'`: `undici`
 *   with one keep-alive connection pool, a fraction of the SDK's CPU per call (what the proxy uses);
 *   `client.close()` closes its pool.
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
  const settings = resolveOpenAISettings(options)
  return settings.transport === 'http' ? openaiHttp(settings) : openaiSdk(settings)
}

/** Makes the SDK client of a provider from the loaded `openai` module (`OpenAI`, or `AzureOpenAI` for Azure). */
export type SdkClientFactory = (sdk: typeof import('openai')) => OpenAI

/**
 * The `sdk` transport: the official SDK with its own retries off. The SDK is loaded, and its client
 * made, on the first call (importing `openai` is a large part of a cold start); later calls find the
 * client ready and take no extra async step. `makeClient` defaults to the `OpenAI` client of `settings`.
 *
 * @example
 * ```ts
 * const provider = openaiSdk(resolveOpenAISettings({ name: 'azure', apiKey, baseURL }), (sdk) => new sdk.AzureOpenAI({ apiKey, endpoint, apiVersion }))
 * ```
 */
export function openaiSdk(settings: OpenAISettings, makeClient?: SdkClientFactory): Provider {
  let client: OpenAI | undefined
  let creating: Promise<OpenAI> | undefined

  function createSdkClient(): Promise<OpenAI> {
    creating ??= loadOpenAI().then(
      (sdk) =>
        (client =
          makeClient?.(sdk) ??
          new sdk.OpenAI({
            apiKey: settings.apiKey,
            baseURL: settings.baseURL,
            organization: settings.organization,
            project: settings.project,
            defaultHeaders: settings.headers,
            timeout: settings.timeout,
            maxRetries: 0,
          })),
      (error: unknown) => {
        creating = undefined
        throw error
      },
    )
    return creating
  }

  async function chat(request: ChatRequest, call: ProviderCall): Promise<ChatResponse> {
    try {
      const response = await (client ?? (await createSdkClient())).chat.completions.create(wireBody(request, call.model) as never, { signal: call.signal })
      return response as unknown as ChatResponse
    } catch (error) {
      throw fromOpenAIError(error, settings.target(call))
    }
  }

  async function* stream(request: ChatRequest, call: ProviderCall): AsyncGenerator<ChatChunk> {
    let finished = false
    try {
      const chunks = await (client ?? (await createSdkClient())).chat.completions.create(streamWireBody(request, call.model) as never, { signal: call.signal })
      for await (const chunk of chunks as unknown as AsyncIterable<ChatChunk>) {
        if (!finished) finished = finishes(chunk)
        yield chunk
      }
    } catch (error) {
      throw fromOpenAIError(error, settings.target(call))
    }
    // The SDK ends the loop quietly when aborted or when the body ends without `data: [DONE]`.
    assertStreamFinished(finished, call, settings)
  }

  async function embed(request: EmbeddingRequest, call: ProviderCall): Promise<EmbeddingResponse> {
    try {
      const response = await (client ?? (await createSdkClient())).embeddings.create(wireBody(request, call.model) as never, { signal: call.signal })
      return response as unknown as EmbeddingResponse
    } catch (error) {
      throw fromOpenAIError(error, settings.target(call))
    }
  }

  // The SDK keeps `baseURL` as given, so the settings' value is the one the SDK will use.
  return { name: settings.name, apiBase: settings.baseURL, secrets: settings.secrets, chat, stream, embed }
}
