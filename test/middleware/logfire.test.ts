import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { logfire, logfireBaseUrlForToken } from 'llm-onion/middleware/logfire'
import { decodeOtlpTraces, SpanKind, StatusCode, type DecodedSpan } from '../fakes/otlp-decoder'
import { startReceiver, type Receiver } from '../../src/testing/receiver'

const prompt = [{ role: 'user' as const, content: 'What is the capital of France?' }]
const metadata = { api_key: 'sk-secret', team: 'search' }
const http = { method: 'POST', url: '/v1/chat/completions', headers: { authorization: 'Bearer sk-secret' } }
const token = 'pylf_v1_eu_write-token'

function spansOf(receiver: Receiver, from = 0): DecodedSpan[] {
  return receiver.requests.slice(from).flatMap((request) => decodeOtlpTraces(request.body))
}

const payloadOf = (spans: DecodedSpan[]) => JSON.stringify(spans, (_key, value) => (typeof value === 'bigint' ? String(value) : value))

async function runCalls(client: Client): Promise<void> {
  await client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'Paris is the capital.', metadata, api_key: 'sk-provider-secret' }, { http })
  for await (const _chunk of client.stream({ model: 'mock/echo', messages: prompt, mock_response: 'Paris, streamed.' })) void _chunk
  await expect(client.chat({ model: 'mock/echo', messages: prompt, mock_error: { status: 500, message: 'Upstream broke' } })).rejects.toThrow('Upstream broke')
  await client.flush()
}

describe('logfire()', () => {
  let receiver: Receiver
  let client: Client
  beforeEach(async () => {
    receiver = await startReceiver()
  })
  afterEach(async () => {
    await client?.close()
    await receiver.close()
  })

  it('posts a success, a streamed success and a failure to /v1/traces with the bare token as Authorization', async () => {
    client = createClient({ queue: { minTimeoutMs: 10 } }).use(logfire({ token, baseUrl: receiver.url, serviceName: 'shop' }))
    await runCalls(client)

    for (const request of receiver.requests) {
      expect(request.path).toBe('/v1/traces')
      expect(request.headers.authorization).toBe(token)
      expect(request.headers['content-type']).toBe('application/x-protobuf')
      expect(request.headers['content-encoding']).toBe('gzip')
    }
    const spans = spansOf(receiver)
    expect(spans).toHaveLength(3)
    const [success, streamed, failure] = spans
    for (const span of spans) {
      expect(span.kind).toBe(SpanKind.CLIENT)
      expect(span.name).toBe('chat echo')
      expect(span.resource['service.name']).toBe('shop')
      expect(span.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'mock', 'gen_ai.request.model': 'echo' })
    }
    expect(success!.attributes['logfire.msg']).toMatch(/^chat echo \d+ ms, \d+ in \/ \d+ out$/)
    expect(JSON.parse(success!.attributes['gen_ai.output.messages'] as string)[0].parts[0].content).toBe('Paris is the capital.')
    expect(streamed!.attributes['gen_ai.request.stream']).toBe(true)
    expect(streamed!.attributes['gen_ai.response.time_to_first_chunk']).toBeGreaterThanOrEqual(0)
    expect(failure!.status).toEqual({ code: StatusCode.ERROR, message: 'Upstream broke' })
    expect(failure!.attributes).toMatchObject({ 'error.type': 'InternalServerError', 'logfire.level_num': 17, 'logfire.msg': 'chat echo failed: InternalServerError' })
  })

  it('still delivers every span when the receiver answers 500 once, then 200', async () => {
    receiver.answerWith(500)
    client = createClient({ queue: { minTimeoutMs: 10 } }).use(logfire({ token, baseUrl: receiver.url }))
    await runCalls(client)

    expect(new Set(spansOf(receiver, 1).map((span) => span.spanId)).size).toBe(3)
  })

  it('never sends the provider API key or an authorization header in a payload', async () => {
    client = createClient({ queue: { minTimeoutMs: 10 } }).use(logfire({ token, baseUrl: receiver.url }))
    await runCalls(client)

    const payload = payloadOf(spansOf(receiver))
    expect(payload).not.toContain('sk-secret')
    expect(payload).not.toContain('sk-provider-secret')
    expect(payload).not.toContain(token)
    expect(payload.toLowerCase()).not.toContain('authorization')
  })

  it('redact: { messages: true } removes prompt and completion content', async () => {
    client = createClient({ queue: { minTimeoutMs: 10 } }).use(logfire({ token, baseUrl: receiver.url, redact: { messages: true } }))
    await runCalls(client)

    const payload = payloadOf(spansOf(receiver))
    expect(payload).not.toContain('capital of France')
    expect(payload).not.toContain('Paris')
    expect(payload).toContain('[redacted]')
  })

  it('reads LOGFIRE_TOKEN and LOGFIRE_BASE_URL from the environment', async () => {
    client = createClient().use(logfire({ env: { LOGFIRE_TOKEN: 'pylf_v1_us_env', LOGFIRE_BASE_URL: receiver.url } }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()

    expect(receiver.requests[0]!.path).toBe('/v1/traces')
    expect(receiver.requests[0]!.headers.authorization).toBe('pylf_v1_us_env')
  })

  it("picks the API host from the token's region", () => {
    expect(logfireBaseUrlForToken('pylf_v1_us_abc')).toBe('https://logfire-us.pydantic.dev')
    expect(logfireBaseUrlForToken('pylf_v1_eu_abc')).toBe('https://logfire-eu.pydantic.dev')
    expect(logfireBaseUrlForToken('an-old-token')).toBe('https://logfire-api.pydantic.dev')
  })

  it('fails at construction naming LOGFIRE_TOKEN when no token is given', () => {
    expect(() => logfire({ env: {} })).toThrow(/LOGFIRE_TOKEN/)
  })
})
