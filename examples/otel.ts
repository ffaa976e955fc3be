// otel(): GenAI spans in the application's own OpenTelemetry setup. Offline: the mock provider and an
// in-memory exporter stand in for a real model and a real collector.
import { trace } from '@opentelemetry/api'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { createClient, defineMiddleware } from 'llm-onion'
import { otel, retry } from 'llm-onion/middleware'

// The application's tracing setup (in production: NodeSDK with an OTLP exporter to its collector).
const exporter = new InMemorySpanExporter()
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
trace.setGlobalTracerProvider(provider)

// Stands in for a flaky provider: the first attempt of a call asking for it fails with a 503.
const flakyFirstAttempt = defineMiddleware(async function flakyFirstAttempt(ctx, next) {
  if (ctx.metadata.flaky) ctx.request.mock_error = ctx.attempt === 1 ? { status: 503, message: 'Overloaded' } : undefined
  await next()
})

const client = createClient()
client.use(otel(), retry({ retries: 2, minTimeoutMs: 10 }), flakyFirstAttempt)

const messages = [{ role: 'user' as const, content: 'Name a French city.' }]
await client.chat({ model: 'mock/gpt-4o-mini', messages, temperature: 0.2, mock_response: 'Lyon.' })
for await (const _chunk of client.stream({ model: 'mock/gpt-4o-mini', messages, mock_response: 'Marseille, then Nice.' })) void _chunk
await client.chat({ model: 'mock/gpt-4o-mini', messages, metadata: { flaky: true } })
await client.close()

const spans = exporter.getFinishedSpans()
const byId = new Map(spans.map((span) => [span.spanContext().spanId, span]))
for (const span of spans) {
  const parent = span.parentSpanContext ? byId.get(span.parentSpanContext.spanId) : undefined
  const attributes = span.attributes
  console.log(
    `${parent ? '  └ ' : ''}${span.name}`,
    JSON.stringify({
      provider: attributes['gen_ai.provider.name'],
      stream: attributes['gen_ai.request.stream'],
      inputTokens: attributes['gen_ai.usage.input_tokens'],
      outputTokens: attributes['gen_ai.usage.output_tokens'],
      timeToFirstChunk: attributes['gen_ai.response.time_to_first_chunk'],
      attempt: attributes['llm_onion.attempt'],
      error: attributes['error.type'],
    }),
  )
}
if (spans.length !== 5) throw new Error(`expected 5 spans (3 calls, 2 attempts of the flaky one), got ${spans.length}`)
await provider.shutdown()
