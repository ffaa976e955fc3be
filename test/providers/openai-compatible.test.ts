/**
 * The OpenAI-compatible family under LiteLLM's prefixes (docs/providers.md): each prefix reaches the
 * OpenAI-compatible server with the provider's key, from the library (the key and base variables
 * LiteLLM reads) and from a proxy config (`litellm_params: { model: "groq/...", api_base }`), and is
 * priced from the price data where it has the model.
 */
import { calcPrice, findProvider } from '@pydantic/genai-prices'
import OpenAI from 'openai'
import { afterEach, describe, expect, it } from 'vitest'
import { createClient, type Context, type Middleware } from 'llm-onion'
import { createProxyServer, parseConfig } from 'llm-onion/proxy'
import { createRecorder } from 'llm-onion/testing'
import { genAiProviderName } from '../../src/integrations/otel/attributes'
import { descriptorForPrefix } from '../../src/providers/descriptors'
import { defaultProviders } from '../../src/providers/defaults'
import { defaultConfig } from '../../src/proxy/default-config'
import { startOpenAIFake, type OpenAIFake } from '../../src/testing/openai-server'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function openAIFake(): Promise<OpenAIFake> {
  const fake = await startOpenAIFake()
  cleanups.push(() => fake.close())
  return fake
}

const messages = [{ role: 'user' as const, content: 'Hi' }]
const million = { prompt_tokens: 1_000_000, completion_tokens: 1_000_000, total_tokens: 2_000_000 }

/** prefix, provider name, a model, the price data's provider id when it prices that model. */
const family: Array<[prefix: string, provider: string, model: string, priceProvider: string | undefined]> = [
  ['groq', 'groq', 'llama-3.1-8b-instant', 'groq'],
  ['openrouter', 'openrouter', 'openai/gpt-4o-mini', 'openrouter'],
  ['ollama', 'ollama', 'llama3.2', undefined],
  ['ollama_chat', 'ollama', 'llama3.2', undefined],
  ['mistral', 'mistral', 'mistral-small-latest', 'mistral'],
  ['deepseek', 'deepseek', 'deepseek-chat', 'deepseek'],
  ['xai', 'xai', 'grok-3-mini', 'x-ai'],
  ['together_ai', 'together_ai', 'meta-llama/Llama-3.3-70B-Instruct-Turbo', 'together'],
  ['fireworks_ai', 'fireworks_ai', 'accounts/fireworks/models/llama-v3p1-8b-instruct', 'fireworks'],
  ['perplexity', 'perplexity', 'sonar', 'perplexity'],
  ['deepinfra', 'deepinfra', 'meta-llama/Meta-Llama-3.1-8B-Instruct', undefined],
  ['cerebras', 'cerebras', 'llama3.1-8b', 'cerebras'],
  ['hosted_vllm', 'hosted_vllm', 'Qwen/Qwen3-8B', undefined],
  ['lm_studio', 'lm_studio', 'qwen2.5-7b-instruct', undefined],
  ['nvidia_nim', 'nvidia_nim', 'meta/llama-3.1-8b-instruct', undefined],
  ['openai_like', 'openai_like', 'my-model', undefined],
  ['custom_openai', 'openai_like', 'my-model', undefined],
]

function expectedCost(priceProvider: string, model: string): number {
  const price = calcPrice({ input_tokens: 1_000_000, output_tokens: 1_000_000 }, model, { provider: findProvider({ providerId: priceProvider })! })
  return price!.total_price
}

describe('the OpenAI-compatible family', () => {
  it.each(family)('routes %s/ models from the library to the server in its base variable, with the key of its key variable', async (prefix, provider, model, priceProvider) => {
    const fake = await openAIFake()
    fake.enqueue({ kind: 'chat', content: 'routed', usage: million })
    const descriptor = descriptorForPrefix(prefix)!
    const keyVariable = descriptor.keyVariables[0]
    const baseVariable = descriptor.baseVariables[0]
    // openai_like has no variables of its own: it is built from api_base and api_key, as a proxy config does.
    const providers = baseVariable
      ? defaultProviders({ [keyVariable ?? 'UNUSED']: `key-of-${provider}`, [baseVariable]: fake.url })
      : { [provider]: descriptor.create({ apiKey: `key-of-${provider}`, apiBase: fake.url, environment: {} }) }
    const recorder = createRecorder()
    const client = createClient({ providers }).use(recorder.layer)
    cleanups.push(() => client.close())
    const reply = await client.chat({ model: `${prefix}/${model}`, messages })
    expect(reply.choices[0]!.message.content).toBe('routed')
    const request = fake.requests[0]!
    expect(request.path).toBe('/v1/chat/completions')
    expect(request.body.model).toBe(model)
    expect(request.headers.authorization).toBe(keyVariable || !baseVariable ? `Bearer key-of-${provider}` : 'Bearer fake-api-key')
    const event = recorder.events[0]!
    expect(event.provider).toBe(provider)
    if (priceProvider) {
      expect(event.cost!.total).toBeCloseTo(expectedCost(priceProvider, model), 10)
    } else {
      expect(event.cost).toBeUndefined()
      expect(event.costUnknownReason).toContain(`No price data for provider "${provider}"`)
    }
  })

  it.each(family)('routes litellm_params.model: %s/... in a proxy config to its api_base with its api_key', async (prefix, provider, model, priceProvider) => {
    const fake = await openAIFake()
    fake.enqueue({ kind: 'chat', content: 'proxied', usage: million })
    const seen: Context[] = []
    const watch: Middleware = async function watch(ctx, next) {
      try {
        await next()
      } finally {
        seen.push(ctx)
      }
    }
    const config = parseConfig({ model_list: [{ model_name: 'any', litellm_params: { model: `${prefix}/${model}`, api_base: fake.url, api_key: `key-of-${provider}` } }] })
    const proxy = await createProxyServer({ config, middleware: [watch] })
    const { url } = await proxy.listen({ port: 0 })
    cleanups.push(() => proxy.close())
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 })
    const reply = await client.chat.completions.create({ model: 'any', messages })
    expect(reply.choices[0]!.message.content).toBe('proxied')
    const request = fake.requests[0]!
    expect(request.path).toBe('/v1/chat/completions')
    expect(request.body.model).toBe(model)
    expect(request.headers.authorization).toBe(`Bearer key-of-${provider}`)
    expect(seen[0]!.provider).toBe(provider)
    if (priceProvider) expect(seen[0]!.cost!.total).toBeCloseTo(expectedCost(priceProvider, model), 10)
    else expect(seen[0]!.cost).toBeUndefined()
  })

  it('reaches Ollama’s OpenAI-compatible /v1 when api_base is the server’s root, as LiteLLM configs write it', async () => {
    const fake = await openAIFake()
    const root = fake.url.replace(/\/v1$/, '')
    const client = createClient({ providers: defaultProviders({ OLLAMA_API_BASE: root }) })
    cleanups.push(() => client.close())
    await client.chat({ model: 'ollama_chat/llama3.2', messages })
    expect(fake.requests[0]!.path).toBe('/v1/chat/completions')
    expect(fake.requests[0]!.headers.authorization).toBe('Bearer ollama')
  })

  it('reads Mistral’s variables as LiteLLM’s chat does: MISTRAL_AZURE_API_KEY before MISTRAL_API_KEY, MISTRAL_AZURE_API_BASE with /v1 appended', async () => {
    const fake = await openAIFake()
    const root = fake.url.replace(/\/v1$/, '')
    const client = createClient({ providers: defaultProviders({ MISTRAL_API_KEY: 'mistral-key', MISTRAL_AZURE_API_BASE: root }) })
    cleanups.push(() => client.close())
    await client.chat({ model: 'mistral/mistral-small-latest', messages })
    expect(fake.requests[0]!.path).toBe('/v1/chat/completions')
    expect(fake.requests[0]!.headers.authorization).toBe('Bearer mistral-key')
    const both = defaultProviders({ MISTRAL_AZURE_API_KEY: 'azure-mistral-key', MISTRAL_API_KEY: 'mistral-key', MISTRAL_AZURE_API_BASE: fake.url })
    const preferred = createClient({ providers: both })
    cleanups.push(() => preferred.close())
    await preferred.chat({ model: 'mistral/mistral-small-latest', messages })
    expect(fake.requests[1]!.headers.authorization).toBe('Bearer azure-mistral-key')
    expect(defaultProviders({ MISTRAL_API_KEY: 'k' }).mistral!.apiBase).toBe('https://api.mistral.ai/v1')
  })

  it('never sends OPENAI_API_KEY to another provider: a member without its own key fails naming its variable', () => {
    const groq = descriptorForPrefix('groq')!
    expect(() => groq.create({ environment: { OPENAI_API_KEY: 'sk-openai-secret' } })).toThrow(/groq needs an API key: set GROQ_API_KEY/)
    expect(() => descriptorForPrefix('hosted_vllm')!.create({ environment: {} })).toThrow(/hosted_vllm needs the base URL of your server: set HOSTED_VLLM_API_BASE/)
  })

  it('uses the default base URL LiteLLM documents when no base is given', () => {
    const providers = defaultProviders({ GROQ_API_KEY: 'gsk', TOGETHERAI_API_KEY: 'tg', FIREWORKS_AI_API_KEY: 'fw', PERPLEXITY_API_KEY: 'pp' })
    expect(providers.groq!.apiBase).toBe('https://api.groq.com/openai/v1')
    expect(providers.together_ai!.apiBase).toBe('https://api.together.xyz/v1')
    expect(providers.fireworks_ai!.apiBase).toBe('https://api.fireworks.ai/inference/v1')
    expect(providers.perplexity!.apiBase).toBe('https://api.perplexity.ai')
    expect(Object.keys(providers).sort()).toEqual(['fireworks_ai', 'groq', 'mock', 'perplexity', 'together_ai'])
  })

  it('refuses a proxy config naming a server-less family member without api_base, naming the path', async () => {
    const config = parseConfig({ model_list: [{ model_name: 'vllm', litellm_params: { model: 'hosted_vllm/Qwen/Qwen3-8B' } }] })
    await expect(createProxyServer({ config })).rejects.toThrow(/model_list\[0\]\.litellm_params \(model hosted_vllm\/Qwen\/Qwen3-8B\): hosted_vllm needs the base URL.*set api_base/)
  })

  it('names each provider in OpenTelemetry spans by its descriptor (gen_ai.provider.name)', () => {
    expect(['openai', 'gemini', 'groq', 'mistral', 'xai', 'deepseek', 'perplexity', 'ollama_chat'].map(genAiProviderName)).toEqual([
      'openai',
      'gcp.gemini',
      'groq',
      'mistral_ai',
      'x_ai',
      'deepseek',
      'perplexity',
      'ollama',
    ])
  })

  it('serves <provider>/* from llm-onion serve’s default config when the provider’s variables are set', async () => {
    const fake = await openAIFake()
    const environment = { GROQ_API_KEY: 'gsk-default', GROQ_API_BASE: fake.url, OLLAMA_API_BASE: 'http://127.0.0.1:9' }
    const config = parseConfig(defaultConfig(environment), { environment })
    expect(config.models.map((deployment) => deployment.modelName)).toEqual(['mock/*', 'groq/*', 'ollama/*'])
    const proxy = await createProxyServer({ config })
    const { url } = await proxy.listen({ port: 0 })
    cleanups.push(() => proxy.close())
    await new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 }).chat.completions.create({ model: 'groq/llama-3.1-8b-instant', messages })
    expect(fake.requests[0]!.body.model).toBe('llama-3.1-8b-instant')
    expect(fake.requests[0]!.headers.authorization).toBe('Bearer gsk-default')
  })
})
