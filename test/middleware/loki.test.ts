import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createClient, callEventSchema, type Client } from 'llm-onion'
import { loki } from 'llm-onion/middleware/loki'
import { startReceiver, type Receiver } from '../../src/testing/receiver'

const http = { method: 'POST', url: '/v1/chat/completions', headers: { authorization: 'Bearer sk-secret' } }
const metadata = { api_key: 'sk-secret', authorization: 'Bearer sk-secret', team: 'search' }
const prompt = [{ role: 'user' as const, content: 'What is the capital of France?' }]

type Value = [string, string, Record<string, string>?]
interface Push {
  streams: Array<{ stream: Record<string, string>; values: Value[] }>
}

/** A success, a streamed success and a failure, then a flush. */
async function runCalls(client: Client): Promise<void> {
  await client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'Paris is the capital.', user: 'user-7', metadata, api_key: 'sk-provider-secret' }, { http })
  for await (const _chunk of client.stream({ model: 'mock/echo', messages: prompt, mock_response: 'Paris, streamed.', metadata })) void _chunk
  await expect(client.chat({ model: 'mock/echo', messages: prompt, mock_error: { status: 429, message: 'Slow down' }, metadata }, { http })).rejects.toThrow('Slow down')
  await client.flush()
}

/** Every entry the receiver got, with its stream's labels. */
function entriesOf(receiver: Receiver): Array<{ labels: Record<string, string>; value: Value }> {
  return receiver.requests.flatMap((request) =>
    (request.json as Push).streams.flatMap((stream) => stream.values.map((value) => ({ labels: stream.stream, value }))),
  )
}

describe('loki()', () => {
  let receiver: Receiver
  let client: Client
  beforeEach(async () => {
    receiver = await startReceiver()
  })
  afterEach(async () => {
    await client?.close()
    await receiver.close()
  })

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

  it('never sends the provider API key or an authorization header in a payload', async () => {
    client = createClient().use(loki({ baseUrl: receiver.url }))
    await runCalls(client)

    for (const request of receiver.requests) {
      expect(request.text).not.toContain('sk-secret')
      expect(request.text).not.toContain('sk-provider-secret')
      expect(request.text.toLowerCase()).not.toContain('authorization')
    }
  })

  it.each([
    ['on the client', { client: { messages: true }, layer: undefined }],
    ['on the layer', { client: undefined, layer: { messages: true } }],
  ])('redact: { messages: true } %s removes prompt and completion content', async (_where, redact) => {
    client = createClient({ redact: redact.client }).use(loki({ baseUrl: receiver.url, redact: redact.layer }))
    await runCalls(client)

    expect(receiver.requests.length).toBeGreaterThan(0)
    for (const request of receiver.requests) {
      expect(request.text).not.toContain('capital of France')
      expect(request.text).not.toContain('Paris')
      expect(request.text).toContain('[redacted]')
    }
  })

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
