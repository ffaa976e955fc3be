import { afterEach, describe, expect, it } from 'vitest'
import { createClient, gemini, type Client } from '../../src/index'
import { defaultProviders } from '../../src/providers/defaults'
import { startGeminiFake, type GeminiFake } from '../../src/testing/gemini-server'
import { startOpenAIFake, type OpenAIFake } from '../../src/testing/openai-server'

const messages = [{ role: 'user' as const, content: 'Hi' }]
const opened: Array<OpenAIFake | GeminiFake | Client> = []
afterEach(async () => {
  for (const resource of opened.splice(0).reverse()) await resource.close()
})

describe('default providers from the environment', () => {
  it('has only the mock provider when no key is set', () => {
    expect(Object.keys(defaultProviders({}))).toEqual(['mock'])
  })

  it('registers openai when OPENAI_API_KEY is set, at OPENAI_BASE_URL, with that key', async () => {
    const fake = await startOpenAIFake()
    opened.push(fake)
    const providers = defaultProviders({ OPENAI_API_KEY: 'sk-from-env', OPENAI_BASE_URL: fake.url })
    expect(Object.keys(providers).sort()).toEqual(['mock', 'openai'])
    expect(providers.openai!.apiBase).toBe(fake.url)
    const client = createClient({ providers })
    opened.push(client)
    await client.chat({ model: 'openai/gpt-4o-mini', messages })
    expect(fake.requests[0]!.headers.authorization).toBe('Bearer sk-from-env')
  })

  it.each([
    ['GEMINI_API_KEY', { GEMINI_API_KEY: 'gemini-key' }],
    ['GOOGLE_API_KEY', { GOOGLE_API_KEY: 'google-key' }],
  ])('registers gemini on Google’s API when %s is set', (_name, environment) => {
    const providers = defaultProviders(environment)
    expect(Object.keys(providers).sort()).toEqual(['gemini', 'mock'])
    expect(providers.gemini!.name).toBe('gemini')
    expect(providers.gemini!.apiBase).toBe('https://generativelanguage.googleapis.com')
  })

  it('switches from the mock to openai and gemini by the model name alone', async () => {
    const openaiFake = await startOpenAIFake()
    const geminiFake = await startGeminiFake()
    opened.push(openaiFake, geminiFake)
    const providers = defaultProviders({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openaiFake.url, GEMINI_API_KEY: 'gm-test' })
    const client = createClient({ providers: { ...providers, gemini: gemini({ apiKey: 'gm-test', baseUrl: geminiFake.url }) } })
    opened.push(client)
    const served: Array<string | undefined> = []
    client.use(async (ctx, next) => {
      await next()
      served.push(ctx.provider)
    })
    for (const model of ['mock/echo', 'gpt-4o-mini', 'openai/gpt-4o-mini', 'gemini-2.5-flash', 'gemini/gemini-2.5-flash']) {
      const reply = await client.chat({ model, messages })
      expect(reply.choices[0]!.message.content).toBeTruthy()
    }
    expect(served).toEqual(['mock', 'openai', 'openai', 'gemini', 'gemini'])
  })
})
