/**
 * A cache hit logged right: `cacheHit` true, a cost of 0 and what the call would have cost as
 * `savedCost` in the event, LiteLLM's `cache_hit`, `response_cost: 0` and `saved_cache_cost` in a
 * handler's kwargs, and the hits and the saved cost in Prometheus. And no credential in what the
 * cache stores (planted secret).
 */
import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { callEventSchema, createClient, CustomLogger, type Client, type LoggerKwargs } from 'llm-onion'
import { cache, cost, customLogger, prometheus } from 'llm-onion/middleware'
import { createRecorder } from 'llm-onion/testing'
import { closeAfterEach } from './layer-test-kit'
import { countingMock, readAll, recordingStore } from './cache-test-kit'

let client: Client | undefined
closeAfterEach(() => client)

const prices = { 'mock/priced': { input: 1, output: 2 } }
const ask = (content: string) => [{ role: 'user' as const, content }]

class KwargsRecorder extends CustomLogger {
  readonly success: LoggerKwargs[] = []
  override logSuccessEvent(kwargs: LoggerKwargs): void {
    this.success.push(kwargs)
  }
}

describe('a cache hit in the event, the kwargs and Prometheus', () => {
  it('costs 0 and saves what the call cost when it was stored', async () => {
    const recorder = createRecorder()
    const handler = new KwargsRecorder()
    const metrics = prometheus()
    client = createClient({ providers: { mock: countingMock() }, cost: { prices } })
    client.use(metrics, recorder.layer, customLogger(handler, { await: true }), cache({ store: 'memory' }))
    await client.chat({ model: 'mock/priced', messages: ask('what does this cost') })
    await client.chat({ model: 'mock/priced', messages: ask('what does this cost') })
    await readAll(client.stream({ model: 'mock/priced', messages: ask('what does this cost') }))

    const [miss, hit, streamedHit] = recorder.events
    expect(miss!.cost!.total).toBeGreaterThan(0)
    expect(miss).toMatchObject({ cacheHit: false })
    expect(miss!.savedCost).toBeUndefined()
    for (const event of [hit!, streamedHit!]) {
      expect(event).toMatchObject({ cacheHit: true, cost: { input: 0, output: 0, total: 0 }, savedCost: miss!.cost, usage: miss!.usage })
      expect(event.costUnknownReason).toBeUndefined()
      const wire = JSON.parse(JSON.stringify(event))
      expect(callEventSchema.parse(wire)).toEqual(wire)
    }

    await client.flush()
    expect(handler.success.map((kwargs) => [kwargs.cache_hit, kwargs.response_cost, kwargs.saved_cache_cost])).toEqual([
      [false, miss!.cost!.total, 0],
      [true, 0, miss!.cost!.total],
      [true, 0, miss!.cost!.total],
    ])

    const text = metrics.metrics()
    expect(() => execFileSync('promtool', ['check', 'metrics'], { input: text, stdio: ['pipe', 'pipe', 'pipe'] })).not.toThrow()
    const series = 'provider="mock",model="priced",status="success"'
    const sample = (name: string) => Number(text.split('\n').find((line) => line.startsWith(`${name}{${series}} `))?.split(' ')[1])
    expect(sample('llm_onion_requests_total')).toBe(3)
    expect(sample('llm_onion_cache_hits_total')).toBe(2)
    expect(sample('llm_onion_cost_usd_total')).toBeCloseTo(miss!.cost!.total, 12)
    expect(sample('llm_onion_cache_saved_cost_usd_total')).toBeCloseTo(2 * miss!.cost!.total, 12)
  })

  it('splits an embedding batch: the cached inputs are saved, the others paid, and a full hit saves all that was paid', async () => {
    const recorder = createRecorder()
    client = createClient({ providers: { mock: countingMock() }, cost: { prices } }).use(recorder.layer, cache({ store: 'memory' }))
    await client.embed({ model: 'mock/priced', input: ['alpha one', 'beta two three'] })
    await client.embed({ model: 'mock/priced', input: ['beta two three', 'gamma'] })
    await client.embed({ model: 'mock/priced', input: ['gamma', 'alpha one', 'beta two three'] })
    const [first, partial, full] = recorder.events
    expect(partial).toMatchObject({ cacheHit: false })
    expect(partial!.savedCost!.total).toBeGreaterThan(0)
    expect(partial!.cost!.total).toBeGreaterThan(0)
    expect(partial!.usage!.inputTokens).toBe((partial!.response as { usage: { prompt_tokens: number } }).usage.prompt_tokens)
    expect(full).toMatchObject({ cacheHit: true, cost: { total: 0 } })
    expect(full!.savedCost!.total).toBeCloseTo(first!.cost!.total + partial!.cost!.total, 15)
    // Input tokens at $1 per million: what the partial call paid for is its new input's tokens.
    const paidTokens = Math.round(partial!.cost!.total * 1e6)
    expect(full!.usage!.inputTokens).toBe(first!.usage!.inputTokens + paidTokens)
  })

  it('leaves savedCost absent, and the cost 0, when the stored call had no known price', async () => {
    const recorder = createRecorder()
    client = createClient({ providers: { mock: countingMock() } }).use(recorder.layer, cache({ store: 'memory' }))
    await client.chat({ model: 'mock/unpriced', messages: ask('free?') })
    await client.chat({ model: 'mock/unpriced', messages: ask('free?') })
    expect(recorder.events[0]!.cost).toBeUndefined()
    expect(recorder.events[1]).toMatchObject({ cacheHit: true, cost: { total: 0 } })
    expect(recorder.events[1]!.savedCost).toBeUndefined()
  })

  it('is not priced again by a cost() layer outside it; a cost() layer inside it prices what is stored', async () => {
    const recorder = createRecorder()
    client = createClient({ providers: { mock: countingMock() } })
    client.use(recorder.layer, cost({ prices: { 'mock/outer': { input: 5, output: 5 } } }), cache({ store: 'memory' }), cost({ prices: { 'mock/outer': { input: 1, output: 1 } } }))
    await client.chat({ model: 'mock/outer', messages: ask('layers') })
    await client.chat({ model: 'mock/outer', messages: ask('layers') })
    const [miss, hit] = recorder.events
    expect(hit!.cost!.total).toBe(0)
    expect(hit!.savedCost!.total).toBeCloseTo(miss!.usage!.totalTokens * 1e-6, 15)
  })
})

describe('planted secret: nothing the cache stores holds a credential', () => {
  const planted = { client: 'sk-plant-cache-client-5d1e9a', request: 'sk-plant-cache-request-8c3f27', provider: 'sk-plant-cache-provider-4b7a60' }

  it('keys are hashes and values are scrubbed, for chat, streams and embeddings', async () => {
    const store = recordingStore()
    const provider = { ...countingMock(), secrets: [planted.provider] }
    client = createClient({ providers: { mock: provider }, secrets: [planted.client] })
    client.use(cache({ store }))
    const echo = `keys: ${planted.client} ${planted.request} ${planted.provider}`
    const requests = [
      { model: 'mock/echo', messages: ask(`my key is ${planted.client}`), api_key: planted.request, mock_response: echo },
      { model: 'mock/echo', messages: ask(`stream ${planted.provider}`), api_key: planted.request, mock_response: echo, cache: { namespace: `ns-${planted.client}` } },
    ]
    const replies = [await client.chat(requests[0]!), await client.chat(requests[0]!)]
    await readAll(client.stream(requests[1]!))
    await client.embed({ model: 'mock/embed', input: [planted.client, planted.request], api_key: planted.request })
    expect(store.written.length).toBe(4)
    const everything = JSON.stringify(store.written)
    for (const secret of Object.values(planted)) expect(everything).not.toContain(secret)
    expect(store.written.every((entry) => /^cache:(ns-\[redacted\]:)?[0-9a-f]{64}$/.test(entry.key))).toBe(true)
    expect(everything).toContain('[redacted]')
    // What comes back from the cache is what was stored: scrubbed too.
    expect(replies[1]!.choices[0]!.message.content).not.toContain(planted.request)
  })
})
