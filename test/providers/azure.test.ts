/**
 * Azure OpenAI on the `openai` SDK's AzureOpenAI client: deployments at
 * `/openai/deployments/{deployment}/...?api-version=`, the key in `api-key`, LiteLLM's AZURE_API_KEY /
 * AZURE_API_BASE / AZURE_API_VERSION, from the library and from a proxy config.
 */
import OpenAI from 'openai'
import { afterEach, describe, expect, it } from 'vitest'
import { azure, createClient, RateLimitError } from 'llm-onion'
import { createProxyServer, parseConfig } from 'llm-onion/proxy'
import { createRecorder } from 'llm-onion/testing'
import { defaultProviders } from '../../src/providers/defaults'
import { defaultAzureApiVersion } from '../../src/providers/azure/provider'
import { startOpenAIFake, type OpenAIFake } from '../../src/testing/openai-server'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** The fake and its root, which is what Azure calls the endpoint. */
async function azureFake(): Promise<{ fake: OpenAIFake; endpoint: string }> {
  const fake = await startOpenAIFake()
  cleanups.push(() => fake.close())
  return { fake, endpoint: fake.url.replace(/\/v1$/, '') }
}

const messages = [{ role: 'user' as const, content: 'Hi Azure' }]

describe('azure', () => {
  it('calls the deployment named by the model at Azure’s path, with api-version and the api-key header, from AZURE_* variables', async () => {
    const { fake, endpoint } = await azureFake()
    fake.enqueue({ kind: 'chat', content: 'from azure' })
    const providers = defaultProviders({ AZURE_API_KEY: 'azure-secret-key', AZURE_API_BASE: endpoint, AZURE_API_VERSION: '2024-08-01-preview' })
    expect(Object.keys(providers).sort()).toEqual(['azure', 'mock'])
    const recorder = createRecorder()
    const client = createClient({ providers }).use(recorder.layer)
    cleanups.push(() => client.close())
    const reply = await client.chat({ model: 'azure/my-gpt-4o', messages })
    expect(reply.choices[0]!.message.content).toBe('from azure')
    const request = fake.requests[0]!
    expect(request.path).toBe('/openai/deployments/my-gpt-4o/chat/completions?api-version=2024-08-01-preview')
    expect(request.headers['api-key']).toBe('azure-secret-key')
    expect(request.headers.authorization).toBeUndefined()
    expect(recorder.events[0]!.provider).toBe('azure')
    expect(recorder.events[0]!.apiBase).toBe(`${endpoint}/openai`)
  })

  it('streams and embeds through deployments too', async () => {
    const { fake, endpoint } = await azureFake()
    fake.enqueue({ kind: 'chat', content: 'one two three' })
    const client = createClient({ providers: { azure: azure({ apiKey: 'k', apiBase: endpoint }) } })
    cleanups.push(() => client.close())
    let text = ''
    for await (const chunk of client.stream({ model: 'azure/chat-deployment', messages })) text += chunk.choices[0]?.delta?.content ?? ''
    expect(text).toBe('one two three')
    await client.embed({ model: 'azure/embedding-deployment', input: 'hello' })
    expect(fake.requests.map((request) => request.path)).toEqual([
      `/openai/deployments/chat-deployment/chat/completions?api-version=${defaultAzureApiVersion}`,
      `/openai/deployments/embedding-deployment/embeddings?api-version=${defaultAzureApiVersion}`,
    ])
  })

  it('maps Azure’s errors onto the library’s and never shows the key', async () => {
    const { fake, endpoint } = await azureFake()
    fake.enqueue({ kind: 'error', status: 429, message: 'Rate limit for azure-secret-key exceeded' })
    const client = createClient({ providers: { azure: azure({ apiKey: 'azure-secret-key', apiBase: endpoint }) } })
    cleanups.push(() => client.close())
    const error = await client.chat({ model: 'azure/d', messages }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(RateLimitError)
    expect((error as Error).message).not.toContain('azure-secret-key')
  })

  it('serves litellm_params { model: azure/<deployment>, api_base, api_version, api_key } in a proxy config', async () => {
    const { fake, endpoint } = await azureFake()
    fake.enqueue({ kind: 'chat', content: 'proxied azure' })
    const config = parseConfig({
      model_list: [{ model_name: 'gpt-4o', litellm_params: { model: 'azure/prod-gpt-4o', api_base: endpoint, api_version: '2025-01-01-preview', api_key: 'azure-proxy-key' } }],
    })
    const proxy = await createProxyServer({ config })
    const { url } = await proxy.listen({ port: 0 })
    cleanups.push(() => proxy.close())
    const reply = await new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 }).chat.completions.create({ model: 'gpt-4o', messages })
    expect(reply.choices[0]!.message.content).toBe('proxied azure')
    expect(fake.requests[0]!.path).toBe('/openai/deployments/prod-gpt-4o/chat/completions?api-version=2025-01-01-preview')
    expect(fake.requests[0]!.headers['api-key']).toBe('azure-proxy-key')
  })

  it('refuses to start without an endpoint, naming AZURE_API_BASE and api_base', async () => {
    expect(() => azure({ apiKey: 'k' }, {})).toThrow(/set AZURE_API_BASE or pass api_base/)
    expect(() => azure({ apiBase: 'https://r.openai.azure.com' }, {})).toThrow(/set AZURE_API_KEY/)
    const config = parseConfig({ model_list: [{ model_name: 'a', litellm_params: { model: 'azure/d', api_key: 'k' } }] })
    const saved = { base: process.env.AZURE_API_BASE, endpoint: process.env.AZURE_OPENAI_ENDPOINT }
    delete process.env.AZURE_API_BASE
    delete process.env.AZURE_OPENAI_ENDPOINT
    try {
      await expect(createProxyServer({ config })).rejects.toThrow(/model_list\[0\]\.litellm_params \(model azure\/d\).*set api_base/)
    } finally {
      if (saved.base !== undefined) process.env.AZURE_API_BASE = saved.base
      if (saved.endpoint !== undefined) process.env.AZURE_OPENAI_ENDPOINT = saved.endpoint
    }
  })
})
