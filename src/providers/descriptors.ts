/**
 * The one list of providers. Default providers (./defaults.ts), routing (./router.ts), the proxy's
 * provider switch (src/proxy/providers.ts), the proxy config's check of `litellm_params.model`, the
 * price data's provider id and the OpenTelemetry provider name all read it.
 */
import { anthropicDescriptor } from './anthropic/provider'
import { azureDescriptor } from './azure/provider'
import { bedrockDescriptor } from './bedrock/provider'
import { firstSet, type ProviderDescriptor } from './descriptor'
import { gemini } from './gemini/provider'
import { mock } from './mock/provider'
import { openaiCompatibleDescriptors } from './openai-compatible'
import { openai } from './openai/provider'

const openaiDescriptor: ProviderDescriptor = {
  name: 'openai',
  prefixes: ['openai'],
  keyVariables: ['OPENAI_API_KEY'],
  baseVariables: ['OPENAI_BASE_URL'],
  defaultBaseURL: 'https://api.openai.com/v1',
  bareModels: /^(gpt-|chatgpt-|o1|o3|o4|text-embedding-3|text-embedding-ada|davinci|babbage)/,
  otelName: 'openai',
  openaiCompatible: true,
  create: (settings) =>
    openai({
      apiKey: settings.apiKey ?? (settings.environment.OPENAI_API_KEY || undefined),
      baseURL: settings.apiBase ?? (settings.environment.OPENAI_BASE_URL || undefined),
      transport: settings.transport,
    }),
}

const geminiDescriptor: ProviderDescriptor = {
  name: 'gemini',
  prefixes: ['gemini'],
  keyVariables: ['GEMINI_API_KEY', 'GOOGLE_API_KEY'],
  baseVariables: [],
  defaultBaseURL: 'https://generativelanguage.googleapis.com',
  bareModels: /^(gemini-|text-embedding-004|embedding-001|gemini-embedding|models\/gemini)/,
  otelName: 'gcp.gemini',
  priceProviderId: 'google',
  openaiCompatible: false,
  create: (settings) => gemini({ apiKey: settings.apiKey ?? firstSet(settings.environment, ['GEMINI_API_KEY', 'GOOGLE_API_KEY']), baseUrl: settings.apiBase }),
}

const mockDescriptor: ProviderDescriptor = {
  name: 'mock',
  prefixes: ['mock'],
  keyVariables: [],
  baseVariables: [],
  bareModels: /^mock\b/,
  otelName: 'mock',
  openaiCompatible: false,
  create: (settings) => mock({ latencyMs: settings.latencyMs ?? 0, chunkDelayMs: settings.chunkDelayMs ?? 0 }),
}

/**
 * Every provider the library and the proxy know, in the order bare model names are matched.
 *
 * @example
 * ```ts
 * for (const descriptor of providerDescriptors) console.log(descriptor.name, descriptor.keyVariables.join(' or '))
 * ```
 */
export const providerDescriptors: readonly ProviderDescriptor[] = [openaiDescriptor, geminiDescriptor, mockDescriptor, azureDescriptor, anthropicDescriptor, bedrockDescriptor, ...openaiCompatibleDescriptors]

const byPrefix = new Map<string, ProviderDescriptor>()
for (const descriptor of providerDescriptors) for (const prefix of descriptor.prefixes) byPrefix.set(prefix, descriptor)

/**
 * The descriptor answering to a model-name prefix (`ollama_chat` → ollama's), if any.
 *
 * @example
 * ```ts
 * descriptorForPrefix('custom_openai')?.name // 'openai_like'
 * ```
 */
export function descriptorForPrefix(prefix: string): ProviderDescriptor | undefined {
  return byPrefix.get(prefix)
}

/**
 * Every prefix a proxy config's `litellm_params.model` may start with.
 *
 * @example
 * ```ts
 * supportedPrefixes().includes('groq') // true
 * ```
 */
export function supportedPrefixes(): string[] {
  return [...byPrefix.keys()]
}
