/**
 * cache() in front of the OpenAI provider, on both transports, against the local OpenAI fake: a hit
 * sends no request upstream, a streamed hit replays the very chunks the upstream's SSE stream
 * produced, an embedding batch asks upstream only for the inputs not cached, and the request's
 * `cache` controls never reach the API.
 */
import { describe, expect, it } from 'vitest'
import { createClient, openai } from 'llm-onion'
import { cache } from 'llm-onion/middleware'
import { createRecorder } from 'llm-onion/testing'
import { startOpenAIFake } from '../../src/testing/openai-server'
import { fakePerTest, transports } from '../providers/provider-test-kit'
import { readAll, textOf } from './cache-test-kit'

const messages = [{ role: 'user' as const, content: 'Tell me about caches' }]

describe.each(transports)('cache() with openai() over the %s transport', (transport) => {
  const recorder = createRecorder()
  const { fake, client } = fakePerTest(startOpenAIFake, (started) => {
    recorder.clear()
    return createClient({ providers: { openai: openai({ apiKey: 'sk-test-cache-1234', baseURL: started.url, transport }) } }).use(recorder.layer, cache({ store: 'memory' }))
  })

  it('answers a repeated chat call without a request upstream, priced as the first one saved', async () => {
    fake.enqueue({ kind: 'chat', content: 'Caches keep answers.', model: 'gpt-4o-mini-2024-07-18' })
    const first = await client.chat({ model: 'openai/gpt-4o-mini', messages, temperature: 0 })
    const second = await client.chat({ model: 'openai/gpt-4o-mini', messages, temperature: 0 })
    expect(fake.requests).toHaveLength(1)
    expect(second).toEqual(first)
    expect(second.choices[0]!.message.content).toBe('Caches keep answers.')
    const [miss, hit] = recorder.events
    expect(miss!.cost!.total).toBeGreaterThan(0)
    expect(hit).toMatchObject({ cacheHit: true, provider: 'openai', responseModel: 'gpt-4o-mini-2024-07-18', cost: { total: 0 }, savedCost: miss!.cost })
  })

  it('replays a streamed reply chunk for chunk, without a request upstream', async () => {
    fake.enqueue({ kind: 'chat', content: 'Streams are replayed word by word.' })
    const first = await readAll(client.stream({ model: 'openai/gpt-4o-mini', messages }))
    const second = await readAll(client.stream({ model: 'openai/gpt-4o-mini', messages }))
    expect(fake.requests).toHaveLength(1)
    expect(second).toEqual(first)
    expect(textOf(second)).toBe('Streams are replayed word by word.')
    expect(second.at(-1)!.usage).toMatchObject({ prompt_tokens: 4 })
  })

  it('asks upstream only for the inputs of a batch it has not cached', async () => {
    const first = await client.embed({ model: 'openai/text-embedding-3-small', input: ['red', 'green'] })
    const second = await client.embed({ model: 'openai/text-embedding-3-small', input: ['green', 'blue', 'red'] })
    const third = await client.embed({ model: 'openai/text-embedding-3-small', input: 'blue' })
    expect(fake.requests.map((request) => request.body.input)).toEqual([['red', 'green'], ['blue']])
    expect(second.data.map((item) => item.embedding)).toEqual([first.data[1]!.embedding, third.data[0]!.embedding, first.data[0]!.embedding])
    expect(second.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 })
    expect(recorder.events.map((event) => event.cacheHit)).toEqual([false, false, true])
  })

  it('sends the cache controls of a request nowhere upstream', async () => {
    await client.chat({ model: 'openai/gpt-4o-mini', messages, cache: { 'no-cache': true, ttl: 60 } })
    await client.embed({ model: 'openai/text-embedding-3-small', input: ['x'], cache: { 'no-store': true } } as never)
    expect(fake.requests).toHaveLength(2)
    for (const request of fake.requests) expect(request.body).not.toHaveProperty('cache')
  })
})
