import { describe, expect, it } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { traceloop } from 'llm-onion/middleware/traceloop'
import { SpanKind, StatusCode } from '../fakes/otlp-decoder'
import { exporterContract, prompt, receiverPerTest, runCalls as runSharedCalls } from './exporter-contract'
import { expectOtlpRequests, otlpPayloadOf, payloadOf, spansOf } from './otlp-spans'

const clientOptions = { queue: { minTimeoutMs: 10 } }

/** The shared calls, with a 401 failure. */
const runCalls = (client: Client) => runSharedCalls(client, { failure: { status: 401, message: 'Bad key' } })

describe('traceloop()', () => {
  let client: Client
  const receiver = receiverPerTest({ client: () => client })

  it('posts a success, a streamed success and a failure to /v1/traces with a Bearer key, with the OpenLLMetry attributes', async () => {
    client = createClient(clientOptions).use(traceloop({ apiKey: 'tl-key', baseUrl: receiver.url }))
    await runCalls(client)

    expectOtlpRequests(receiver, { path: '/v1/traces', authorization: 'Bearer tl-key' })
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
    client = createClient(clientOptions).use(traceloop({ apiKey: 'tl-key', baseUrl: receiver.url }))
    await runCalls(client)

    expect(new Set(spansOf(receiver, 1).map((span) => span.spanId)).size).toBe(3)
  })

  // Redaction covers the OpenLLMetry attributes (gen_ai.prompt.N / gen_ai.completion.N) too.
  exporterContract({
    name: 'traceloop',
    layer: (url, redact) => traceloop({ apiKey: 'tl-key', baseUrl: url, redact }),
    client: clientOptions,
    run: runCalls,
    payloadOf: otlpPayloadOf,
    secrets: ['tl-key'],
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
