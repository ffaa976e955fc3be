import { describe, expect, it } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { otlp } from 'llm-onion/middleware/otlp'
import { SpanKind, StatusCode } from '../fakes/otlp-decoder'
import { exporterContract, prompt, receiverPerTest, runCalls } from './exporter-contract'
import { otlpPayloadOf, spansOf } from './otlp-spans'

const clientOptions = { queue: { minTimeoutMs: 10 } }

describe('otlp()', () => {
  let client: Client
  const receiver = receiverPerTest({ client: () => client })

  it('sends to OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces with the headers of OTEL_EXPORTER_OTLP_HEADERS, percent-decoded, as gzip protobuf', async () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: `${receiver.url}/`, OTEL_EXPORTER_OTLP_HEADERS: 'api-key=otlp%3Dkey-1, x-tenant=shop', OTEL_SERVICE_NAME: 'checkout' }
    client = createClient(clientOptions).use(otlp({ env }))
    await runCalls(client)

    expect(receiver.requests.length).toBeGreaterThan(0)
    for (const request of receiver.requests) {
      expect(request.path).toBe('/v1/traces')
      expect(request.headers['api-key']).toBe('otlp=key-1')
      expect(request.headers['x-tenant']).toBe('shop')
      expect(request.headers['content-type']).toBe('application/x-protobuf')
      expect(request.headers['content-encoding']).toBe('gzip')
    }
    const [success, streamed, failure] = spansOf(receiver)
    expect(success!.kind).toBe(SpanKind.CLIENT)
    expect(success!.resource['service.name']).toBe('checkout')
    expect(success!.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'echo' })
    // Content is opt-in for the generic exporter, as the GenAI conventions ask.
    expect(success!.attributes['gen_ai.input.messages']).toBeUndefined()
    expect(streamed!.attributes['gen_ai.request.stream']).toBe(true)
    expect(failure!.status.code).toBe(StatusCode.ERROR)
  })

  it('uses OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is and lets the per-signal headers win, sending no other header variable', async () => {
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/custom/spans`,
      OTEL_EXPORTER_OTLP_HEADERS: 'x-team=generic,x-shared=generic',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-shared=traces',
      OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'x-metrics-key=must-not-leave',
      OTEL_EXPORTER_OTLP_LOGS_HEADERS: 'x-logs-key=must-not-leave',
      HONEYCOMB_API_KEY: 'hc-must-not-leave',
    }
    client = createClient(clientOptions).use(otlp({ env }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()

    const [request] = receiver.requests
    expect(request!.path).toBe('/custom/spans')
    expect(request!.headers['x-team']).toBe('generic')
    expect(request!.headers['x-shared']).toBe('traces')
    expect(request!.headers['x-metrics-key']).toBeUndefined()
    expect(request!.headers['x-logs-key']).toBeUndefined()
    expect(JSON.stringify(request!.headers)).not.toContain('must-not-leave')
    expect(JSON.stringify(request!.headers)).not.toContain('hc-must-not-leave')
  })

  it('sends OTLP JSON when OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/json, the per-signal protocol winning', async () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' }
    client = createClient(clientOptions).use(otlp({ env, gzip: false }))
    await client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'Paris.' })
    await client.flush()

    const [request] = receiver.requests
    expect(request!.headers['content-type']).toBe('application/json')
    // The OTLP/JSON mapping (opentelemetry-proto, docs/specification.md): lowerCamelCase fields, hex ids, AnyValue objects.
    const body = request!.json as {
      resourceSpans: Array<{ resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> }; scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }>
    }
    const span = body.resourceSpans[0]!.scopeSpans[0]!.spans[0]! as { traceId: string; spanId: string; name: string; kind: number; attributes: Array<{ key: string; value: Record<string, unknown> }> }
    expect(span.traceId).toMatch(/^[0-9a-f]{32}$/)
    expect(span.spanId).toMatch(/^[0-9a-f]{16}$/)
    expect(span.name).toBe('chat echo')
    expect(span.kind).toBe(SpanKind.CLIENT)
    const attributes = Object.fromEntries(span.attributes.map(({ key, value }) => [key, value]))
    expect(attributes['gen_ai.operation.name']).toEqual({ stringValue: 'chat' })
    expect(attributes['gen_ai.usage.input_tokens']).toHaveProperty('intValue')
    expect(body.resourceSpans[0]!.resource.attributes.find((attribute) => attribute.key === 'service.name')?.value.stringValue).toBe('llm-onion')
  })

  it('takes url, headers and protocol as options over the variables', async () => {
    client = createClient(clientOptions).use(otlp({ url: `${receiver.url}/otlp/v1/traces`, headers: { authorization: 'Bearer opt-1' }, env: { OTEL_EXPORTER_OTLP_HEADERS: 'x-env=1' } }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()

    expect(receiver.requests[0]!.path).toBe('/otlp/v1/traces')
    expect(receiver.requests[0]!.headers.authorization).toBe('Bearer opt-1')
    expect(receiver.requests[0]!.headers['x-env']).toBeUndefined()
  })

  it('still delivers every span when the receiver answers 503 once, then 200', async () => {
    receiver.answerWith(503)
    client = createClient(clientOptions).use(otlp({ baseUrl: receiver.url }))
    await runCalls(client)
    expect(new Set(spansOf(receiver, 1).map((span) => span.spanId)).size).toBe(3)
  })

  it('fails at construction naming OTEL_EXPORTER_OTLP_ENDPOINT when no endpoint is set', () => {
    expect(() => otlp({ env: {} })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/)
  })

  it('refuses the grpc protocol, saying which values work', () => {
    expect(() => otlp({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' } })).toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL=grpc.*http\/protobuf or http\/json/)
  })

  it('names the variable of a malformed header list without quoting its value', () => {
    const build = () => otlp({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_EXPORTER_OTLP_HEADERS: 'secret-token-value-123' } })
    expect(build).toThrow(/OTEL_EXPORTER_OTLP_HEADERS: entry 1 is not a name=value pair/)
    expect(build).not.toThrow(/secret-token-value-123/)
  })

  exporterContract({
    name: 'otlp',
    layer: (url, redact) => otlp({ baseUrl: url, captureContent: true, headers: { 'api-key': 'otlp-key-secret' }, redact }),
    client: clientOptions,
    payloadOf: otlpPayloadOf,
    secrets: ['otlp-key-secret'],
  })
})
