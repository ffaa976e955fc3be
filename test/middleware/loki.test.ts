import { describe, expect, it } from 'vitest'
import { createClient, callEventSchema, type Client } from 'llm-onion'
import { loki } from 'llm-onion/middleware/loki'
import type { Receiver } from '../../src/testing/receiver'
import { exporterContract, prompt, receiverPerTest, runCalls } from './exporter-contract'

type Value = [string, string, Record<string, string>?]
interface Push {
  streams: Array<{ stream: Record<string, string>; values: Value[] }>
}

/** Every entry the receiver got, with its stream's labels. */
function entriesOf(receiver: Receiver): Array<{ labels: Record<string, string>; value: Value }> {
  return receiver.requests.flatMap((request) =>
    (request.json as Push).streams.flatMap((stream) => stream.values.map((value) => ({ labels: stream.stream, value }))),
  )
}

describe('loki()', () => {
  let client: Client
  const receiver = receiverPerTest({ client: () => client })

  it('pushes gzip-compressed streams with few labels and the event as the line to /loki/api/v1/push', async () => {
    client = createClient().use(loki({ baseUrl: receiver.url, username: 'grafana-user', password: 'grafana-token', tenantId: 'team-a', labels: { env: 'test' } }))
    await runCalls(client)

    for (const request of receiver.requests) {
      expect(request.path).toBe('/loki/api/v1/push')
      expect(request.headers['content-type']).toBe('application/json')
      expect(request.headers['content-encoding']).toBe('gzip')
      expect(request.raw.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]))
      expect(request.headers.authorization).toBe(`Basic ${Buffer.from('grafana-user:grafana-token').toString('base64')}`)
      expect(request.headers['x-scope-orgid']).toBe('team-a')
    }
    const entries = entriesOf(receiver)
    expect(entries).toHaveLength(3)
    expect(entries.map((entry) => entry.labels.status).sort()).toEqual(['failure', 'success', 'success'])
    for (const { labels, value } of entries) {
      expect(Object.keys(labels).sort()).toEqual(['env', 'model', 'provider', 'service', 'status'])
      expect(labels).toMatchObject({ env: 'test', service: 'llm-onion', provider: 'mock', model: 'mock/echo' })
      const [timestamp, line, structured] = value
      expect(timestamp).toMatch(/^\d{19}$/)
      const event = callEventSchema.parse(JSON.parse(line))
      expect(BigInt(timestamp)).toBe(BigInt(event.endTime) * 1_000_000n)
      expect(structured).toMatchObject({ call_id: event.id, trace_id: event.traceId })
    }
    const success = entries.map((entry) => JSON.parse(entry.value[1])).find((event) => event.user === 'user-7')
    expect(success.response.choices[0].message.content).toBe('Paris is the capital.')
    expect(entries.find((entry) => entry.value[2]?.user === 'user-7')).toBeDefined()
    const failure = entries.find((entry) => entry.labels.status === 'failure')!
    expect(JSON.parse(failure.value[1]).error).toMatchObject({ type: 'RateLimitError', message: 'Slow down', status: 429 })
  })

  it('still delivers every line when the receiver answers 500 once, then 200', async () => {
    receiver.answerWith(500)
    client = createClient().use(loki({ baseUrl: receiver.url, maxBatchSize: 1 }))
    await runCalls(client)

    const delivered = receiver.requests.slice(1).flatMap((request) => (request.json as Push).streams.map((stream) => stream.stream.status))
    expect(delivered.sort()).toEqual(['failure', 'success', 'success'])
  })

  exporterContract({ name: 'loki', layer: (url, redact) => loki({ baseUrl: url, redact }) })

  it('reads LOKI_URL, LOKI_USERNAME, LOKI_PASSWORD and LOKI_TENANT_ID from the environment', async () => {
    client = createClient().use(loki({ gzip: false, env: { LOKI_URL: receiver.url, LOKI_USERNAME: 'u', LOKI_PASSWORD: 'p', LOKI_TENANT_ID: 't' } }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()

    expect(receiver.requests[0]!.headers['content-encoding']).toBeUndefined()
    expect(receiver.requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`)
    expect(receiver.requests[0]!.headers['x-scope-orgid']).toBe('t')
  })

  it('sends no structured metadata when structuredMetadata is false (Loki before 3.0)', async () => {
    client = createClient().use(loki({ baseUrl: receiver.url, structuredMetadata: false }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()

    expect(entriesOf(receiver)[0]!.value).toHaveLength(2)
  })

  it('fails at construction naming LOKI_URL when no URL is given', () => {
    expect(() => loki({ env: {} })).toThrow(/LOKI_URL/)
  })

  it('rejects a label name Loki would refuse, naming it', () => {
    expect(() => loki({ baseUrl: 'http://localhost:3100', labels: { 'team-name': 'x' } })).toThrow(/labels/)
  })
})
