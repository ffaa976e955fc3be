/**
 * cache() on the machine's Redis, under a prefix of this file's own (removed afterwards): two
 * clients with their own connections, as two processes have, share every entry; with REDIS_URL set
 * and no shared store, the layer opens Redis itself; entries expire with their time to live; and a
 * Redis that cannot be reached makes every call a miss, never a failure.
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { createClient, redisStore, type Client } from 'llm-onion'
import { cache } from 'llm-onion/middleware'
import { createRecorder } from 'llm-onion/testing'
import { freePort, inspector, machineRedisUrl, removePrefix, uniquePrefix } from '../fakes/redis-server'
import { countingMock, readAll } from './cache-test-kit'

const prefix = uniquePrefix('cache')
const redis = inspector()
const clients: Client[] = []
const stores: Array<{ close(): Promise<void> }> = []
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close()
  for (const store of stores.splice(0)) await store.close()
  vi.unstubAllEnvs()
})
afterAll(async () => {
  await removePrefix(redis, prefix)
  await removePrefix(redis, `llm-onion:cache:${prefix}`)
  redis.disconnect()
})

/** A client of its own Redis connection (one "process"), with cache() on the shared store. */
function processOnRedis() {
  const provider = countingMock()
  const recorder = createRecorder()
  const store = redisStore({ url: machineRedisUrl, prefix })
  stores.push(store)
  const client = createClient({ providers: { mock: provider }, store }).use(recorder.layer, cache())
  clients.push(client)
  return { client, provider, recorder }
}

const ask = (content: string) => [{ role: 'user' as const, content }]

describe('cache() on Redis', () => {
  it('shares entries between two clients: what one stored, the other answers without its provider', async () => {
    const [first, second] = [processOnRedis(), processOnRedis()]
    const reply = await first.client.chat({ model: 'mock/echo', messages: ask('shared reply') })
    const chunks = await readAll(first.client.stream({ model: 'mock/echo', messages: ask('shared stream') }))
    const vectors = await first.client.embed({ model: 'mock/embed', input: ['shared', 'vectors'] })

    expect(await second.client.chat({ model: 'mock/echo', messages: ask('shared reply') })).toEqual(reply)
    expect(await readAll(second.client.stream({ model: 'mock/echo', messages: ask('shared stream') }))).toEqual(chunks)
    expect((await second.client.embed({ model: 'mock/embed', input: ['vectors', 'shared'] })).data.map((item) => item.embedding)).toEqual([vectors.data[1]!.embedding, vectors.data[0]!.embedding])
    expect(second.provider.calls).toEqual({ chat: 0, stream: 0, embed: 0 })
    expect(second.recorder.events.every((event) => event.cacheHit)).toBe(true)
  })

  it('stores each entry with its time to live, the request’s ttl winning', async () => {
    const { client } = processOnRedis()
    await client.chat({ model: 'mock/echo', messages: ask('ttl default') })
    await client.chat({ model: 'mock/echo', messages: ask('ttl asked'), cache: { ttl: 30 } })
    const keys = await redis.keys(`${prefix}cache:*`)
    const ttls = (await Promise.all(keys.map((key) => redis.pttl(key)))).sort((a, b) => a - b)
    expect(ttls.length).toBeGreaterThanOrEqual(2)
    expect(ttls[0]).toBeGreaterThan(20_000)
    expect(ttls[0]).toBeLessThanOrEqual(30_000)
    expect(ttls.at(-1)).toBeLessThanOrEqual(600_000)
    expect(ttls.at(-1)).toBeGreaterThan(590_000)
  })

  it('opens Redis at REDIS_URL itself when the client has no shared store, and shares it across clients', async () => {
    vi.stubEnv('REDIS_URL', machineRedisUrl)
    const providers = [countingMock(), countingMock()]
    for (const provider of providers) clients.push(createClient({ providers: { mock: provider } }).use(cache({ namespace: prefix })))
    await clients[0]!.chat({ model: 'mock/echo', messages: ask('from the environment') })
    await clients[1]!.chat({ model: 'mock/echo', messages: ask('from the environment') })
    expect(providers.map((provider) => provider.calls.chat)).toEqual([1, 0])
    expect(await redis.keys(`llm-onion:cache:${prefix}:*`)).toHaveLength(1)
    expect(clients[0]!.services.store.kind).toBe('memory')
  })

  it('makes every call a miss, never a failure, while Redis cannot be reached, and reports it as an error of the cache hook', async () => {
    const port = await freePort()
    const store = redisStore({ url: `redis://127.0.0.1:${port}`, onUnavailable: 'fail-closed', connectTimeoutMs: 200, report: () => {} })
    stores.push(store)
    const provider = countingMock()
    const reported: string[] = []
    const client = createClient({ providers: { mock: provider }, onHookError: (error, hook) => reported.push(`${hook}: ${(error as Error).name}`) }).use(cache({ store }))
    clients.push(client)
    await client.chat({ model: 'mock/echo', messages: ask('no redis') })
    await client.chat({ model: 'mock/echo', messages: ask('no redis') })
    expect(provider.calls.chat).toBe(2)
    expect(reported.length).toBeGreaterThan(0)
    expect(new Set(reported)).toEqual(new Set(['cache: ServiceUnavailableError']))
  })
})
