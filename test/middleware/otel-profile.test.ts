import { hrTimeToMilliseconds } from '@opentelemetry/core'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { SpanKind, trace } from '@opentelemetry/api'
import { afterEach, describe, expect, it } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { otel } from 'llm-onion/middleware/otel'
import { busyLayer } from '../../src/testing/busy-wait'

const prompt = [{ role: 'user' as const, content: 'one two three' }]

describe('otel() on a profiled client', () => {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  let client: Client | undefined
  afterEach(async () => {
    await client?.close()
    exporter.reset()
    trace.disable()
  })

  const layerSpans = (): ReadableSpan[] => exporter.getFinishedSpans().filter((span) => span.name.startsWith('layer '))
  const callSpan = (): ReadableSpan => exporter.getFinishedSpans().find((span) => span.kind === SpanKind.CLIENT)!
  const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId ?? (span as unknown as { parentSpanId?: string }).parentSpanId

  for (const kind of ['chat', 'stream'] as const) {
    it(`writes each layer as a child span of the call's span with its own times (${kind})`, async () => {
      client = createClient({ profile: true, middleware: [busyLayer('outside', 40, 2), otel({ tracerProvider: provider }), busyLayer('slow', 60, 5), busyLayer('quick', 0, 0)] })
      if (kind === 'chat') await client.chat({ model: 'mock/echo', messages: prompt })
      else for await (const _chunk of client.stream({ model: 'mock/echo', messages: prompt })) void _chunk

      const spans = layerSpans()
      expect(spans.map((span) => span.name)).toEqual(['layer outside', 'layer otel', 'layer slow', 'layer quick'])
      const call = callSpan()
      for (const span of spans) {
        expect(parentOf(span)).toBe(call.spanContext().spanId)
        expect(span.spanContext().traceId).toBe(call.spanContext().traceId)
        expect(span.kind).toBe(SpanKind.INTERNAL)
        expect(hrTimeToMilliseconds(span.endTime)).toBeGreaterThanOrEqual(hrTimeToMilliseconds(span.startTime))
      }
      const attribute = (name: string, key: string) => spans.find((span) => span.name === `layer ${name}`)!.attributes[`llm_onion.layer.${key}`] as number
      expect(attribute('slow', 'name')).toBe('slow')
      expect(attribute('slow', 'before_us')).toBeGreaterThanOrEqual(60_000)
      expect(attribute('slow', 'after_us')).toBeGreaterThanOrEqual(5_000)
      expect(attribute('outside', 'before_us')).toBeGreaterThanOrEqual(40_000)
      expect(attribute('slow', 'before_us')).toBeGreaterThan(attribute('quick', 'before_us'))
      // A layer's span lasts at least its own time, and the outer layer's span holds the inner one's.
      const slow = spans.find((span) => span.name === 'layer slow')!
      const outside = spans.find((span) => span.name === 'layer outside')!
      expect(hrTimeToMilliseconds(slow.endTime) - hrTimeToMilliseconds(slow.startTime)).toBeGreaterThanOrEqual(65)
      expect(hrTimeToMilliseconds(outside.startTime)).toBeLessThanOrEqual(hrTimeToMilliseconds(slow.startTime))
      expect(hrTimeToMilliseconds(outside.endTime)).toBeGreaterThanOrEqual(hrTimeToMilliseconds(slow.endTime))
    })
  }

  it('writes no layer spans on a client without profiling', async () => {
    client = createClient({ middleware: [otel({ tracerProvider: provider }), busyLayer('slow', 1, 1)] })
    await client.chat({ model: 'mock/echo', messages: prompt })
    expect(exporter.getFinishedSpans()).toHaveLength(1)
    expect(layerSpans()).toHaveLength(0)
  })
})
