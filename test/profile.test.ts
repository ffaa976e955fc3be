import { afterEach, describe, expect, it } from 'vitest'
import { createClient, defineRepeatingMiddleware, wrapChunkStream, type CallEvent, type Client, type Context, type LayerTime, type Middleware } from '../src/index'
import { retry } from '../middleware/retry'
import { busyLayer, busyWait } from '../src/testing/busy-wait'

const messages = [{ role: 'user' as const, content: 'one two three four' }]
let client: Client | undefined
afterEach(async () => {
  await client?.close()
  client = undefined
})

const working = busyLayer

const byName = (layers: LayerTime[] | undefined) => new Map((layers ?? []).map((layer) => [layer.name, layer]))
const order = (layers: LayerTime[], key: 'beforeUs' | 'afterUs') => [...layers].sort((a, b) => b[key] - a[key]).map((layer) => layer.name)

describe('the onion profile', () => {
  // Gaps of 75+ ms between the layers, and 140+ ms between the two largest, so a busy machine's
  // scheduling noise (a process descheduled for tens of ms) cannot swap two of them.
  const stack = () => [working('outer', 220, 5), working('middle', 5, 320), working('inner', 80, 120)]

  for (const kind of ['chat', 'stream', 'embed'] as const) {
    it(`ranks layers by their own time before and after next(), the layers inside excluded (${kind})`, async () => {
      let event: CallEvent | undefined
      client = createClient({ profile: true, middleware: stack() })
      const started = performance.now()
      const onContext = (ctx: Context) => void (event = undefined, (context = ctx))
      let context: Context | undefined
      if (kind === 'chat') await client.chat({ model: 'mock/x', messages }, { onContext })
      if (kind === 'embed') await client.embed({ model: 'mock/x', input: 'hello' }, { onContext })
      if (kind === 'stream') for await (const _chunk of client.stream({ model: 'mock/x', messages }, { onContext })) void _chunk
      const wall = (performance.now() - started) * 1000
      event = context!.toEvent()
      const layers = event.layers!
      expect(layers.map((layer) => layer.name)).toEqual(['outer', 'middle', 'inner'])
      const times = byName(layers)
      expect(times.get('outer')!.beforeUs).toBeGreaterThanOrEqual(220_000)
      expect(times.get('outer')!.afterUs).toBeGreaterThanOrEqual(5_000)
      expect(times.get('middle')!.beforeUs).toBeGreaterThanOrEqual(5_000)
      expect(times.get('middle')!.afterUs).toBeGreaterThanOrEqual(320_000)
      expect(times.get('inner')!.beforeUs).toBeGreaterThanOrEqual(80_000)
      expect(times.get('inner')!.afterUs).toBeGreaterThanOrEqual(120_000)
      expect(order(layers, 'beforeUs')).toEqual(['outer', 'inner', 'middle'])
      // Were the inner layers' time counted in the outer ones', outer's after would be the largest.
      expect(order(layers, 'afterUs'), JSON.stringify(layers)).toEqual(['middle', 'inner', 'outer'])
      // Own times never overlap: together they fit in the call.
      const total = layers.reduce((sum, layer) => sum + layer.beforeUs + layer.afterUs, 0)
      expect(total).toBeLessThanOrEqual(wall)
      expect(() => event && JSON.parse(JSON.stringify(event))).not.toThrow()
    })
  }

  it('hands every finished call to onProfile, outermost first, with the outermost layer complete', async () => {
    const received: LayerTime[][] = []
    client = createClient({ profile: { onProfile: (layers) => received.push(layers) }, middleware: [working('outer', 1, 5), working('middle', 1, 1), working('inner', 1, 1)] })
    await client.chat({ model: 'mock/x', messages })
    await client.chat({ model: 'mock/x', messages })
    expect(received).toHaveLength(2)
    for (const layers of received) {
      expect(layers.map((layer) => layer.name)).toEqual(['outer', 'middle', 'inner'])
      expect(layers[0]!.afterUs).toBeGreaterThanOrEqual(5_000)
    }
  })

  it('leaves the call unprofiled and the event without layers when profiling is off', async () => {
    const probe: Middleware = async function probe(_ctx, next) {
      await next()
    }
    let context: Context | undefined
    client = createClient({ middleware: [probe] })
    await client.chat({ model: 'mock/x', messages }, { onContext: (ctx) => void (context = ctx) })
    expect(context!.toEvent().layers).toBeUndefined()
    expect(context!.profile).toBeUndefined()
  })

  it('lists in an event built inside the onion only the layers that have finished', async () => {
    let inside: CallEvent | undefined
    const exporter: Middleware = async function exporter(ctx, next) {
      await next()
      inside = ctx.toEvent()
    }
    let context: Context | undefined
    client = createClient({ profile: true, middleware: [working('outer', 1, 1), exporter, working('inner', 1, 1)] })
    await client.chat({ model: 'mock/x', messages }, { onContext: (ctx) => void (context = ctx) })
    expect(inside!.layers!.map((layer) => layer.name)).toEqual(['inner'])
    // Built again once the call is over, the event has them all.
    expect(context!.toEvent().layers!.map((layer) => layer.name)).toEqual(['outer', 'exporter', 'inner'])
  })

  it('counts a stream layer’s per-chunk work (onChunk and wrapChunkStream) in its after time', async () => {
    let handled = 0
    let wrapped = 0
    const perChunk: Middleware = async function perChunk(ctx, next) {
      ctx.onChunk(() => {
        handled++
        busyWait(8)
      })
      await next()
    }
    const rewrapping: Middleware = async function rewrapping(ctx, next) {
      wrapChunkStream(ctx, async function* (chunks) {
        for await (const chunk of chunks) {
          wrapped++
          busyWait(15)
          yield chunk
        }
      })
      await next()
    }
    let context: Context | undefined
    client = createClient({ profile: true, middleware: [working('plain', 0, 0), perChunk, rewrapping] })
    for await (const _chunk of client.stream({ model: 'mock/x', messages }, { onContext: (ctx) => void (context = ctx) })) void _chunk
    const times = byName(context!.toEvent().layers)
    expect(handled).toBeGreaterThanOrEqual(4)
    expect(times.get('perChunk')!.afterUs).toBeGreaterThanOrEqual(handled * 8_000)
    expect(times.get('rewrapping')!.afterUs).toBeGreaterThanOrEqual(wrapped * 15_000)
    // The wrapper's waiting for the provider's chunks is not its own time; the per-chunk work is not plain's.
    expect(times.get('plain')!.afterUs).toBeLessThan(times.get('rewrapping')!.afterUs)
  })

  it('adds up the attempts of a layer inside retry()', async () => {
    let attempts = 0
    const flaky: Middleware = async function flaky(ctx, next) {
      attempts++
      busyWait(10)
      if (attempts < 3) ctx.request = { ...ctx.request, mock_error: { status: 503 } } as typeof ctx.request
      else ctx.request = { ...ctx.request, mock_error: undefined } as typeof ctx.request
      await next()
    }
    let context: Context | undefined
    client = createClient({ profile: true, middleware: [retry({ retries: 2, minTimeoutMs: 1, maxTimeoutMs: 1 }), flaky] })
    await client.chat({ model: 'mock/x', messages }, { onContext: (ctx) => void (context = ctx) })
    const times = byName(context!.toEvent().layers)
    expect(attempts).toBe(3)
    expect(times.get('flaky')!.beforeUs).toBeGreaterThanOrEqual(30_000)
    expect([...times.keys()]).toEqual(['retry', 'flaky'])
  })

  it('keeps profiling on a client made with with(), and names two layers of one name apart', async () => {
    let context: Context | undefined
    client = createClient({ profile: true })
    const derived = client.with([working('same', 1, 1), working('same', 1, 1), async () => {}])
    await derived.chat({ model: 'mock/x', messages, mock_response: 'hi' }, { onContext: (ctx) => void (context = ctx) }).catch(() => {})
    expect(context!.toEvent().layers!.map((layer) => layer.name)).toEqual(['same', 'same#2', 'anonymous'])
    await derived.close()
  })

  it('counts all of a layer’s time as before-time when it answers without next(), and a layer that throws', async () => {
    const answering: Middleware = async function answering(ctx) {
      busyWait(30)
      ctx.response = { id: 'own', object: 'chat.completion', created: 0, model: 'x', choices: [{ index: 0, message: { role: 'assistant', content: 'cached answer' }, finish_reason: 'stop' }] }
    }
    const received: LayerTime[][] = []
    client = createClient({ profile: { onProfile: (layers) => received.push(layers) }, middleware: [working('outer', 1, 1), answering, working('never', 1, 1)] })
    const response = await client.chat({ model: 'mock/x', messages })
    expect(response.choices[0]!.message.content).toBe('cached answer')
    const answered = byName(received[0])
    // The layer inside was never entered: it is not in the profile.
    expect([...answered.keys()]).toEqual(['outer', 'answering'])
    expect(answered.get('answering')!.beforeUs).toBeGreaterThanOrEqual(30_000)
    expect(answered.get('answering')!.afterUs).toBe(0)

    const throwing: Middleware = async function throwing(_ctx, next) {
      await next()
      busyWait(20)
      throw new Error('refused by throwing')
    }
    const synchronous: Middleware = function synchronous() {
      busyWait(10)
      throw new Error('refused at once')
    }
    await client.close()
    client = createClient({ profile: { onProfile: (layers) => received.push(layers) }, middleware: [working('outer', 1, 1), throwing] })
    await expect(client.chat({ model: 'mock/x', messages })).rejects.toThrow('refused by throwing')
    expect(byName(received[1]).get('throwing')!.afterUs).toBeGreaterThanOrEqual(20_000)
    await client.close()
    client = createClient({ profile: { onProfile: (layers) => received.push(layers) }, middleware: [working('outer', 1, 1), synchronous] })
    await expect(client.chat({ model: 'mock/x', messages })).rejects.toThrow('refused at once')
    expect(byName(received[2]).get('synchronous')!.beforeUs).toBeGreaterThanOrEqual(10_000)
    expect(received).toHaveLength(3)
  })

  it('rejects a second call of next() in one layer, as an unprofiled client does', async () => {
    client = createClient({ profile: true, middleware: [async function twice(_ctx, next) {
      await next()
      await next()
    }] })
    await expect(client.chat({ model: 'mock/x', messages })).rejects.toThrow(/next\(\) called multiple times/)
  })

  it('counts a repeating layer’s time between attempts as its after-time, and each attempt of the layers inside it', async () => {
    const twice = defineRepeatingMiddleware(async function twice(_ctx, _next, inner) {
      await inner()
      busyWait(60)
      await inner()
    })
    let context: Context | undefined
    client = createClient({ profile: true, middleware: [twice, working('attempt', 10, 1)] })
    await client.chat({ model: 'mock/x', messages }, { onContext: (ctx) => void (context = ctx) })
    const times = byName(context!.toEvent().layers)
    expect(times.get('twice')!.afterUs).toBeGreaterThanOrEqual(60_000)
    expect(times.get('twice')!.beforeUs).toBeLessThan(times.get('twice')!.afterUs)
    expect(times.get('attempt')!.beforeUs).toBeGreaterThanOrEqual(20_000)
  })

  it('keeps the profiles of concurrent calls apart', async () => {
    // The layer works as long as the request's metadata says, then waits a timer inside, so the calls overlap.
    const varying: Middleware = async function varying(ctx, next) {
      busyWait((ctx.request.metadata as { work: number }).work)
      await new Promise((resolve) => setTimeout(resolve, 20))
      await next()
    }
    const contexts: Context[] = []
    client = createClient({ profile: true, middleware: [working('outer', 0, 0), varying] })
    await Promise.all(
      [40, 0].map((work) => client!.chat({ model: 'mock/x', messages, metadata: { work } }, { onContext: (ctx) => void contexts.push(ctx) })),
    )
    const [slow, quick] = contexts.map((ctx) => byName(ctx.toEvent().layers).get('varying')!)
    // (A timer may fire a little before its time as performance.now() sees it: only the busy wait is a bound.)
    expect(slow!.beforeUs).toBeGreaterThanOrEqual(40_000)
    expect(quick!.beforeUs).toBeLessThan(slow!.beforeUs)
  })

  it('refuses a profile option that is neither a boolean nor { onProfile }', () => {
    expect(() => createClient({ profile: { onProfile: 'yes' } as never })).toThrow(/profile: must be true, false or \{ onProfile/)
  })
})
