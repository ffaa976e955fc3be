/**
 * `client.with(layers)`: a new client with another stack that shares the providers and the one
 * delivery queue; the client it came from is left as it was; closing it leaves the shared parts open.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createClient, openai, type Client, type Middleware } from '../src/index'
import { defineExporter } from '../src/integrations/exporter'
import { httpSink } from '../src/delivery/http-sink'
import { startOpenAIFake, type OpenAIFake } from '../src/testing/openai-server'
import { startReceiver, type Receiver } from '../src/testing/receiver'
import { startSilentServer } from './fakes/delivery-receivers'

const messages = [{ role: 'user' as const, content: 'Which layers ran?' }]

/** A layer that records its name in `ctx.state.ran`, outermost first. */
function named(name: string): Middleware {
  return async function mark(ctx, next) {
    ;((ctx.state.ran as string[] | undefined) ?? (ctx.state.ran = [])).push(name)
    await next()
  }
}

/** What ran for a call on `client`, as the call's last layer saw it. */
async function layersThatRan(client: Client): Promise<string[]> {
  let ran: string[] = []
  await client.chat({ model: 'openai/gpt-4o-mini', messages }, { onContext: (ctx) => void (ran = (ctx.state.ran ??= []) as string[]) })
  return ran
}

/** An exporter posting `{ events: [{ id, model }] }` batches to the receiver: the shared queue batches what every client enqueues. */
function recorderExporter(url: string): Middleware {
  return defineExporter<{ id: string; tag: unknown }>({
    name: 'batches',
    sink: httpSink({ name: 'batches', url, maxBatchSize: 10, encode: (events) => ({ events }) }),
    toItems: (event) => ({ id: event.id, tag: event.metadata.client }),
  })
}

let fake: OpenAIFake
let receiver: Receiver
let providerCloses = 0
let client: Client
beforeEach(async () => {
  fake = await startOpenAIFake()
  receiver = await startReceiver()
  providerCloses = 0
  const provider = openai({ apiKey: 'sk-with-test', baseURL: fake.url })
  const counted = Object.assign(Object.create(provider) as typeof provider, {
    close: async () => {
      providerCloses++
      await provider.close?.()
    },
  })
  client = createClient({ providers: { openai: counted }, queue: { flushIntervalMs: 60_000 } })
})
afterEach(async () => {
  await client.close({ timeoutMs: 1_000 })
  await receiver.close()
  await fake.close()
})

describe('client.with()', () => {
  it('removes a layer in the new client and leaves the client it came from as it was', async () => {
    const alerts = named('alerts')
    client.use(named('outer'), alerts, named('inner'))
    const before = [...client.layers]
    const quiet = client.with((layers) => layers.filter((layer) => layer !== alerts))
    expect(quiet).not.toBe(client)
    expect(await layersThatRan(quiet)).toEqual(['outer', 'inner'])
    expect(await layersThatRan(client)).toEqual(['outer', 'alerts', 'inner'])
    expect(client.layers).toEqual(before)
    expect(quiet.layers).toHaveLength(2)
  })

  it('replaces a layer in place, keeping the order of the others', async () => {
    const retrying = named('retry x2')
    client.use(named('outer'), retrying, named('inner'))
    const patient = client.with((layers) => layers.map((layer) => (layer === retrying ? named('retry x5') : layer)))
    expect(await layersThatRan(patient)).toEqual(['outer', 'retry x5', 'inner'])
    expect(await layersThatRan(client)).toEqual(['outer', 'retry x2', 'inner'])
  })

  it('takes a new stack as a list, and later use() on either client reaches only that one', async () => {
    client.use(named('original'))
    const other = client.with([named('other')])
    client.use(named('added to the original'))
    other.use(named('added to the other'))
    expect(await layersThatRan(client)).toEqual(['original', 'added to the original'])
    expect(await layersThatRan(other)).toEqual(['other', 'added to the other'])
  })

  it('shares the providers (same instances, same upstream) and the aliases', async () => {
    const aliased = createClient({ providers: { openai: openai({ apiKey: 'sk-with-test', baseURL: fake.url }) }, aliases: { fast: 'openai/gpt-4o-mini' } })
    const derived = aliased.with([])
    expect(derived.providers).toBe(aliased.providers)
    expect(derived.providers.openai).toBe(aliased.providers.openai)
    fake.enqueue({ kind: 'chat', content: 'from the shared provider' })
    const reply = await derived.chat({ model: 'fast', messages })
    expect(reply.choices[0]!.message.content).toBe('from the shared provider')
    expect(fake.requests.at(-1)!.headers.authorization).toBe('Bearer sk-with-test')
    await aliased.close()
  })

  it('shares the one delivery queue: the events of both clients go out in one batch', async () => {
    client.use(recorderExporter(`${receiver.url}/batches`))
    const derived = client.with((layers) => layers)
    expect(derived.services.queue).toBe(client.services.queue)
    await client.chat({ model: 'openai/gpt-4o-mini', messages, metadata: { client: 'original' } })
    await derived.chat({ model: 'openai/gpt-4o-mini', messages, metadata: { client: 'derived' } })
    await derived.flush()
    expect(receiver.requests).toHaveLength(1)
    const { events } = receiver.requests[0]!.json as { events: Array<{ tag: string }> }
    expect(events.map((event) => event.tag)).toEqual(['original', 'derived'])
    expect(client.services.queue.stats().sinks.batches).toMatchObject({ delivered: 2 })
  })

  it('close() on the derived client delivers what is queued but leaves the queue and providers open for the original', async () => {
    client.use(recorderExporter(`${receiver.url}/batches`))
    const derived = client.with((layers) => layers)
    await derived.chat({ model: 'openai/gpt-4o-mini', messages, metadata: { client: 'derived' } })
    await derived.close()
    expect(receiver.requests).toHaveLength(1)
    expect(providerCloses).toBe(0)
    // The original still calls its provider and still delivers.
    await client.chat({ model: 'openai/gpt-4o-mini', messages, metadata: { client: 'original after' } })
    await client.flush()
    expect(receiver.requests).toHaveLength(2)
    expect(client.services.queue.stats().dropped.closed ?? 0).toBe(0)
    // And more clients can still be made from it.
    expect(() => client.with([])).not.toThrow()
  })

  it('close() on the original closes the shared queue and providers once; a derived client’s later events are dropped as closed, and with() says what to do', async () => {
    client.use(recorderExporter(`${receiver.url}/batches`))
    const derived = client.with((layers) => layers)
    await client.close()
    expect(providerCloses).toBe(1)
    await derived.close()
    expect(providerCloses).toBe(1)
    const outcome = await derived.chat({ model: 'openai/gpt-4o-mini', messages }).then(
      () => 'answered',
      () => 'failed',
    )
    await derived.flush()
    expect(client.services.queue.stats().dropped.closed, `the call ${outcome}`).toBe(1)
    expect(receiver.requests).toHaveLength(0)
    expect(() => client.with([])).toThrow(/after client\.close\(\).*createClient\(\)/)
    expect(() => derived.with([])).toThrow(/after client\.close\(\)/)
  })

  it('close() on the derived client returns by its deadline when a sink never answers', async () => {
    const silent = await startSilentServer()
    try {
      client.use(recorderExporter(`${silent.url}/batches`))
      const derived = client.with((layers) => layers)
      await derived.chat({ model: 'openai/gpt-4o-mini', messages })
      await derived.close({ timeoutMs: 200 })
      // Still pending, not dropped: the queue is the original's, which keeps delivering (or drops at its own close).
      expect(client.services.queue.stats().dropped.closed ?? 0).toBe(0)
      expect(client.services.queue.stats().pending).toBe(1)
    } finally {
      await client.close({ timeoutMs: 200 })
      await silent.close()
    }
    expect(client.services.queue.stats().dropped.closed).toBe(1)
  })

  it('refuses what is not a list of layers, naming the argument and the fix', () => {
    expect(() => client.with('slack' as never)).toThrow(/client\.with\(\) takes the new list of layers.*got string/)
    expect(() => client.with(() => undefined as never)).toThrow(/got undefined/)
    expect(() => client.with([named('ok'), 'slack' as never])).toThrow(/client\.with\(\) takes middleware functions.*argument 2 is string.*callbacks\(\{ success: \['slack'\] \}\)/)
  })
})
