import { describe, expect, it } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { logfire, logfireBaseUrlForToken } from 'llm-onion/middleware/logfire'
import { SpanKind, StatusCode } from '../fakes/otlp-decoder'
import { exporterContract, prompt, receiverPerTest, runCalls as runSharedCalls } from './exporter-contract'
import { expectOtlpRequests, otlpPayloadOf, spansOf } from './otlp-spans'

const token = 'pylf_v1_eu_write-token'
const clientOptions = { queue: { minTimeoutMs: 10 } }

/** The shared calls, with a 500 failure. */
const runCalls = (client: Client) => runSharedCalls(client, { failure: { status: 500, message: 'Upstream broke' } })

describe('logfire()', () => {
  let client: Client
  const receiver = receiverPerTest({ client: () => client })

  it('posts a success, a streamed success and a failure to /v1/traces with the bare token as Authorization', async () => {
    client = createClient(clientOptions).use(logfire({ token, baseUrl: receiver.url, serviceName: 'shop' }))
    await runCalls(client)

    expectOtlpRequests(receiver, { path: '/v1/traces', authorization: token })
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
    client = createClient(clientOptions).use(logfire({ token, baseUrl: receiver.url }))
    await runCalls(client)

    expect(new Set(spansOf(receiver, 1).map((span) => span.spanId)).size).toBe(3)
  })

  exporterContract({
    name: 'logfire',
    layer: (url, redact) => logfire({ token, baseUrl: url, redact }),
    client: clientOptions,
    run: runCalls,
    payloadOf: otlpPayloadOf,
    secrets: [token],
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
