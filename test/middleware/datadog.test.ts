import { describe, expect, it } from 'vitest'
import { callEventSchema, createClient, type Client } from 'llm-onion'
import { callbacks } from 'llm-onion/middleware/callbacks'
import { datadog, type DatadogLogItem, type LlmObsSpan } from 'llm-onion/middleware/datadog'
import { decodeOtlpTraces, SpanKind } from '../fakes/otlp-decoder'
import type { ReceivedRequest } from '../../src/testing/receiver'
import { exporterContract, receiverPerTest, runCalls as runSharedCalls } from './exporter-contract'

const env = { DD_API_KEY: 'dd-key', DD_SERVICE: 'checkout', DD_ENV: 'staging', DD_VERSION: '1.2.3', DD_SOURCE: 'shop' }
const clientOptions = { cost: { prices: { 'mock/echo': { input: 1, output: 2 } } }, queue: { minTimeoutMs: 10 } }

interface SpansBody {
  data: { type: string; attributes: { ml_app: string; tags: string[]; spans: LlmObsSpan[] } }
}

const logRequests = (requests: ReceivedRequest[]) => requests.filter((request) => request.path === '/api/v2/logs')
const spanRequests = (requests: ReceivedRequest[]) => requests.filter((request) => request.path === '/api/intake/llm-obs/v1/trace/spans')
const logsOf = (requests: ReceivedRequest[]) => requests.flatMap((request) => request.json as DatadogLogItem[])
const spansOf = (requests: ReceivedRequest[]) => requests.flatMap((request) => (request.json as SpansBody).data.attributes.spans)

/** The shared calls, with a session id in the metadata. */
const runCalls = (client: Client) => runSharedCalls(client, { metadata: { session_id: 'session-9' } })

describe('datadog()', () => {
  let client: Client
  const receiver = receiverPerTest({ client: () => client })

  it('posts every call as a gzip JSON log entry to /api/v2/logs with DD-API-KEY and the env tags', async () => {
    client = createClient(clientOptions).use(datadog({ env: { ...env, DD_BASE_URL: receiver.url }, hostname: 'web-1', llmObservability: false }))
    await runCalls(client)

    const requests = logRequests(receiver.requests)
    expect(requests.length).toBe(receiver.requests.length)
    for (const request of requests) {
      expect(request.method).toBe('POST')
      expect(request.headers['dd-api-key']).toBe('dd-key')
      expect(request.headers['content-type']).toBe('application/json')
      expect(request.headers['content-encoding']).toBe('gzip')
      expect(Array.isArray(request.json)).toBe(true)
    }
    const logs = logsOf(requests)
    expect(logs).toHaveLength(3)
    for (const log of logs) {
      expect(Object.keys(log).sort()).toEqual(['ddsource', 'ddtags', 'hostname', 'message', 'service', 'status'])
      expect(log).toMatchObject({ ddsource: 'shop', ddtags: 'service:checkout,env:staging,version:1.2.3,source:shop', hostname: 'web-1', service: 'checkout' })
    }
    const events = logs.map((log) => callEventSchema.parse(JSON.parse(log.message)))
    expect(logs.map((log) => log.status)).toEqual(['info', 'info', 'error'])
    expect(events.map((event) => [event.status, event.streaming])).toEqual([['success', false], ['success', true], ['failure', false]])
    expect(events[0]!.response).toMatchObject({ choices: [{ message: { content: 'Paris is the capital.' } }] })
    expect(events[2]!.error).toMatchObject({ type: 'RateLimitError', message: 'Slow down', status: 429 })
  })

  it('posts every call as an LLM Observability span to the JSON spans intake', async () => {
    client = createClient(clientOptions).use(datadog({ env: { ...env, DD_BASE_URL: receiver.url }, logs: false }))
    await runCalls(client)

    const requests = spanRequests(receiver.requests)
    expect(requests.length).toBe(receiver.requests.length)
    for (const request of requests) {
      expect(request.headers['dd-api-key']).toBe('dd-key')
      expect(request.headers['content-type']).toBe('application/json')
      const body = request.json as SpansBody
      expect(body.data.type).toBe('span')
      expect(body.data.attributes.ml_app).toBe('checkout')
      expect(body.data.attributes.tags).toEqual(['service:checkout', 'env:staging', 'version:1.2.3', 'source:shop'])
    }
    const [success, streamed, failure] = spansOf(requests)
    for (const span of [success, streamed, failure]) {
      expect(span!.parent_id).toBe('undefined')
      expect(span!.trace_id).toMatch(/^[0-9a-f]{32}$/)
      expect(span!.name).toBe('chat echo')
      expect(span!.meta.kind).toBe('llm')
      expect(span!.start_ns).toBeGreaterThan(1.6e18)
      expect(span!.duration).toBeGreaterThanOrEqual(0)
      expect(span!.tags).toContain('model_provider:mock')
    }
    expect(success!).toMatchObject({
      status: 'ok',
      session_id: 'session-9',
      meta: {
        input: { messages: [{ role: 'user', content: 'What is the capital of France?' }] },
        output: { messages: [{ role: 'assistant', content: 'Paris is the capital.' }] },
        metadata: { model_name: 'echo', model_provider: 'mock' },
      },
    })
    expect(success!.tags).toContain('user_id:user-7')
    expect(success!.metrics.total_tokens).toBe(success!.metrics.input_tokens! + success!.metrics.output_tokens!)
    expect(success!.metrics.total_cost).toBeCloseTo((success!.metrics.input_tokens! + 2 * success!.metrics.output_tokens!) / 1e6, 12)
    expect(streamed!.metrics.time_to_first_token).toBeGreaterThanOrEqual(0)
    expect(streamed!.meta.output).toEqual({ messages: [{ role: 'assistant', content: 'Paris, streamed.' }] })
    expect(failure!.status).toBe('error')
    expect(failure!.meta.error).toMatchObject({ type: 'RateLimitError', message: 'Slow down' })
  })

  it("mode: 'otlp' sends LLM Observability as OTLP protobuf with dd-api-key and dd-otlp-source: llmobs", async () => {
    client = createClient(clientOptions).use(datadog({ env: { ...env, DD_BASE_URL: receiver.url }, logs: false, mode: 'otlp' }))
    await runCalls(client)

    for (const request of receiver.requests) {
      expect(request.path).toBe('/v1/traces')
      expect(request.headers['dd-api-key']).toBe('dd-key')
      expect(request.headers['dd-otlp-source']).toBe('llmobs')
      expect(request.headers['content-type']).toBe('application/x-protobuf')
    }
    const spans = receiver.requests.flatMap((request) => decodeOtlpTraces(request.body))
    expect(spans).toHaveLength(3)
    expect(spans.every((span) => span.kind === SpanKind.CLIENT && span.attributes['gen_ai.operation.name'] === 'chat')).toBe(true)
    expect(spans[0]!.resource).toMatchObject({ 'service.name': 'checkout', 'deployment.environment.name': 'staging', 'service.version': '1.2.3' })
  })

  it('still delivers every log and span when the receiver answers 500 once, then 200', async () => {
    receiver.answerWith(500)
    client = createClient(clientOptions).use(datadog({ env: { ...env, DD_BASE_URL: receiver.url } }))
    await runCalls(client)

    const delivered = receiver.requests.slice(1)
    expect(logsOf(logRequests(delivered))).toHaveLength(3)
    expect(spansOf(spanRequests(delivered))).toHaveLength(3)
  })

  // Logs and LLM Observability spans go out in requests of their own, so there are at least two.
  exporterContract({
    name: 'datadog',
    layer: (url, redact) => datadog({ env: { ...env, DD_BASE_URL: url }, redact }),
    client: clientOptions,
    run: runCalls,
    secrets: ['dd-key'],
    requests: { atLeast: 2 },
  })

  describe("in callback lists, LiteLLM's names", () => {
    const listed = (names: string[], options: Record<string, unknown> = {}) =>
      callbacks({ success: names, failure: names, integrationOptions: { datadog: { env: { ...env, DD_BASE_URL: receiver.url }, ...options } } })

    it('datadog_llm_observability sends LLM Observability spans only', async () => {
      client = createClient(clientOptions).use(listed(['datadog_llm_observability']))
      await runCalls(client)

      expect(logRequests(receiver.requests)).toHaveLength(0)
      const spans = spansOf(spanRequests(receiver.requests))
      expect(spans.map((span) => span.status)).toEqual(['ok', 'ok', 'error'])
      expect(spans[0]!.meta.kind).toBe('llm')
    })

    it('datadog sends Datadog logs only, as LiteLLM\'s datadog callback does', async () => {
      client = createClient(clientOptions).use(listed(['datadog']))
      await runCalls(client)

      expect(spanRequests(receiver.requests)).toHaveLength(0)
      expect(logsOf(logRequests(receiver.requests)).map((log) => log.status)).toEqual(['info', 'info', 'error'])
    })

    it('both names send both, each once per call', async () => {
      client = createClient(clientOptions).use(listed(['datadog', 'datadog_llm_observability']))
      await runCalls(client)

      expect(logsOf(logRequests(receiver.requests))).toHaveLength(3)
      expect(spansOf(spanRequests(receiver.requests))).toHaveLength(3)
    })

    it("options given for datadog come on top of what the name implies", async () => {
      client = createClient(clientOptions).use(listed(['datadog'], { llmObservability: true }))
      await runCalls(client)

      expect(logsOf(logRequests(receiver.requests))).toHaveLength(3)
      expect(spansOf(spanRequests(receiver.requests))).toHaveLength(3)
    })
  })

  it('fails at construction naming DD_API_KEY when no key is given, and when both outputs are off', () => {
    expect(() => datadog({ env: {} })).toThrow(/DD_API_KEY/)
    expect(() => datadog({ apiKey: 'k', logs: false, llmObservability: false })).toThrow(/llmObservability/)
  })

  it('rejects an unknown option naming it', () => {
    expect(() => datadog({ apiKey: 'k', ddsource: 'x' } as never)).toThrow(/datadog\(\) options/)
  })
})
