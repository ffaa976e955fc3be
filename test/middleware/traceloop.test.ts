import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { traceloop } from 'llm-onion/middleware/traceloop'
import { decodeOtlpTraces, SpanKind, StatusCode, type DecodedSpan } from '../fakes/otlp-decoder'
import { startReceiver, type Receiver } from '../../src/testing/receiver'

const prompt = [{ role: 'user' as const, content: 'What is the capital of France?' }]
const metadata = { api_key: 'sk-secret', team: 'search' }
const http = { method: 'POST', url: '/v1/chat/completions', headers: { authorization: 'Bearer sk-secret' } }

function spansOf(receiver: Receiver, from = 0): DecodedSpan[] {
  return receiver.requests.slice(from).flatMap((request) => decodeOtlpTraces(request.body))
}

const payloadOf = (spans: DecodedSpan[]) => JSON.stringify(spans, (_key, value) => (typeof value === 'bigint' ? String(value) : value))

async function runCalls(client: Client): Promise<void> {
  await client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'Paris is the capital.', user: 'user-7', metadata, api_key: 'sk-provider-secret' }, { http })
  for await (const _chunk of client.stream({ model: 'mock/echo', messages: prompt, mock_response: 'Paris, streamed.' })) void _chunk
  await expect(client.chat({ model: 'mock/echo', messages: prompt, mock_error: { status: 401, message: 'Bad key' } })).rejects.toThrow('Bad key')
  await client.flush()
}

describe('traceloop()', () => {
  let receiver: Receiver
  let client: Client
  beforeEach(async () => {
    receiver = await startReceiver()
  })
  afterEach(async () => {
    await client?.close()
    await receiver.close()
  })

  it('posts a success, a streamed success and a failure to /v1/traces with a Bearer key, with the OpenLLMetry attributes', async () => {
    client = createClient({ queue: { minTimeoutMs: 10 } }).use(traceloop({ apiKey: 'tl-key', baseUrl: receiver.url }))
    await runCalls(client)

    for (const request of receiver.requests) {
      expect(request.path).toBe('/v1/traces')
      expect(request.headers.authorization).toBe('Bearer tl-key')
      expect(request.headers['content-type']).toBe('application/x-protobuf')
      expect(request.headers['content-encoding']).toBe('gzip')
    }
    const [success, streamed, failure] = spansOf(receiver)
    expect(success!.kind).toBe(SpanKind.CLIENT)
    expect(success!.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.system': 'mock',
      'llm.request.type': 'chat',
      'gen_ai.prompt.0.role': 'user',
      'gen_ai.prompt.0.content': 'What is the capital of France?',
      'gen_ai.completion.0.role': 'assistant',
      'gen_ai.completion.0.content': 'Paris is the capital.',
      'gen_ai.completion.0.finish_reason': 'stop',
      'traceloop.association.properties.user_id': 'user-7',
      'traceloop.association.properties.team': 'search',
    })
    expect(success!.attributes['llm.usage.total_tokens']).toBe(
      (success!.attributes['gen_ai.usage.prompt_tokens'] as number) + (success!.attributes['gen_ai.usage.completion_tokens'] as number),
    )
    expect(streamed!.attributes['gen_ai.completion.0.content']).toBe('Paris, streamed.')
    expect(failure!.status.code).toBe(StatusCode.ERROR)
    expect(failure!.attributes['error.type']).toBe('AuthenticationError')
  })

  it('still delivers every span when the receiver answers 500 once, then 200', async () => {
    receiver.answerWith(500)
    client = createClient({ queue: { minTimeoutMs: 10 } }).use(traceloop({ apiKey: 'tl-key', baseUrl: receiver.url }))
    await runCalls(client)

    expect(new Set(spansOf(receiver, 1).map((span) => span.spanId)).size).toBe(3)
  })

  it('never sends the provider API key or an authorization header in a payload', async () => {
    client = createClient({ queue: { minTimeoutMs: 10 } }).use(traceloop({ apiKey: 'tl-key', baseUrl: receiver.url }))
    await runCalls(client)

    const payload = payloadOf(spansOf(receiver))
    expect(payload).not.toContain('sk-secret')
    expect(payload).not.toContain('sk-provider-secret')
    expect(payload).not.toContain('tl-key')
    expect(payload.toLowerCase()).not.toContain('authorization')
  })

  it('redact: { messages: true } removes prompt and completion content, OpenLLMetry attributes included', async () => {
    client = createClient({ redact: { messages: true }, queue: { minTimeoutMs: 10 } }).use(traceloop({ apiKey: 'tl-key', baseUrl: receiver.url }))
    await runCalls(client)

    const payload = payloadOf(spansOf(receiver))
    expect(payload).not.toContain('capital of France')
    expect(payload).not.toContain('Paris')
    expect(payload).toContain('[redacted]')
  })

  it('sends no content when TRACELOOP_TRACE_CONTENT=false, as Traceloop’s own SDK', async () => {
    client = createClient().use(traceloop({ env: { TRACELOOP_API_KEY: 'tl-env', TRACELOOP_BASE_URL: receiver.url, TRACELOOP_TRACE_CONTENT: 'false' } }))
    await client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'Paris.' })
    await client.flush()

    expect(receiver.requests[0]!.headers.authorization).toBe('Bearer tl-env')
    const [span] = spansOf(receiver)
    expect(payloadOf([span!])).not.toContain('Paris')
    expect(span!.attributes['gen_ai.input.messages']).toBeUndefined()
    expect(span!.attributes['gen_ai.prompt.0.content']).toBeUndefined()
    expect(span!.attributes['gen_ai.usage.prompt_tokens']).toBeGreaterThan(0)
  })

  it('fails at construction naming TRACELOOP_API_KEY when no key is given', () => {
    expect(() => traceloop({ env: {} })).toThrow(/TRACELOOP_API_KEY/)
  })
})
