/**
 * What the library knows about one provider, in one place: its name, the LiteLLM prefixes it answers
 * to, the variables that hold its key and base URL, its default base URL, the bare model names it
 * owns, its OpenTelemetry name, its id in the price data and its factory. The list of descriptors
 * (./descriptors.ts) feeds the default providers, routing, the proxy's provider switch and the OTel
 * provider name, so adding a provider is one descriptor.
 */
import type { Provider } from '../types'

/** What a descriptor's factory is built from: a config's `litellm_params`, or the environment alone. */
export interface ProviderSettings {
  /** `api_key`; default the descriptor's key variables. */
  apiKey?: string
  /** `api_base`; default the descriptor's base variables, then its default base URL. */
  apiBase?: string
  /** `api_version` (Azure). */
  apiVersion?: string
  /** OpenAI-compatible providers: `sdk` (the official SDK, the library's default) or `http` (undici, the proxy's default). */
  transport?: 'sdk' | 'http'
  /**
   * Provider-specific `litellm_params` of a config deployment, as written (Bedrock's `aws_region_name`,
   * `aws_access_key_id`, ...); none outside the proxy.
   */
  parameters?: Readonly<Record<string, unknown>>
  /** Mock only: delay before the reply and between stream chunks, in ms. */
  latencyMs?: number
  chunkDelayMs?: number
  /** Where the key and base variables are read from (tests and the proxy pass their own). */
  environment: Readonly<Record<string, string | undefined>>
}

/**
 * One provider's descriptor.
 *
 * @example
 * ```ts
 * const groq: ProviderDescriptor = {
 *   name: 'groq', prefixes: ['groq'], keyVariables: ['GROQ_API_KEY'], baseVariables: ['GROQ_API_BASE'],
 *   defaultBaseURL: 'https://api.groq.com/openai/v1', otelName: 'groq', openaiCompatible: true,
 *   create: (settings) => openai({ name: 'groq', apiKey: settings.apiKey, baseURL: settings.apiBase }),
 * }
 * ```
 */
export interface ProviderDescriptor {
  /** The provider's name in events, errors, `providers` and model names (`groq/llama-3.1-8b`). */
  name: string
  /** Every `litellm_params.model` prefix it answers to, its name first (`ollama`, `ollama_chat`). */
  prefixes: readonly string[]
  /** Variables holding its key, read in order (LiteLLM's names). Setting one switches the provider on by default. */
  keyVariables: readonly string[]
  /** Variables holding its base URL, read in order (LiteLLM's names). */
  baseVariables: readonly string[]
  /** The base URL without `api_base` or a base variable; none when the user must say where the server is. */
  defaultBaseURL?: string
  /** Variables that switch it on by default besides the key variables (keyless local servers: their base variable). */
  enabledBy?: readonly string[]
  /** What the error for a model of this provider, when it is not configured, says to do; default built from its variables. */
  switchOnHint?: string
  /** Bare model names it owns (`gpt-4o` → openai); checked in list order. */
  bareModels?: RegExp
  /** `gen_ai.provider.name` in OpenTelemetry's GenAI conventions. */
  otelName: string
  /** Its provider id in `@pydantic/genai-prices`; default its name; null for a user's own server, which the price data cannot know. */
  priceProviderId?: string | null
  /** True when it is the OpenAI provider on another base URL, so `transport` applies. */
  openaiCompatible: boolean
  /** Builds the provider; throws a ValidationError naming the missing key or base URL. */
  create(settings: ProviderSettings): Provider
}

/**
 * The first of `variables` set (non-empty) in `environment`.
 *
 * @example
 * ```ts
 * firstSet({ TOGETHERAI_API_KEY: 'k' }, ['TOGETHER_API_KEY', 'TOGETHERAI_API_KEY']) // 'k'
 * ```
 */
export function firstSet(environment: ProviderSettings['environment'], variables: readonly string[]): string | undefined {
  for (const variable of variables) {
    const value = environment[variable]
    if (value) return value
  }
  return undefined
}

/**
 * Whether `descriptor` is on by default in `environment`: one of its key variables (or, for keyless
 * local servers, its `enabledBy` variables) is set, and it knows where its server is (a default base
 * URL, or its base variable set). Mock is always on.
 *
 * @example
 * ```ts
 * switchedOn(groqDescriptor, { GROQ_API_KEY: 'gsk-...' }) // true
 * ```
 */
export function switchedOn(descriptor: ProviderDescriptor, environment: ProviderSettings['environment']): boolean {
  if (descriptor.name === 'mock') return true
  // A server without a default base URL (vLLM, LM Studio) is on only once its base variable says where it is.
  const located = descriptor.defaultBaseURL !== undefined || firstSet(environment, descriptor.baseVariables) !== undefined
  return located && firstSet(environment, [...descriptor.keyVariables, ...(descriptor.enabledBy ?? [])]) !== undefined
}
