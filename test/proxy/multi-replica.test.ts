/**
 * Replicas of `llm-onion serve` sharing one Redis, driven with the official `openai` client: the
 * guide's request counter (examples/proxy/request_counter.ts, on the shared store) counts every
 * request of two replicas, one of them running two workers; and a deployment cooled down by one
 * replica is skipped by the other.
 */
import OpenAI from 'openai'
import { afterAll, describe, expect, it } from 'vitest'
import { startOpenAIFake, type OpenAIFake } from '../../src/testing/openai-server'
import { inspector, machineRedisUrl, removePrefix, startThrowawayRedis, uniquePrefix } from '../fakes/redis-server'
import { spawnProxy, type SpawnedProxy } from './fixtures/spawn-proxy'

const started: SpawnedProxy[] = []
const fakes: OpenAIFake[] = []
const prefix = uniquePrefix('replicas')
const redis = inspector()

afterAll(async () => {
  await Promise.all(started.map((proxy) => proxy.stop()))
  await Promise.all(fakes.map((fake) => fake.close()))
  await removePrefix(redis, prefix)
  redis.disconnect()
})

async function replica(args: string[], env: Record<string, string>): Promise<{ proxy: SpawnedProxy; openai: OpenAI }> {
  const proxy = await spawnProxy(args, { REDIS_URL: machineRedisUrl, ...env })
  started.push(proxy)
  return { proxy, openai: new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'unused', maxRetries: 0 }) }
}

describe('replicas sharing one Redis', () => {
  it("count every request in the guide's request counter: one replica with two workers, one with one", async () => {
    const env = { LLM_ONION_REDIS_PREFIX: `${prefix}counter:` }
    const [first, second] = await Promise.all([
      replica(['--config', 'examples/proxy/shared-state.yaml', '--workers', '2'], env),
      replica(['--config', 'examples/proxy/shared-state.yaml'], env),
    ])
    expect(first.proxy.output()).toContain('shared state: Redis at 127.0.0.1:6379 (from REDIS_URL)')
    const requests = 40
    await Promise.all(
      Array.from({ length: requests }, (_, index) =>
        (index % 2 === 0 ? first : second).openai.chat.completions.create({ model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: `request ${index}` }] }),
      ),
    )
    // SIGTERM flushes the counter's last increments; then the count is final.
    expect(await first.proxy.stop()).toBe(0)
    expect(await second.proxy.stop()).toBe(0)
    expect(await redis.get(`${prefix}counter:request_count`)).toBe(String(requests))
    // Three processes printed counts, numbered from the one shared counter.
    const printed = [first, second].flatMap(({ proxy }) => [...proxy.output().matchAll(/\[RequestCounter\] request #(\d+) \(gpt-3\.5-turbo, served by process (\d+)\)/g)])
    expect(printed).toHaveLength(requests)
    expect(new Set(printed.map((match) => Number(match[1]))).size).toBe(requests)
    expect(new Set(printed.map((match) => match[2])).size).toBe(3)
  }, 60_000)

  it('honour a cooldown that another replica set: the failing deployment is not called again', async () => {
    const flaky = await startOpenAIFake()
    fakes.push(flaky)
    for (let index = 0; index < 50; index++) flaky.enqueue({ kind: 'error', status: 503, message: 'overloaded' })
    const env = { LLM_ONION_REDIS_PREFIX: `${prefix}cooldown:`, FLAKY_API_BASE: flaky.url }
    const [first, second] = await Promise.all([replica(['--config', 'test/proxy/fixtures/cooldown.yaml'], env), replica(['--config', 'test/proxy/fixtures/cooldown.yaml'], env)])
    expect(first.proxy.output()).toContain('routing: simple-shuffle, cooldown 60 s after more than 0 failure(s)')
    const ask = (openai: OpenAI) => openai.chat.completions.create({ model: 'smart', messages: [{ role: 'user', content: 'route me' }] })

    // The first replica tries the flaky deployment (weight 1000 to 1), which fails: it falls back, and cools it down.
    let reply = await ask(first.openai)
    for (let tries = 0; flaky.requests.length === 0 && tries < 10; tries++) reply = await ask(first.openai)
    expect(flaky.requests).toHaveLength(1)
    expect(reply.choices[0]?.message.content).toBe('from the healthy deployment')
    expect(Number(await redis.get(`${prefix}cooldown:cooldown:until:flaky`))).toBeGreaterThan(Date.now())

    // The second replica never calls it while the cooldown lasts, though it would pick it 1000 times in 1001.
    for (let index = 0; index < 10; index++) expect((await ask(second.openai)).choices[0]?.message.content).toBe('from the healthy deployment')
    expect(flaky.requests).toHaveLength(1)
  }, 60_000)

  it('planted secret: the Redis password (in REDIS_URL or REDIS_PASSWORD) is in no output, reply or error, while the count works', async () => {
    const password = 'planted-redis-password-5512'
    const server = await startThrowawayRedis({ password })
    try {
      const byUrl = await replica(['--config', 'examples/proxy/shared-state.yaml'], { REDIS_URL: `redis://default:${password}@127.0.0.1:${server.port}` })
      const byHost = await replica(['--config', 'examples/proxy/shared-state.yaml'], { REDIS_URL: '', REDIS_HOST: '127.0.0.1', REDIS_PORT: String(server.port), REDIS_PASSWORD: password })
      const texts: string[] = []
      for (const { openai } of [byUrl, byHost]) {
        const reply = await openai.chat.completions.create({ model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'count me' }] })
        texts.push(JSON.stringify(reply))
        texts.push(String(await openai.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }).catch((error: Error) => error.message)))
      }
      expect(await byUrl.proxy.stop()).toBe(0)
      expect(await byHost.proxy.stop()).toBe(0)
      const counted = inspector(`redis://default:${password}@127.0.0.1:${server.port}`)
      expect(await counted.get('llm-onion:request_count')).toBe('2')
      counted.disconnect()
      expect(byUrl.proxy.output()).toContain(`shared state: Redis at 127.0.0.1:${server.port} (from REDIS_URL)`)
      expect(byHost.proxy.output()).toContain(`shared state: Redis at 127.0.0.1:${server.port} (from REDIS_HOST)`)
      for (const text of [...texts, byUrl.proxy.output(), byHost.proxy.output()]) expect(text).not.toContain(password)
    } finally {
      await server.stop()
    }
  }, 60_000)
})
