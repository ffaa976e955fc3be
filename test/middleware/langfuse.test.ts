import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createClient, type Client, type Middleware } from 'llm-onion'
import { langfuse } from 'llm-onion/middleware/langfuse'
import { retry } from 'llm-onion/middleware/retry'
import { SpanKind, StatusCode, type DecodedSpan } from '../fakes/otlp-decoder'
import { exporterContract, http, metadata, receiverPerTest, runCalls as runSharedCalls } from './exporter-contract'
import { expectOtlpRequests, otlpPayloadOf, payloadOf, spansOf } from './otlp-spans'
import { startReceiver } from '../../src/testing/receiver'

const prompt = [
  { role: 'system' as const, content: 'Answer briefly.' },
  { role: 'user' as const, content: 'What is the capital of France?' },
]
// Prices make the cost known, so gen_ai.usage.cost can be checked.
const clientOptions = { cost: { prices: { 'mock/echo': { input: 1, output: 2 } } }, queue: { minTimeoutMs: 10 } }

/** The shared calls with a system message, a session id and tags; returns the success's reply. */
const runCalls = (client: Client) => runSharedCalls(client, { messages: prompt, metadata: { session_id: 'session-9' }, success: { tags: ['geo'] } })

function byCallId(spans: DecodedSpan[], callId: string): DecodedSpan {
  const span = spans.find((candidate) => candidate.attributes['llm_onion.call.id'] === callId)
  expect(span, `a span for call ${callId}`).toBeDefined()
  return span!
}

/** Remembers each call's id and start time, seen from inside the langfuse layer. */
function callLog(): { calls: Array<{ id: string; start: number }>; layer: Middleware } {
  const calls: Array<{ id: string; start: number }> = []
  const layer: Middleware = async (ctx, next) => {
    calls.push({ id: ctx.id, start: ctx.timing.start })
    await next()
  }
  return { calls, layer }
}

describe('langfuse()', () => {
  let client: Client
  const receiver = receiverPerTest({ client: () => client })

  it('posts a success, a streamed success and a failure as gzip OTLP protobuf with Basic auth', async () => {
    const log = callLog()
    client = createClient(clientOptions).use(langfuse({ publicKey: 'pk-lf-1', secretKey: 'sk-lf-2', baseUrl: receiver.url }), log.layer)
    const reply = await runCalls(client)

    expectOtlpRequests(receiver, { path: '/api/public/otel/v1/traces', authorization: `Basic ${Buffer.from('pk-lf-1:sk-lf-2').toString('base64')}` })
    const spans = spansOf(receiver)
    expect(spans).toHaveLength(3)
    const [success, streamed, failure] = log.calls.map((call) => byCallId(spans, call.id))

    for (const [index, span] of [success, streamed, failure].entries()) {
      expect(span.traceId).toMatch(/^[0-9a-f]{32}$/)
      expect(span.spanId).toMatch(/^[0-9a-f]{16}$/)
      expect(span.parentSpanId).toBe('')
      expect(span.kind).toBe(SpanKind.CLIENT)
      expect(span.name).toBe('chat echo')
      expect(span.startTimeUnixNano).toBe(BigInt(log.calls[index]!.start) * 1_000_000n)
      expect(span.endTimeUnixNano).toBeGreaterThanOrEqual(span.startTimeUnixNano)
      expect(span.resource['service.name']).toBe('llm-onion')
      expect(span.attributes).toMatchObject({
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'mock',
        'gen_ai.request.model': 'echo',
        'session.id': 'session-9',
        'langfuse.observation.type': 'generation',
        'langfuse.observation.metadata.team': 'search',
      })
    }

    expect(success.attributes).toMatchObject({
      'gen_ai.response.model': 'echo',
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.request.stream': false,
      'gen_ai.usage.input_tokens': reply.usage!.prompt_tokens,
      'gen_ai.usage.output_tokens': reply.usage!.completion_tokens,
      'user.id': 'user-7',
      'langfuse.trace.tags': ['geo'],
    })
    expect(success.attributes['gen_ai.response.id']).toMatch(/^chatcmpl-mock-/)
    expect(success.attributes['gen_ai.usage.cost']).toBeCloseTo((reply.usage!.prompt_tokens * 1 + reply.usage!.completion_tokens * 2) / 1_000_000, 12)
    expect(JSON.parse(success.attributes['gen_ai.input.messages'] as string)).toEqual([
      { role: 'system', parts: [{ type: 'text', content: 'Answer briefly.' }] },
      { role: 'user', parts: [{ type: 'text', content: 'What is the capital of France?' }] },
    ])
    expect(JSON.parse(success.attributes['gen_ai.output.messages'] as string)).toEqual([
      { role: 'assistant', parts: [{ type: 'text', content: 'Paris is the capital.' }], finish_reason: 'stop' },
    ])
    expect(success.status.code).toBe(StatusCode.UNSET)

    expect(streamed.attributes['gen_ai.request.stream']).toBe(true)
    expect(streamed.attributes['gen_ai.response.time_to_first_chunk']).toBeGreaterThanOrEqual(0)
    expect(Date.parse(streamed.attributes['langfuse.observation.completion_start_time'] as string)).toBeGreaterThanOrEqual(log.calls[1]!.start)
    expect(JSON.parse(streamed.attributes['gen_ai.output.messages'] as string)[0].parts[0].content).toBe('Paris, streamed.')

    expect(failure.status).toEqual({ code: StatusCode.ERROR, message: 'Slow down' })
    expect(failure.attributes).toMatchObject({ 'error.type': 'RateLimitError', 'langfuse.observation.level': 'ERROR', 'langfuse.observation.status_message': 'Slow down' })
    expect(failure.attributes['gen_ai.output.messages']).toBeUndefined()
  })

  it('still delivers every span when the receiver answers 500 once, then 200', async () => {
    receiver.answerWith(500)
    client = createClient(clientOptions).use(langfuse({ publicKey: 'pk', secretKey: 'sk', baseUrl: receiver.url }))
    await runCalls(client)

    const delivered = spansOf(receiver, 1)
    expect(new Set(delivered.map((span) => span.spanId)).size).toBe(3)
    expect(delivered.map((span) => span.attributes['llm_onion.status']).sort()).toEqual(['failure', 'success', 'success'])
  })

  it('counts a rejected export as dropped and never fails the call', async () => {
    receiver.answerWith(400)
    client = createClient({ ...clientOptions, queue: { onDrop: () => undefined } }).use(langfuse({ publicKey: 'pk', secretKey: 'sk', baseUrl: receiver.url }))
    const reply = await client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'fine' })
    await client.flush()

    expect(reply.choices[0]!.message.content).toBe('fine')
    expect(client.services.queue.stats().sinks.langfuse!.dropped.rejected).toBe(1)
  })

  it('delivers recorded spans on close() without an explicit flush', async () => {
    client = createClient(clientOptions).use(langfuse({ publicKey: 'pk', secretKey: 'sk', baseUrl: receiver.url }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.close()

    expect(spansOf(receiver)).toHaveLength(1)
  })

  it('gives calls that share metadata.trace_id one trace, and shows retried attempts as child spans', async () => {
    const failFirstAttempt: Middleware = async (ctx, next) => {
      ctx.request.mock_error = ctx.attempt === 1 ? { status: 503, message: 'Overloaded' } : undefined
      await next()
    }
    client = createClient(clientOptions).use(
      langfuse({ publicKey: 'pk', secretKey: 'sk', baseUrl: receiver.url }),
      retry({ retries: 2, minTimeoutMs: 0 }),
      failFirstAttempt,
    )
    await client.chat({ model: 'mock/echo', messages: prompt, metadata: { trace_id: 'checkout-42' } })
    await client.chat({ model: 'mock/echo', messages: prompt, metadata: { trace_id: 'checkout-42' } })
    await client.flush()

    const spans = spansOf(receiver)
    const calls = spans.filter((span) => span.parentSpanId === '')
    expect(calls).toHaveLength(2)
    expect(calls[0]!.traceId).toBe(calls[1]!.traceId)
    expect(calls[0]!.traceId).toMatch(/^[0-9a-f]{32}$/)
    const attempts = spans.filter((span) => span.parentSpanId === calls[0]!.spanId)
    expect(attempts.map((span) => span.attributes['llm_onion.attempt'])).toEqual([1, 2])
    expect(attempts[0]!.status.code).toBe(StatusCode.ERROR)
    expect(attempts[0]!.attributes['error.type']).toBe('ServiceUnavailableError')
    expect(attempts[1]!.status.code).toBe(StatusCode.UNSET)
    expect(attempts.every((span) => span.traceId === calls[0]!.traceId && span.kind === SpanKind.CLIENT)).toBe(true)
    expect(calls[0]!.attributes['llm_onion.attempts']).toBe(2)
  })

  it('never sends the provider API key, an authorization header or the OTEL_EXPORTER_OTLP_HEADERS of the application', async () => {
    process.env.OTEL_EXPORTER_OTLP_HEADERS = 'x-honeycomb-team=hc-app-secret'
    try {
      client = createClient(clientOptions).use(langfuse({ publicKey: 'pk', secretKey: 'sk', baseUrl: receiver.url }))
      await client.chat({ model: 'mock/echo', messages: prompt, metadata, api_key: 'sk-provider-secret' }, { http })
      await client.flush()
    } finally {
      delete process.env.OTEL_EXPORTER_OTLP_HEADERS
    }

    const payload = payloadOf(spansOf(receiver))
    expect(payload).not.toContain('sk-secret')
    expect(payload).not.toContain('sk-provider-secret')
    expect(payload.toLowerCase()).not.toContain('authorization')
    expect(receiver.requests[0]!.headers['x-honeycomb-team']).toBeUndefined()
  })

  exporterContract({
    name: 'langfuse',
    layer: (url, redact) => langfuse({ publicKey: 'pk', secretKey: 'sk', baseUrl: url, redact }),
    client: clientOptions,
    run: runCalls,
    payloadOf: otlpPayloadOf,
  })

  it('reads LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY and LANGFUSE_HOST from the environment', async () => {
    client = createClient().use(langfuse({ env: { LANGFUSE_PUBLIC_KEY: 'pk-env', LANGFUSE_SECRET_KEY: 'sk-env', LANGFUSE_HOST: `${receiver.url}/` } }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()

    expect(receiver.requests[0]!.path).toBe('/api/public/otel/v1/traces')
    expect(receiver.requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from('pk-env:sk-env').toString('base64')}`)
  })

  it('fails at construction naming the missing variable', () => {
    expect(() => langfuse({ env: { LANGFUSE_SECRET_KEY: 'sk' } })).toThrow(/LANGFUSE_PUBLIC_KEY/)
    expect(() => langfuse({ env: { LANGFUSE_PUBLIC_KEY: 'pk' } })).toThrow(/LANGFUSE_SECRET_KEY/)
  })

  it('sends the calls a closed client left in its spool from the next client, as the spans it would have sent', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'llm-onion-langfuse-spool-'))
    const down = await startReceiver()
    try {
      down.answerWith(...Array.from({ length: 200 }, () => 503))
      const log = callLog()
      const keys = { publicKey: 'pk-lf-1', secretKey: 'sk-lf-2' }
      // The first retry waits a second, and the client closes after 200 ms: the calls are dropped as
      // closed (kept in the spool), never as rejected after their retries (acknowledged, gone).
      const first = createClient({ ...clientOptions, queue: { minTimeoutMs: 1_000, spool: directory, closeTimeoutMs: 200 } }).use(langfuse({ ...keys, baseUrl: down.url }), log.layer)
      await first.chat({ model: 'mock/echo', messages: prompt, metadata: { session_id: 'session-9' } })
      await first.chat({ model: 'mock/echo', messages: prompt, mock_response: 'Lyon is not.' })
      await first.close()
      expect(first.services.queue.stats().dropped).toEqual({ closed: 2 })
      expect(down.requests.length).toBeGreaterThan(0)
      expect(receiver.requests).toHaveLength(0)

      // The next process's client sends them as soon as its langfuse layer is added.
      client = createClient({ ...clientOptions, queue: { ...clientOptions.queue, spool: directory } }).use(langfuse({ ...keys, baseUrl: receiver.url }))
      await client.flush()
      const spans = spansOf(receiver)
      expect(spans).toHaveLength(2)
      const [withSession, other] = log.calls.map((call) => byCallId(spans, call.id))
      expect(withSession!.startTimeUnixNano).toBe(BigInt(log.calls[0]!.start) * 1_000_000n)
      expect(withSession!.attributes).toMatchObject({ 'session.id': 'session-9', 'gen_ai.request.model': 'echo', 'langfuse.observation.type': 'generation' })
      expect(JSON.parse(String(withSession!.attributes['gen_ai.input.messages']))).toEqual([
        { role: 'system', parts: [{ type: 'text', content: 'Answer briefly.' }] },
        { role: 'user', parts: [{ type: 'text', content: 'What is the capital of France?' }] },
      ])
      expect(String(other!.attributes['gen_ai.output.messages'])).toContain('Lyon is not.')
      // Closed here, before its spool's directory goes: the close writes the acknowledgements.
      await client.close()
    } finally {
      await down.close()
      rmSync(directory, { recursive: true, force: true })
    }
  })

  it('rejects an unknown option naming it', () => {
    expect(() => langfuse({ publicKey: 'pk', secretKey: 'sk', host: 'x' } as never)).toThrow(/langfuse\(\) options/)
  })
})
