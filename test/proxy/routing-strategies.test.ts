/**
 * LiteLLM's routing strategies and cooldowns in the proxy's router, each picking as docs/proxy.md
 * says: least-busy sends a call to the deployment with fewer calls in flight, latency-based to the
 * faster one once both are measured, usage-based keeps each deployment's rpm (then answers 429),
 * and a deployment that fails more than allowed_fails times cools down. The proxy runs in-process
 * with its default memory store; the shared-Redis behaviour is in multi-replica.test.ts.
 */
import OpenAI from 'openai'
import { afterEach, describe, expect, it } from 'vitest'
import { createProxyServer, parseConfig, type ProxyServer } from 'llm-onion/proxy'
import { startOpenAIFake, type OpenAIFake } from '../../src/testing/openai-server'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const messages = [{ role: 'user' as const, content: 'route me' }]
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function proxyWith(config: Record<string, unknown>): Promise<{ proxy: ProxyServer; openai: OpenAI }> {
  const proxy = await createProxyServer({ config: parseConfig(config) })
  const { url } = await proxy.listen({ port: 0 })
  cleanups.push(() => proxy.close())
  return { proxy, openai: new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 }) }
}

const deployment = (name: string, extra: Record<string, unknown> = {}, info: Record<string, unknown> = {}) => ({
  model_name: 'smart',
  litellm_params: { model: 'mock/smart', mock_response: `from ${name}`, ...extra },
  model_info: { id: name, ...info },
})

const replyOf = (reply: { choices: Array<{ message: { content: string | null } }> }) => reply.choices[0]?.message.content

describe('routing strategies', () => {
  it('least-busy: a call goes to the deployment with fewer calls in flight', async () => {
    const { proxy } = await proxyWith({
      model_list: [deployment('a', { latency_ms: 150 }), deployment('b', { latency_ms: 150 })],
      router_settings: { routing_strategy: 'least-busy' },
    })
    for (let round = 0; round < 6; round++) {
      const first = proxy.client.chat({ model: 'smart', messages })
      await pause(40) // the first call is in flight
      const second = proxy.client.chat({ model: 'smart', messages })
      const replies = (await Promise.all([first, second])).map(replyOf)
      expect(new Set(replies)).toEqual(new Set(['from a', 'from b']))
    }
  })

  it('latency-based-routing: tries each unmeasured deployment, then sends every call to the faster one', async () => {
    const { proxy } = await proxyWith({
      model_list: [deployment('slow', { latency_ms: 400 }), deployment('fast')],
      router_settings: { routing_strategy: 'latency-based-routing' },
    })
    // A deployment never measured counts 0 seconds, so the first two calls measure both.
    const warmUp = [replyOf(await proxy.client.chat({ model: 'smart', messages })), replyOf(await proxy.client.chat({ model: 'smart', messages }))]
    expect(new Set(warmUp)).toEqual(new Set(['from slow', 'from fast']))
    for (let index = 0; index < 10; index++) expect(replyOf(await proxy.client.chat({ model: 'smart', messages }))).toBe('from fast')
    expect((await proxy.store.readWindow('routing:latency:fast', 60_000)).count).toBe(11)
    expect((await proxy.store.readWindow('routing:latency:slow', 60_000)).count).toBe(1)
  })

  it('latency-based-routing with lowest_latency_buffer: spreads calls over deployments within the buffer', async () => {
    const { proxy } = await proxyWith({
      model_list: [deployment('a', { latency_ms: 20 }), deployment('b', { latency_ms: 20 })],
      router_settings: { routing_strategy: 'latency-based-routing', routing_strategy_args: { lowest_latency_buffer: 1000 } },
    })
    const replies = []
    for (let index = 0; index < 30; index++) replies.push(replyOf(await proxy.client.chat({ model: 'smart', messages })))
    // Within 1,001 times the fastest, both stay in the draw; without the buffer the slower of the two would never be picked again.
    expect(replies.filter((reply) => reply === 'from a').length).toBeGreaterThan(2)
    expect(replies.filter((reply) => reply === 'from b').length).toBeGreaterThan(2)
  })

  it('usage-based-routing-v2: keeps each deployment within its rpm, then answers 429 with retry-after', async () => {
    // Counts are per minute: start well inside one.
    const left = 60_000 - (Date.now() % 60_000)
    if (left < 5_000) await pause(left + 50)
    const { openai } = await proxyWith({
      model_list: [deployment('a', { rpm: 3 }), deployment('b', { rpm: 2 })],
      router_settings: { routing_strategy: 'usage-based-routing-v2' },
    })
    const replies = []
    for (let index = 0; index < 5; index++) replies.push(replyOf(await openai.chat.completions.create({ model: 'smart', messages })))
    expect(replies.filter((reply) => reply === 'from a')).toHaveLength(3)
    expect(replies.filter((reply) => reply === 'from b')).toHaveLength(2)
    const refused = await openai.chat.completions.create({ model: 'smart', messages }).catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError)
    const error = refused as InstanceType<typeof OpenAI.RateLimitError>
    expect(error.message).toContain('No deployments available for model "smart": every deployment has used its rpm / tpm limit for this minute')
    expect(Number(error.headers?.get('retry-after'))).toBeGreaterThan(0)
  })

  it('usage-based-routing: sends a call to the deployment with the fewest tokens used this minute', async () => {
    const { proxy } = await proxyWith({
      model_list: [deployment('a', { mock_response: 'many words '.repeat(30).trim() }), deployment('b', { mock_response: 'short' })],
      router_settings: { routing_strategy: 'usage-based-routing' },
    })
    const first = replyOf(await proxy.client.chat({ model: 'smart', messages }))
    // The other one has used no tokens yet; then b, whose replies are short, stays lowest.
    const second = replyOf(await proxy.client.chat({ model: 'smart', messages }))
    expect(new Set([first, second]).size).toBe(2)
    await pause(20) // the token counts are written in the background
    for (let index = 0; index < 5; index++) {
      expect(replyOf(await proxy.client.chat({ model: 'smart', messages }))).toBe('short')
      await pause(20)
    }
  })
})

describe('cooldowns', () => {
  async function flakyFake(replies: number): Promise<OpenAIFake> {
    const fake = await startOpenAIFake()
    cleanups.push(() => fake.close())
    for (let index = 0; index < replies; index++) fake.enqueue({ kind: 'error', status: 503, message: 'overloaded' })
    return fake
  }

  it('cools a deployment down after more than allowed_fails failures, then skips it until cooldown_time ends', async () => {
    const fake = await flakyFake(10)
    const { proxy } = await proxyWith({
      model_list: [
        { model_name: 'smart', litellm_params: { model: 'openai/gpt-4o', api_base: fake.url, api_key: 'sk-upstream', weight: 1000 }, model_info: { id: 'flaky' } },
        deployment('healthy', { weight: 1 }),
      ],
      router_settings: { allowed_fails: 1, cooldown_time: 0.4 },
    })
    for (let index = 0; index < 10; index++) expect(replyOf(await proxy.client.chat({ model: 'smart', messages }))).toBe('from healthy')
    // Two failures (one more than allowed_fails), then no more calls while it cools down.
    expect(fake.requests).toHaveLength(2)
    await pause(500)
    await proxy.client.chat({ model: 'smart', messages })
    expect(fake.requests).toHaveLength(3)
  })

  it('does not count a 400 (the request is wrong, not the deployment)', async () => {
    const fake = await startOpenAIFake()
    cleanups.push(() => fake.close())
    for (let index = 0; index < 5; index++) fake.enqueue({ kind: 'error', status: 400, message: 'bad request' })
    const { proxy } = await proxyWith({
      model_list: [{ model_name: 'strict', litellm_params: { model: 'openai/gpt-4o', api_base: fake.url, api_key: 'sk-upstream' }, model_info: { id: 'strict' } }],
      router_settings: { allowed_fails: 0, cooldown_time: 60 },
    })
    for (let index = 0; index < 3; index++) await expect(proxy.client.chat({ model: 'strict', messages })).rejects.toMatchObject({ status: 400 })
    expect(fake.requests).toHaveLength(3)
  })

  it('answers 429 with retry-after when every deployment of the model cools down', async () => {
    const fake = await flakyFake(5)
    const { openai } = await proxyWith({
      model_list: [{ model_name: 'only', litellm_params: { model: 'openai/gpt-4o', api_base: fake.url, api_key: 'sk-upstream' }, model_info: { id: 'only' } }],
      router_settings: { allowed_fails: 0, cooldown_time: 30 },
    })
    await expect(openai.chat.completions.create({ model: 'only', messages })).rejects.toBeInstanceOf(OpenAI.InternalServerError)
    const refused = (await openai.chat.completions.create({ model: 'only', messages }).catch((error: unknown) => error)) as InstanceType<typeof OpenAI.RateLimitError>
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError)
    expect(refused.message).toContain('No deployments available for model "only": all 1 are cooling down after failing more than allowed_fails (0) times within cooldown_time (30 s)')
    expect(Number(refused.headers?.get('retry-after'))).toBeGreaterThan(25)
    expect(fake.requests).toHaveLength(1)
  })

  it('is off with disable_cooldowns', async () => {
    const fake = await flakyFake(5)
    const { proxy } = await proxyWith({
      model_list: [{ model_name: 'flaky', litellm_params: { model: 'openai/gpt-4o', api_base: fake.url, api_key: 'sk-upstream' } }],
      router_settings: { allowed_fails: 0, disable_cooldowns: true },
    })
    for (let index = 0; index < 3; index++) await expect(proxy.client.chat({ model: 'flaky', messages })).rejects.toMatchObject({ status: 503 })
    expect(fake.requests).toHaveLength(3)
  })
})
