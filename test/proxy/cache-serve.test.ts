/**
 * `llm-onion serve` with LiteLLM's `litellm_settings.cache: true`, driven by the official `openai`
 * client against an upstream OpenAI fake: the second identical request is answered from the cache
 * (the upstream sees one), streams replay, embedding batches ask upstream for new inputs only, a
 * request's `cache` controls work and never go upstream, and `/metrics` counts the hits and the
 * saved cost. On Redis (`cache_params.type: redis`), nothing stored holds a key (planted secret).
 */
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startOpenAIFake, type OpenAIFake } from '../../src/testing/openai-server'
import { inspector, removePrefix, uniquePrefix } from '../fakes/redis-server'
import { spawnProxy, type SpawnedProxy } from './fixtures/spawn-proxy'

const masterKey = 'sk-plant-cache-master-6a0e4d'
const upstreamKey = 'sk-plant-cache-upstream-93b1f7'
const noRedis = { REDIS_URL: '', REDIS_HOST: '' }
const ask = (content: string) => [{ role: 'user' as const, content }]

async function started(config: string, upstream: OpenAIFake, env: Record<string, string> = {}): Promise<{ proxy: SpawnedProxy; openai: OpenAI }> {
  const proxy = await spawnProxy(['--config', config], { ...noRedis, CACHE_UPSTREAM_BASE: upstream.url, CACHE_UPSTREAM_KEY: upstreamKey, CACHE_MASTER_KEY: masterKey, ...env })
  return { proxy, openai: new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: masterKey, maxRetries: 0 }) }
}

describe('serve with cache: true (in memory)', () => {
  let upstream: OpenAIFake
  let proxy: SpawnedProxy
  let openai: OpenAI
  beforeAll(async () => {
    upstream = await startOpenAIFake()
    ;({ proxy, openai } = await started('test/proxy/fixtures/cache.yaml', upstream))
  })
  afterAll(async () => {
    await proxy?.stop()
    await upstream?.close()
  })

  it('answers the second identical request from the cache: the upstream sees one', async () => {
    const before = upstream.requests.length
    upstream.enqueue({ kind: 'chat', content: 'Cached by the proxy.' })
    const first = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: ask('proxy cache'), temperature: 0 })
    const second = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: ask('proxy cache'), temperature: 0 })
    expect(upstream.requests.length - before).toBe(1)
    expect(second.choices[0]!.message.content).toBe('Cached by the proxy.')
    expect(second.id).toBe(first.id)
    expect(second.usage).toEqual(first.usage)
  })

  it('replays a stream, and asks upstream only for the new inputs of an embedding batch', async () => {
    const before = upstream.requests.length
    upstream.enqueue({ kind: 'chat', content: 'A stream from the cache.' })
    const read = async () => {
      let text = ''
      for await (const chunk of await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: ask('stream it'), stream: true })) text += chunk.choices[0]?.delta?.content ?? ''
      return text
    }
    expect([await read(), await read()]).toEqual(['A stream from the cache.', 'A stream from the cache.'])
    await openai.embeddings.create({ model: 'text-embedding-3-small', input: ['one', 'two'] })
    const mixed = await openai.embeddings.create({ model: 'text-embedding-3-small', input: ['two', 'three'] })
    expect(mixed.data).toHaveLength(2)
    expect(upstream.requests.slice(before).map((request) => request.body.input ?? 'chat')).toEqual(['chat', ['one', 'two'], ['three']])
  })

  it("honours a request's cache controls, which never reach the upstream", async () => {
    const before = upstream.requests.length
    const request = { model: 'gpt-4o-mini', messages: ask('controls'), cache: { 'no-cache': true } } as OpenAI.ChatCompletionCreateParamsNonStreaming
    await openai.chat.completions.create(request)
    await openai.chat.completions.create(request)
    await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: ask('controls') })
    expect(upstream.requests.length - before).toBe(2)
    for (const sent of upstream.requests.slice(before)) expect(sent.body).not.toHaveProperty('cache')
  })

  it('counts hits and the saved cost in /metrics, and names the cache in the start-up summary', async () => {
    const text = await (await fetch(`${proxy.url}/metrics`, { headers: { authorization: `Bearer ${masterKey}` } })).text()
    const hits = text.split('\n').filter((line) => line.startsWith('llm_onion_cache_hits_total{')).map((line) => Number(line.split(' ')[1]))
    const saved = text.split('\n').filter((line) => line.startsWith('llm_onion_cache_saved_cost_usd_total{')).map((line) => Number(line.split(' ')[1]))
    expect(hits.reduce((sum, value) => sum + value, 0)).toBeGreaterThanOrEqual(3)
    expect(saved.reduce((sum, value) => sum + value, 0)).toBeGreaterThan(0)
    expect(proxy.output()).toContain('cache(in memory, ttl 600 s)')
  })
})

describe('serve with cache_params.type: redis', () => {
  const prefix = uniquePrefix('cache-serve')
  const redis = inspector()
  let upstream: OpenAIFake
  let proxy: SpawnedProxy
  let openai: OpenAI
  beforeAll(async () => {
    upstream = await startOpenAIFake()
    ;({ proxy, openai } = await started('test/proxy/fixtures/cache-redis.yaml', upstream, { LLM_ONION_REDIS_PREFIX: prefix, CACHE_NAMESPACE: 'serve-test' }))
  })
  afterAll(async () => {
    await proxy?.stop()
    await upstream?.close()
    await removePrefix(redis, prefix)
    redis.disconnect()
  })

  it('stores on Redis under the namespace, with the ttl, and no key in what it stores', async () => {
    upstream.enqueue({ kind: 'chat', content: `echoing ${upstreamKey} and ${masterKey}` })
    const first = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: ask(`my key is ${masterKey}`) })
    const second = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: ask(`my key is ${masterKey}`) })
    expect(upstream.requests).toHaveLength(1)
    expect(first.choices[0]!.message.content).toBe(`echoing ${upstreamKey} and ${masterKey}`)
    // The entry was scrubbed before it was stored, so a hit replays the reply without the keys.
    expect(second.choices[0]!.message.content).toBe('echoing [redacted] and [redacted]')
    const keys = await redis.keys(`${prefix}cache:*`)
    expect(keys).toHaveLength(1)
    expect(keys[0]).toMatch(new RegExp(`^${prefix}cache:serve-test:[0-9a-f]{64}$`))
    expect(await redis.pttl(keys[0]!)).toBeLessThanOrEqual(120_000)
    const stored = await redis.get(keys[0]!)
    expect(stored).toContain('[redacted]')
    for (const secret of [masterKey, upstreamKey]) {
      expect(stored).not.toContain(secret)
      expect(keys[0]).not.toContain(secret)
    }
  })
})
