import { afterEach, describe, expect, it } from 'vitest'
import { createClient, type CallEvent, type Client } from '../../src/index'
import type { Sink } from '../../src/delivery/queue'
import { defineExporter } from '../../src/integrations/exporter'

const messages = [{ role: 'user' as const, content: 'hello exporter' }]
let client: Client | undefined
afterEach(async () => {
  await client?.close()
  client = undefined
})

/** A sink that keeps what it receives and counts how often it was closed. */
function keepingSink<Item>(name = 'keeping'): Sink<Item> & { received: Item[]; closed: number } {
  const sink = {
    name,
    received: [] as Item[],
    closed: 0,
    async send(items: Item[]) {
      sink.received.push(...items)
    },
    async close() {
      sink.closed++
    },
  }
  return sink
}

describe('defineExporter()', () => {
  it('returns the reply before the mapping runs; flush() maps and delivers it', async () => {
    const sink = keepingSink<string>()
    const mapped: string[] = []
    client = createClient().use(
      defineExporter<string>({
        name: 'later',
        sink,
        moments: ['success', 'failure'],
        toItems: (event) => {
          mapped.push(event.id)
          return `${event.status}:${event.model}`
        },
      }),
    )
    await client.chat({ model: 'mock/x', messages })
    expect(mapped).toEqual([])
    await client.flush()
    expect(mapped).toHaveLength(1)
    expect(sink.received).toEqual(['success:mock/x'])
  })

  it('sends on success and on failure when no moments are given, never before the call', async () => {
    const sink = keepingSink<string>()
    client = createClient().use(defineExporter<string>({ name: 'defaults', sink, toItems: (event) => event.status, toInputItems: () => 'input' }))
    await client.chat({ model: 'mock/x', messages })
    await expect(client.chat({ model: 'mock/x', messages, mock_error: { status: 500, message: 'upstream broke' } })).rejects.toThrow('upstream broke')
    await client.flush()
    expect(sink.received).toEqual(['success', 'failure'])
  })

  it('sends a throwing mapping to onHookError under the integration name, never to the caller', async () => {
    const errors: Array<{ hook: string; message: string }> = []
    const sink = keepingSink<string>()
    client = createClient({ onHookError: (error, hook) => errors.push({ hook, message: (error as Error).message }) }).use(
      defineExporter<string>({
        name: 'brokenMapping',
        sink,
        moments: ['success'],
        toItems: (event) => {
          if (event.metadata.fail) throw new Error('mapping broke')
          return event.id
        },
      }),
    )
    const reply = await client.chat({ model: 'mock/x', messages, metadata: { fail: true }, mock_response: 'still fine' })
    expect(reply.choices[0]!.message.content).toBe('still fine')
    await client.chat({ model: 'mock/x', messages })
    await client.flush()
    expect(errors).toEqual([{ hook: 'brokenMapping', message: 'mapping broke' }])
    expect(sink.received).toHaveLength(1)
  })

  it('maps the same event object in every exporter of a call (built once, shared)', async () => {
    const seen: CallEvent[] = []
    const exporter = (name: string) =>
      defineExporter<string>({ name, sink: keepingSink(name), moments: ['success'], toItems: (event) => (seen.push(event), event.id) })
    client = createClient().use(exporter('first'), exporter('second'))
    await client.chat({ model: 'mock/x', messages })
    await client.flush()
    expect(seen).toHaveLength(2)
    expect(seen[0]).toBe(seen[1])
  })

  it('maps the call as it was when the layer saw it end, though an outer layer changes the context afterwards', async () => {
    const sink = keepingSink<string>()
    client = createClient().use(
      async function laterChanges(ctx, next) {
        await next()
        ctx.tags.push('added-later')
        ;(ctx.request as { messages: unknown[] }).messages.push({ role: 'user', content: 'added later' })
      },
      defineExporter<string>({ name: 'snapshot', sink, moments: ['success'], toItems: (event) => `${event.messages!.length} message(s), tags ${event.tags.join(' ')}` }),
    )
    await client.chat({ model: 'mock/x', messages, tags: ['first'] })
    await client.flush()
    expect(sink.received).toEqual(['1 message(s), tags first'])
  })

  it('closes its sink once when a client that used it closes', async () => {
    const sink = keepingSink<string>()
    client = createClient().use(defineExporter<string>({ name: 'closing', sink, moments: ['success'], toItems: (event) => event.id }))
    await client.chat({ model: 'mock/x', messages })
    await client.chat({ model: 'mock/x', messages })
    await client.close()
    expect(sink.received).toHaveLength(2)
    expect(sink.closed).toBe(1)
  })
})
