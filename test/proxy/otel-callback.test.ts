/**
 * `success_callback: ["otel"]` in the proxy exported nothing and said nothing when no tracer provider
 * was registered (issue 15, "Config habits"). It now exports over OTLP from the OpenTelemetry (or
 * LiteLLM's) variables, keeps using a registered tracer provider, or refuses to start naming what is missing.
 */
import { trace } from '@opentelemetry/api'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createClient } from 'llm-onion'
import { parseConfig } from '../../src/proxy/config'
import { assembleLayers } from '../../src/proxy/layers'
import { startReceiver, type Receiver } from '../../src/testing/receiver'
import type { Middleware } from '../../src/types'
import { decodeOtlpTraces } from '../fakes/otlp-decoder'

const router: Middleware = async (_ctx, next) => next()
const otelConfig = () =>
  parseConfig({ model_list: [{ model_name: 'm', litellm_params: { model: 'mock/m' } }], litellm_settings: { success_callback: ['otel'], failure_callback: ['otel'] } })

/** Builds the proxy's layers from the otel config, makes one call through them and flushes. */
async function callThroughProxyLayers(): Promise<string[]> {
  const { layers, names } = await assembleLayers(otelConfig(), {}, router)
  const client = createClient({ middleware: layers, queue: { minTimeoutMs: 10 } })
  await client.chat({ model: 'mock/echo', messages: [{ role: 'user', content: 'Hello' }], mock_response: 'Hi' })
  await client.close()
  return names
}

let receiver: Receiver | undefined
afterEach(async () => {
  vi.unstubAllEnvs()
  await receiver?.close()
  receiver = undefined
})

describe('"otel" in the proxy callback lists', () => {
  it('exports spans over OTLP to OTEL_EXPORTER_OTLP_ENDPOINT when no tracer provider is registered', async () => {
    receiver = await startReceiver()
    vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', receiver.url)
    vi.stubEnv('OTEL_EXPORTER_OTLP_HEADERS', 'x-collector-key=collector-1')
    const names = await callThroughProxyLayers()

    expect(names.join(' ')).toContain('otel → otlp (OTEL_EXPORTER_OTLP_ENDPOINT)')
    expect(receiver.requests).toHaveLength(1)
    expect(receiver.requests[0]!.path).toBe('/v1/traces')
    expect(receiver.requests[0]!.headers['x-collector-key']).toBe('collector-1')
    const [span] = decodeOtlpTraces(receiver.requests[0]!.body)
    expect(span!.attributes['gen_ai.operation.name']).toBe('chat')
  })

  it("reads LiteLLM's OTEL_ENDPOINT and OTEL_HEADERS when the standard variables are unset", async () => {
    receiver = await startReceiver()
    vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', '')
    vi.stubEnv('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', '')
    vi.stubEnv('OTEL_ENDPOINT', `${receiver.url}/v1/traces`)
    vi.stubEnv('OTEL_HEADERS', 'api-key=litellm-style-1')
    const names = await callThroughProxyLayers()

    expect(names.join(' ')).toContain('otel → otlp (OTEL_ENDPOINT)')
    expect(receiver.requests[0]!.path).toBe('/v1/traces')
    expect(receiver.requests[0]!.headers['api-key']).toBe('litellm-style-1')
  })

  it('refuses to start naming OTEL_EXPORTER_OTLP_ENDPOINT when nothing would receive the spans', async () => {
    for (const variable of ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_ENDPOINT']) vi.stubEnv(variable, '')
    await expect(assembleLayers(otelConfig(), {}, router)).rejects.toThrow(/litellm_settings\.success_callback: "otel" would export nothing.*Set OTEL_EXPORTER_OTLP_ENDPOINT/)
  })

  it('keeps recording into a registered tracer provider, exporting nothing of its own', async () => {
    receiver = await startReceiver()
    vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', receiver.url)
    const exporter = new InMemorySpanExporter()
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }))
    try {
      const names = await callThroughProxyLayers()
      expect(names.join(' ')).not.toContain('otlp')
      expect(exporter.getFinishedSpans().map((span) => span.name)).toEqual(['chat echo'])
      expect(receiver.requests).toHaveLength(0)
    } finally {
      trace.disable()
    }
  })
})
