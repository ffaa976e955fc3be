/**
 * cache() with the mock provider: a repeated chat call, stream or embedding input is answered from
 * the cache without reaching the provider; streams replay their chunks; a batch with some inputs
 * cached asks the provider for the rest only; LiteLLM's per-request controls (`no-cache`,
 * `no-store`, `ttl`, `s-maxage`, `namespace`, `use-cache`) steer one call.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createClient, isValidationError, wrapChunkStream, type Client } from 'llm-onion'
import { cache, type CacheOptions } from 'llm-onion/middleware'
import { createRecorder } from 'llm-onion/testing'
import { closeAfterEach } from './layer-test-kit'
import { countingMock, readAll, textOf } from './cache-test-kit'

let client: Client | undefined
closeAfterEach(() => client)
afterEach(() => vi.unstubAllEnvs())

const ask = (content: string) => [{ role: 'user' as const, content }]

function cachedClient(options: CacheOptions = { store: 'memory' }) {
  const provider = countingMock()
  const recorder = createRecorder()
  client = createClient({ providers: { mock: provider } }).use(recorder.layer, cache(options))
  return { client, provider, recorder }
}

describe('cache(): chat', () => {
  it('answers the second identical call from the cache, without calling the provider', async () => {
    const { client, provider, recorder } = cachedClient()
    const first = await client.chat({ model: 'mock/echo', messages: ask('hello cache') })
    const second = await client.chat({ model: 'mock/echo', messages: ask('hello cache') })
    expect(provider.calls.chat).toBe(1)
    expect(second).toEqual(first)
    expect(recorder.events.map((event) => event.cacheHit)).toEqual([false, true])
    expect(recorder.events[1]).toMatchObject({ status: 'success', provider: 'mock', attempts: [], usage: recorder.events[0]!.usage })
  })

  it('keys on model, messages and parameters, not on their order, the stream flag or metadata', async () => {
    const { client, provider } = cachedClient()
    await client.chat({ model: 'mock/echo', messages: ask('key'), temperature: 0.2, metadata: { run: 1 } })
    await client.chat({ temperature: 0.2, messages: ask('key'), model: 'mock/echo', metadata: { run: 2 }, tags: ['again'] })
    expect(provider.calls.chat).toBe(1)
    await client.chat({ model: 'mock/echo', messages: ask('key'), temperature: 0.3 })
    await client.chat({ model: 'mock/other', messages: ask('key'), temperature: 0.2 })
    await client.chat({ model: 'mock/echo', messages: ask('key!'), temperature: 0.2 })
    expect(provider.calls.chat).toBe(4)
  })

  it('leaves out of the key what ignoreParameters names, and keys on what a key function returns', async () => {
    const { client, provider } = cachedClient({ store: 'memory', ignoreParameters: ['user'] })
    await client.chat({ model: 'mock/echo', messages: ask('users'), user: 'ada' })
    await client.chat({ model: 'mock/echo', messages: ask('users'), user: 'grace' })
    expect(provider.calls.chat).toBe(1)
    const byLastMessage = cachedClient({ store: 'memory', key: (request) => (request.messages as Array<{ content: string }>).at(-1)?.content })
    await byLastMessage.client.chat({ model: 'mock/echo', messages: [{ role: 'system', content: 'be brief' }, ...ask('same question')] })
    await byLastMessage.client.chat({ model: 'mock/echo', messages: ask('same question') })
    expect(byLastMessage.provider.calls.chat).toBe(1)
  })

  it('never stores a failed call', async () => {
    const { client, provider } = cachedClient()
    const request = { model: 'mock/echo', messages: ask('fails'), mock_error: { status: 503, message: 'down' } }
    await expect(client.chat(request)).rejects.toThrow('down')
    await expect(client.chat(request)).rejects.toThrow('down')
    expect(provider.calls.chat).toBe(2)
  })

  it('caches only the call types it is given', async () => {
    const { client, provider } = cachedClient({ store: 'memory', callTypes: ['embedding'] })
    await client.chat({ model: 'mock/echo', messages: ask('not cached') })
    await client.chat({ model: 'mock/echo', messages: ask('not cached') })
    expect(provider.calls.chat).toBe(2)
  })

  it('refuses options it does not know, naming them', () => {
    expect(() => cache({ ttl: 5 } as never)).toThrow(/cache\(\) options/)
    expect(() => cache({ ttlSeconds: -1 })).toThrow(/ttlSeconds/)
  })
})

describe('cache(): streams', () => {
  it('replays the recorded chunks of a streamed reply, as a stream, without calling the provider', async () => {
    const { client, provider, recorder } = cachedClient()
    const request = { model: 'mock/echo', messages: ask('stream me please') }
    const first = await readAll(client.stream(request))
    const second = await readAll(client.stream(request))
    expect(provider.calls.stream).toBe(1)
    expect(second).toEqual(first)
    expect(second.length).toBeGreaterThan(3)
    const hit = recorder.events[1]!
    expect(hit).toMatchObject({ cacheHit: true, streaming: true, status: 'success' })
    expect(hit.firstChunkTime).toBeGreaterThanOrEqual(hit.startTime)
    expect((hit.response as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content).toBe(textOf(first))
  })

  it('answers a plain call from a stored stream, and a stream from a stored plain reply', async () => {
    const { client, provider } = cachedClient()
    const streamed = textOf(await readAll(client.stream({ model: 'mock/echo', messages: ask('streamed first') })))
    const plain = await client.chat({ model: 'mock/echo', messages: ask('streamed first') })
    expect(plain.choices[0]!.message.content).toBe(streamed)
    const reply = await client.chat({ model: 'mock/echo', messages: ask('plain first') })
    const chunks = await readAll(client.stream({ model: 'mock/echo', messages: ask('plain first') }))
    expect(textOf(chunks)).toBe(reply.choices[0]!.message.content)
    expect(chunks.at(-1)!.usage).toEqual(reply.usage)
    expect(provider.calls).toMatchObject({ chat: 1, stream: 1 })
  })

  it('passes replayed chunks through the onChunk functions of the layers outside, before their next() resolves', async () => {
    const provider = countingMock()
    const seen: string[] = []
    client = createClient({ providers: { mock: provider } })
    client.use(async (ctx, next) => {
      ctx.onChunk((chunk) => {
        seen.push(`chunk:${chunk.choices[0]?.delta?.content ?? ''}`)
        return { ...chunk, choices: chunk.choices.map((choice) => ({ ...choice, delta: { ...choice.delta, content: choice.delta.content?.toUpperCase() } })) }
      })
      await next()
      seen.push('after next')
    }, cache({ store: 'memory' }))
    const request = { model: 'mock/echo', messages: ask('loud') }
    const first = textOf(await readAll(client.stream(request)))
    seen.length = 0
    const second = textOf(await readAll(client.stream(request)))
    expect(second).toBe(first)
    expect(second).toBe(second.toUpperCase())
    expect(seen.at(-1)).toBe('after next')
    expect(seen.filter((entry) => entry.startsWith('chunk:')).length).toBeGreaterThan(1)
    expect(provider.calls.stream).toBe(1)
  })

  it('passes replayed chunks through the stream wrappers of the layers outside', async () => {
    const provider = countingMock()
    client = createClient({ providers: { mock: provider } })
    client.use(async (ctx, next) => {
      wrapChunkStream(ctx, async function* (chunks) {
        for await (const chunk of chunks) yield chunk
        yield { id: 'added', object: 'chat.completion.chunk', created: 1, model: 'echo', choices: [{ index: 0, delta: { content: ' [end]' }, finish_reason: null }] }
      })
      await next()
    }, cache({ store: 'memory' }))
    const request = { model: 'mock/echo', messages: ask('wrapped') }
    const first = textOf(await readAll(client.stream(request)))
    const second = textOf(await readAll(client.stream(request)))
    expect(first.endsWith(' [end]')).toBe(true)
    expect(second).toBe(first)
    expect(provider.calls.stream).toBe(1)
  })

  it('records a stream the caller stopped reading as cancelled, and stores nothing for it', async () => {
    const { client, provider, recorder } = cachedClient()
    const request = { model: 'mock/echo', messages: ask('one two three four five') }
    for await (const _chunk of client.stream(request)) break
    await readAll(client.stream(request))
    expect(provider.calls.stream).toBe(2)
    for await (const _chunk of client.stream(request)) break
    expect(recorder.events.map((event) => [event.status, event.cacheHit])).toEqual([['cancelled', false], ['success', false], ['cancelled', true]])
  })
})

describe('cache(): embeddings, per input', () => {
  it('answers a batch whose inputs are all cached without the provider, and asks it only for the others', async () => {
    const { client, provider, recorder } = cachedClient()
    const first = await client.embed({ model: 'mock/embed', input: ['alpha', 'beta'] })
    const mixed = await client.embed({ model: 'mock/embed', input: ['beta', 'gamma', 'alpha'] })
    expect(provider.embedInputs).toEqual([['alpha', 'beta'], ['gamma']])
    const fresh = await createClient().embed({ model: 'mock/embed', input: ['beta', 'gamma', 'alpha'] })
    expect(mixed.data).toEqual(fresh.data)
    expect(mixed.usage).toEqual(fresh.usage)
    expect(mixed.data.map((item) => item.index)).toEqual([0, 1, 2])
    const single = await client.embed({ model: 'mock/embed', input: 'gamma' })
    expect(single.data[0]!.embedding).toEqual(fresh.data[1]!.embedding)
    expect(provider.calls.embed).toBe(2)
    expect(recorder.events.map((event) => event.cacheHit)).toEqual([false, false, true])
    expect(recorder.events[1]!.input).toEqual(['beta', 'gamma', 'alpha'])
    expect(first.data[1]!.embedding).toEqual(mixed.data[0]!.embedding)
  })

  it('keys each input with the parameters of its batch', async () => {
    const { client, provider } = cachedClient()
    await client.embed({ model: 'mock/embed', input: ['same'] })
    await client.embed({ model: 'mock/embed', input: ['same'], dimensions: 4 })
    await client.embed({ model: 'mock/other', input: ['same'] })
    expect(provider.calls.embed).toBe(3)
  })
})

describe("cache(): LiteLLM's per-request controls", () => {
  it("no-cache: asks the provider, and still stores what it answers", async () => {
    const { client, provider, recorder } = cachedClient()
    await client.chat({ model: 'mock/echo', messages: ask('fresh') })
    await client.chat({ model: 'mock/echo', messages: ask('fresh'), cache: { 'no-cache': true } })
    await client.chat({ model: 'mock/echo', messages: ask('fresh') })
    expect(provider.calls.chat).toBe(2)
    expect(recorder.events.map((event) => event.cacheHit)).toEqual([false, false, true])
  })

  it('no-store: answers, and does not store the reply', async () => {
    const { client, provider } = cachedClient()
    await client.chat({ model: 'mock/echo', messages: ask('private'), cache: { 'no-store': true } })
    await client.chat({ model: 'mock/echo', messages: ask('private') })
    await client.embed({ model: 'mock/embed', input: ['secret note'], cache: { 'no-store': true } })
    await client.embed({ model: 'mock/embed', input: ['secret note'] })
    expect(provider.calls).toMatchObject({ chat: 2, embed: 2 })
  })

  it('ttl: keeps the entry for that many seconds; s-maxage: takes only entries at most that old', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: 1_000_000 })
    const { client, provider } = cachedClient({ store: 'memory', ttlSeconds: 3600 })
    await client.chat({ model: 'mock/echo', messages: ask('short lived'), cache: { ttl: 2 } })
    vi.setSystemTime(1_001_500)
    await client.chat({ model: 'mock/echo', messages: ask('short lived') })
    expect(provider.calls.chat).toBe(1)
    vi.setSystemTime(1_002_500)
    await client.chat({ model: 'mock/echo', messages: ask('short lived') })
    expect(provider.calls.chat).toBe(2)
    vi.setSystemTime(1_010_000)
    await client.chat({ model: 'mock/echo', messages: ask('short lived'), cache: { 's-maxage': 5 } })
    expect(provider.calls.chat).toBe(3)
    await client.chat({ model: 'mock/echo', messages: ask('short lived'), cache: { 's-maxage': 5 } })
    expect(provider.calls.chat).toBe(3)
  })

  it('namespace: stores and looks up apart from the default namespace', async () => {
    const { client, provider } = cachedClient({ store: 'memory', namespace: 'team-a' })
    await client.chat({ model: 'mock/echo', messages: ask('spaces') })
    await client.chat({ model: 'mock/echo', messages: ask('spaces'), cache: { namespace: 'team-b' } })
    await client.chat({ model: 'mock/echo', messages: ask('spaces'), metadata: { redis_namespace: 'team-b' } })
    await client.chat({ model: 'mock/echo', messages: ask('spaces') })
    expect(provider.calls.chat).toBe(2)
  })

  it("mode 'default-off': caches only calls that send use-cache", async () => {
    const { client, provider } = cachedClient({ store: 'memory', mode: 'default-off' })
    await client.chat({ model: 'mock/echo', messages: ask('opt in') })
    await client.chat({ model: 'mock/echo', messages: ask('opt in') })
    expect(provider.calls.chat).toBe(2)
    await client.chat({ model: 'mock/echo', messages: ask('opt in'), cache: { 'use-cache': true } })
    await client.chat({ model: 'mock/echo', messages: ask('opt in'), cache: { 'use-cache': true } })
    expect(provider.calls.chat).toBe(3)
  })

  it('refuses a malformed control with a validation error naming it, before the provider is called', async () => {
    const { client, provider } = cachedClient()
    const error = await client.chat({ model: 'mock/echo', messages: ask('bad'), cache: { ttl: 'long' } }).catch((thrown: unknown) => thrown)
    expect(isValidationError(error)).toBe(true)
    expect((error as Error).message).toContain('cache.ttl')
    expect(provider.calls.chat).toBe(0)
  })
})

describe('cache(): where entries live', () => {
  it('keeps at most maxEntries in memory, dropping the least recently used', async () => {
    const { client, provider } = cachedClient({ store: 'memory', maxEntries: 2 })
    for (const word of ['one', 'two', 'one', 'three', 'one', 'two']) await client.chat({ model: 'mock/echo', messages: ask(word) })
    // one, two: misses; one: hit; three: miss, evicts two; one: hit; two: miss again.
    expect(provider.calls.chat).toBe(4)
  })

  it('uses the memory LRU when neither the client nor REDIS_URL names Redis', async () => {
    vi.stubEnv('REDIS_URL', '')
    const { client, provider } = cachedClient({})
    await client.chat({ model: 'mock/echo', messages: ask('default home') })
    await client.chat({ model: 'mock/echo', messages: ask('default home') })
    expect(provider.calls.chat).toBe(1)
    expect(client.services.store.kind).toBe('memory')
  })
})
