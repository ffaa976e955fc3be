/**
 * The OpenAI-compatible family under LiteLLM's prefixes: each is the `openai()` provider on the
 * provider's own base URL with its own key, read from the variables LiteLLM reads, in the same order
 * (litellm/litellm_core_utils/get_llm_provider_logic.py `_get_openai_compatible_provider_info` and the
 * `litellm/llms/<provider>/chat/transformation.py` configs it calls; docs/providers.md has the table).
 * A provider's key never falls back to `OPENAI_API_KEY`: an OpenAI key is not sent to another server.
 */
import { ValidationError } from '../errors'
import type { Provider } from '../types'
import { firstSet, type ProviderDescriptor, type ProviderSettings } from './descriptor'
import { openai } from './openai/provider'

/** What differs between members of the family. */
interface FamilyMember {
  name: string
  prefixes?: readonly string[]
  keyVariables: readonly string[]
  baseVariables: readonly string[]
  defaultBaseURL?: string
  /** Keyless local servers: the key sent when none is set (LiteLLM sends `fake-api-key`). */
  placeholderKey?: string
  otelName?: string
  priceProviderId?: string | null
  /** Turns a configured base URL into the one ending before `/chat/completions`. */
  normalizeBase?: (base: string) => string
}

/**
 * A base URL ending in `/v1`. Ollama's own API is at the root and its OpenAI-compatible API under
 * `/v1`, which LiteLLM configs leave out; Mistral's base gets `/v1` appended by LiteLLM too.
 */
function withV1(base: string): string {
  const trimmed = base.replace(/\/+$/, '')
  return /\/v1$/.test(trimmed) ? trimmed : `${trimmed}/v1`
}

const members: FamilyMember[] = [
  { name: 'groq', keyVariables: ['GROQ_API_KEY'], baseVariables: ['GROQ_API_BASE'], defaultBaseURL: 'https://api.groq.com/openai/v1' },
  { name: 'openrouter', keyVariables: ['OPENROUTER_API_KEY', 'OR_API_KEY'], baseVariables: ['OPENROUTER_API_BASE'], defaultBaseURL: 'https://openrouter.ai/api/v1' },
  {
    name: 'ollama',
    prefixes: ['ollama', 'ollama_chat'],
    keyVariables: ['OLLAMA_API_KEY'],
    baseVariables: ['OLLAMA_API_BASE'],
    defaultBaseURL: 'http://localhost:11434/v1',
    placeholderKey: 'ollama',
    normalizeBase: withV1,
  },
  // LiteLLM's chat reads MISTRAL_AZURE_API_BASE (not MISTRAL_API_BASE) and appends the /v1 Mistral always needs.
  {
    name: 'mistral',
    keyVariables: ['MISTRAL_AZURE_API_KEY', 'MISTRAL_API_KEY'],
    baseVariables: ['MISTRAL_AZURE_API_BASE'],
    defaultBaseURL: 'https://api.mistral.ai/v1',
    otelName: 'mistral_ai',
    normalizeBase: withV1,
  },
  { name: 'deepseek', keyVariables: ['DEEPSEEK_API_KEY'], baseVariables: ['DEEPSEEK_API_BASE'], defaultBaseURL: 'https://api.deepseek.com/beta' },
  { name: 'xai', keyVariables: ['XAI_API_KEY'], baseVariables: ['XAI_API_BASE'], defaultBaseURL: 'https://api.x.ai/v1', otelName: 'x_ai', priceProviderId: 'x-ai' },
  {
    name: 'together_ai',
    keyVariables: ['TOGETHER_API_KEY', 'TOGETHER_AI_API_KEY', 'TOGETHERAI_API_KEY', 'TOGETHER_AI_TOKEN'],
    baseVariables: ['TOGETHER_AI_API_BASE'],
    defaultBaseURL: 'https://api.together.xyz/v1',
    priceProviderId: 'together',
  },
  {
    name: 'fireworks_ai',
    keyVariables: ['FIREWORKS_API_KEY', 'FIREWORKS_AI_API_KEY', 'FIREWORKSAI_API_KEY', 'FIREWORKS_AI_TOKEN'],
    baseVariables: ['FIREWORKS_API_BASE'],
    defaultBaseURL: 'https://api.fireworks.ai/inference/v1',
    priceProviderId: 'fireworks',
  },
  { name: 'perplexity', keyVariables: ['PERPLEXITYAI_API_KEY', 'PERPLEXITY_API_KEY'], baseVariables: ['PERPLEXITY_API_BASE'], defaultBaseURL: 'https://api.perplexity.ai' },
  { name: 'deepinfra', keyVariables: ['DEEPINFRA_API_KEY'], baseVariables: ['DEEPINFRA_API_BASE'], defaultBaseURL: 'https://api.deepinfra.com/v1/openai' },
  { name: 'cerebras', keyVariables: ['CEREBRAS_API_KEY'], baseVariables: ['CEREBRAS_API_BASE'], defaultBaseURL: 'https://api.cerebras.ai/v1' },
  { name: 'hosted_vllm', keyVariables: ['HOSTED_VLLM_API_KEY'], baseVariables: ['HOSTED_VLLM_API_BASE'], placeholderKey: 'fake-api-key' },
  { name: 'lm_studio', keyVariables: ['LM_STUDIO_API_KEY'], baseVariables: ['LM_STUDIO_API_BASE'], placeholderKey: 'fake-api-key' },
  { name: 'nvidia_nim', keyVariables: ['NVIDIA_NIM_API_KEY'], baseVariables: ['NVIDIA_NIM_API_BASE'], defaultBaseURL: 'https://integrate.api.nvidia.com/v1' },
  // Any other OpenAI-compatible server: api_base is required; the key is api_key, else a placeholder.
  // The price data would take `openai_like` for OpenAI and price a local model at OpenAI's rates.
  { name: 'openai_like', prefixes: ['openai_like', 'custom_openai'], keyVariables: [], baseVariables: [], placeholderKey: 'fake-api-key', priceProviderId: null },
]

/**
 * The descriptors of the OpenAI-compatible family, in the order docs/providers.md lists them.
 *
 * @example
 * ```ts
 * const groq = openaiCompatibleDescriptors.find((descriptor) => descriptor.name === 'groq')!
 * const provider = groq.create({ apiKey: process.env.GROQ_API_KEY, environment: process.env })
 * ```
 */
export const openaiCompatibleDescriptors: readonly ProviderDescriptor[] = members.map(describe)

function describe(member: FamilyMember): ProviderDescriptor {
  return {
    name: member.name,
    prefixes: member.prefixes ?? [member.name],
    keyVariables: member.keyVariables,
    baseVariables: member.baseVariables,
    defaultBaseURL: member.defaultBaseURL,
    // A keyless local server is switched on by saying where it is.
    enabledBy: member.placeholderKey !== undefined ? member.baseVariables : undefined,
    otelName: member.otelName ?? member.name,
    priceProviderId: member.priceProviderId,
    openaiCompatible: true,
    create: (settings) => createMember(member, settings),
  }
}

function createMember(member: FamilyMember, settings: ProviderSettings): Provider {
  const base = settings.apiBase ?? firstSet(settings.environment, member.baseVariables) ?? member.defaultBaseURL
  if (base === undefined) {
    const variable = member.baseVariables[0]
    throw new ValidationError(
      `${member.name} needs the base URL of your server: ${variable ? `set ${variable} or ` : ''}pass api_base (in a proxy config: litellm_params.api_base, for example http://localhost:8000/v1).`,
      [{ path: 'baseURL', message: 'required' }],
    )
  }
  const apiKey = settings.apiKey ?? firstSet(settings.environment, member.keyVariables) ?? member.placeholderKey
  if (apiKey === undefined) {
    throw new ValidationError(
      `${member.name} needs an API key: set ${member.keyVariables.join(' or ')}, or pass api_key (in a proxy config: litellm_params.api_key: os.environ/${member.keyVariables[0]}).`,
      [{ path: 'apiKey', message: 'required' }],
    )
  }
  const baseURL = member.normalizeBase ? member.normalizeBase(base) : base
  return openai({ name: member.name, apiKey, baseURL, transport: settings.transport })
}
