import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createClient, type Client } from '../../src/index'
import { defineOtlpExporter } from '../../src/integrations/otel/otlp-exporter'
import { startReceiver, type Receiver } from '../../src/testing/receiver'
import { decodeOtlpTraces } from '../fakes/otlp-decoder'

const messages = [{ role: 'user' as const, content: 'hello spans' }]
let client: Client | undefined
let receiver: Receiver
beforeEach(async () => {
  receiver = await startReceiver()
})
afterEach(async () => {
  await client?.close()
  client = undefined
  await receiver.close()
})

/** An OTLP layer for the receiver; `built` counts the span trees made (through `extraAttributes`). */
function collector(built: string[]) {
  return defineOtlpExporter({
    name: 'collector',
    destination: { url: `${receiver.url}/v1/traces`, headers: {}, gzip: true, resource: { 'service.name': 'shop' } },
    moments: ['success', 'failure'],
    captureContent: false,
    extraAttributes: (event) => {
      built.push(event.id)
      return { 'shop.team': 'search' }
    },
  })
}

describe('defineOtlpExporter()', () => {
  it('returns the reply before the span tree is built; flush() builds, encodes and sends it', async () => {
    const built: string[] = []
    client = createClient().use(collector(built))
    await client.chat({ model: 'mock/x', messages })
    expect(built).toEqual([])
    await client.flush()
    expect(built).toHaveLength(1)
    const spans = receiver.requests.flatMap((request) => decodeOtlpTraces(request.body))
    expect(spans).toHaveLength(1)
    expect(spans[0]!.attributes).toMatchObject({ 'shop.team': 'search', 'llm_onion.call.id': built[0] })
    expect(spans[0]!.resource['service.name']).toBe('shop')
  })

  it('sends a batch retried after a 500 with the very spans of its first attempt', async () => {
    receiver.answerWith(500)
    client = createClient({ queue: { minTimeoutMs: 1, maxTimeoutMs: 2 } }).use(collector([]))
    await client.chat({ model: 'mock/x', messages })
    await client.chat({ model: 'mock/x', messages })
    await client.flush()
    expect(receiver.requests).toHaveLength(2)
    const [first, retried] = receiver.requests.map((request) => decodeOtlpTraces(request.body).map((span) => `${span.traceId}/${span.spanId}`))
    expect(first).toHaveLength(2)
    expect(retried).toEqual(first)
  })
})
