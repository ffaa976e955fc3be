/**
 * The Anthropic provider, on the official `@anthropic-ai/sdk` (loaded on the first call). Requests
 * and answers are OpenAI-shaped on our side; ./request.ts and ./reply.ts translate both ways.
 */
import type { Anthropic } from '@anthropic-ai/sdk'
import { z } from 'zod'
import { ValidationError } from '../../errors'
import { lazySchema } from '../../lazy-schema'
import { isSecretHeader } from '../../redact'
import type { ChatChunk, ChatRequest, ChatResponse, EmbeddingResponse } from '../../schema'
import { createSecretScrubber } from '../../secret-scrubber'
import type { Provider, ProviderCall } from '../../types'
import { validate } from '../../validate'
import { firstSet, type ProviderDescriptor, type ProviderSettings } from '../descriptor'
import { connectionError, type ErrorTarget } from '../provider-errors'
import { loadAnthropic } from '../sdk-modules'
import { fromAnthropicError } from './errors'
import { AnthropicStreamMapper, toChatResponse, type AnthropicMessage, type AnthropicStreamEvent } from './reply'
import { defaultAnthropicMaxTokens, toAnthropicRequest } from './request'

/** Where Anthropic's API is when neither `apiBase` nor a base variable says (LiteLLM's default). */
export const defaultAnthropicBaseURL = 'https://api.anthropic.com'

/** The SDK's own default wait for an answer: 10 minutes. */
const defaultTimeoutMs = 600_000

const anthropicOptionsSchema = lazySchema(() =>
  z.object({
    name: z.string().min(1).default('anthropic'),
    apiKey: z.string().min(1).optional(),
    authToken: z.string().min(1).optional(),
    apiBase: z.url().optional(),
    headers: z.record(z.string(), z.string()).optional(),
    timeout: z.number().int().positive().optional(),
    maxTokens: z.number().int().positive().optional(),
  }),
)

/**
 * Options of {@link anthropic}; every one has a default (see {@link anthropic}).
 *
 * @example
 * ```ts
 * const options: AnthropicOptions = { apiKey: process.env.ANTHROPIC_API_KEY, maxTokens: 8192 }
 * ```
 */
export type AnthropicOptions = z.input<typeof anthropicOptionsSchema>

/**
 * A provider for Anthropic's Messages API on `@anthropic-ai/sdk`: OpenAI-shaped chat and streamed
 * chat mapped to Anthropic (system messages → `system`, tool calls ↔ `tool_use` / `tool_result`
 * blocks, images → image blocks, `max_tokens` always sent) and the answers mapped back (text,
 * `tool_use` as `tool_calls`, usage with cache reads and writes, stop reasons as OpenAI's finish
 * reasons). The SDK's own retries are off; retries belong to the `retry()` layer. Anthropic has no
 * embeddings API, so `embed` fails with a ValidationError.
 *
 * Options:
 * - `apiKey` — default `ANTHROPIC_API_KEY`.
 * - `authToken` — a bearer token instead of a key; default `ANTHROPIC_AUTH_TOKEN` when no key is set.
 * - `apiBase` — default `ANTHROPIC_API_BASE`, then `ANTHROPIC_BASE_URL`, then `https://api.anthropic.com`
 *   (LiteLLM's order); a base ending in `/v1` or `/v1/messages` is taken without it.
 * - `maxTokens` — `max_tokens` for requests that set none: default `DEFAULT_ANTHROPIC_CHAT_MAX_TOKENS`, else 4096 (LiteLLM's).
 * - `headers` — extra headers on every request (such as `anthropic-beta`), default none.
 * - `timeout` — milliseconds to wait for an answer, default 10 minutes (the SDK's).
 * - `name` — the provider name in events and errors, default `anthropic`.
 *
 * @example
 * ```ts
 * const client = createClient({ providers: { anthropic: anthropic({ apiKey: process.env.ANTHROPIC_API_KEY }) } })
 * await client.chat({ model: 'anthropic/claude-sonnet-4-5', messages: [{ role: 'user', content: 'Hi' }] })
 * ```
 */
export function anthropic(options: AnthropicOptions = {}, environment: ProviderSettings['environment'] = process.env): Provider {
  const settings = validate(anthropicOptionsSchema, options, 'anthropic() options')
  const apiKey = settings.apiKey ?? (settings.authToken ? undefined : firstSet(environment, ['ANTHROPIC_API_KEY']))
  const authToken = apiKey ? undefined : (settings.authToken ?? firstSet(environment, ['ANTHROPIC_AUTH_TOKEN']))
  if (!apiKey && !authToken) {
    throw new ValidationError('anthropic() needs an API key: set ANTHROPIC_API_KEY or pass anthropic({ apiKey }) (in a proxy config: litellm_params.api_key: os.environ/ANTHROPIC_API_KEY).', [
      { path: 'apiKey', message: 'required' },
    ])
  }
  const name = settings.name
  const given = settings.apiBase ?? firstSet(environment, ['ANTHROPIC_API_BASE', 'ANTHROPIC_BASE_URL']) ?? defaultAnthropicBaseURL
  // The SDK appends /v1/messages; LiteLLM configs also write the base with it, or with /v1.
  const apiBase = given.replace(/\/+$/, '').replace(/\/v1(\/messages)?$/, '')
  const configured = Number(environment.DEFAULT_ANTHROPIC_CHAT_MAX_TOKENS)
  const maxTokens = settings.maxTokens ?? (Number.isSafeInteger(configured) && configured > 0 ? configured : defaultAnthropicMaxTokens)
  const headers = settings.headers ?? {}
  const secrets = [(apiKey ?? authToken)!, ...Object.keys(headers).filter(isSecretHeader).map((header) => headers[header]!)]
  const ownScrubber = createSecretScrubber(secrets, {})
  const keyHint = 'set ANTHROPIC_API_KEY or pass anthropic({ apiKey })'
  const target = (call: ProviderCall): ErrorTarget => ({
    provider: name,
    model: call.model,
    apiBase,
    signal: call.signal,
    keyHint,
    scrub: call.context?.services ? (text) => call.context.scrub(text) : (text) => ownScrubber.scrub(text),
  })

  // The SDK is loaded, and its client made, on the first call; later calls find it ready.
  let client: Anthropic | undefined
  let creating: Promise<Anthropic> | undefined
  const createSdkClient = (): Promise<Anthropic> => {
    creating ??= loadAnthropic().then(
      (sdk) =>
        (client = new sdk.Anthropic({
          ...(apiKey ? { apiKey } : { authToken }),
          baseURL: apiBase,
          defaultHeaders: headers,
          // Always set: without it the SDK refuses a non-streamed call whose max_tokens could take over 10 minutes.
          timeout: settings.timeout ?? defaultTimeoutMs,
          maxRetries: 0,
          // Spans are the otel() layer's; the SDK's own would describe each call twice.
          openTelemetry: false,
        })),
      (error: unknown) => {
        creating = undefined
        throw error
      },
    )
    return creating
  }

  async function chat(request: ChatRequest, call: ProviderCall): Promise<ChatResponse> {
    const body = toAnthropicRequest(request, call.model, maxTokens)
    try {
      const message = await (client ?? (await createSdkClient())).messages.create(body as never, { signal: call.signal })
      return toChatResponse(message as unknown as AnthropicMessage)
    } catch (error) {
      throw fromAnthropicError(error, target(call))
    }
  }

  async function* stream(request: ChatRequest, call: ProviderCall): AsyncGenerator<ChatChunk> {
    const body = { ...toAnthropicRequest(request, call.model, maxTokens), stream: true }
    const chunks = new AnthropicStreamMapper(`chatcmpl-anthropic-${call.context.id}`, call.model)
    try {
      const events = await (client ?? (await createSdkClient())).messages.create(body as never, { signal: call.signal })
      for await (const event of events as unknown as AsyncIterable<AnthropicStreamEvent>) yield* chunks.map(event)
    } catch (error) {
      throw fromAnthropicError(error, target(call))
    }
    // The SDK ends the loop quietly when aborted or when the body ends early.
    if (call.signal.aborted) throw fromAnthropicError(call.signal.reason, target(call))
    if (!chunks.finished) throw connectionError(target(call), 'the stream ended before the reply finished (no stop_reason)')
    yield chunks.usageChunk()
  }

  async function embed(): Promise<EmbeddingResponse> {
    throw new ValidationError(`${name} has no embeddings API: use an embedding model of another provider (openai/text-embedding-3-small, gemini/gemini-embedding-001, ...).`, [
      { path: 'model', message: 'Anthropic serves no embedding models' },
    ])
  }

  return { name, apiBase, secrets, chat, stream, embed }
}

/**
 * The Anthropic descriptor: `anthropic/<model>` and bare `claude-*` names, with LiteLLM's
 * `ANTHROPIC_API_KEY` (or `ANTHROPIC_AUTH_TOKEN`) and `ANTHROPIC_API_BASE` / `ANTHROPIC_BASE_URL`.
 *
 * @example
 * ```ts
 * const provider = anthropicDescriptor.create({ apiKey: 'sk-ant-...', environment: process.env })
 * ```
 */
export const anthropicDescriptor: ProviderDescriptor = {
  name: 'anthropic',
  prefixes: ['anthropic'],
  keyVariables: ['ANTHROPIC_API_KEY'],
  baseVariables: ['ANTHROPIC_API_BASE', 'ANTHROPIC_BASE_URL'],
  defaultBaseURL: defaultAnthropicBaseURL,
  enabledBy: ['ANTHROPIC_AUTH_TOKEN'],
  bareModels: /^claude-/,
  otelName: 'anthropic',
  priceProviderId: 'anthropic',
  openaiCompatible: false,
  create: (settings) => anthropic({ apiKey: settings.apiKey, apiBase: settings.apiBase }, settings.environment),
}
