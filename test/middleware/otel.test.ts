import { AsyncLocalStorage } from 'node:async_hooks'
import { execFileSync } from 'node:child_process'
import { context, INVALID_SPAN_CONTEXT, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context as OtelContext, type ContextManager } from '@opentelemetry/api'
import { hrTimeToMilliseconds } from '@opentelemetry/core'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createClient, mock, type Client, type Middleware } from 'llm-onion'
import { otel } from 'llm-onion/middleware/otel'
import { retry } from 'llm-onion/middleware/retry'

const prompt = [{ role: 'user' as const, content: 'What is the capital of France?' }]

/** The application's own tracing setup: a provider with an in-memory exporter. */
function applicationTracing(): { provider: BasicTracerProvider; exporter: InMemorySpanExporter } {
  const exporter = new InMemorySpanExporter()
  return { exporter, provider: new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }) }
}

/** A minimal context manager on AsyncLocalStorage, as @opentelemetry/context-async-hooks provides. */
function asyncContextManager(): ContextManager {
  const storage = new AsyncLocalStorage<OtelContext>()
  return {
    active: () => storage.getStore() ?? ROOT_CONTEXT,
    with: (ctx, fn, thisArg, ...args) => storage.run(ctx, () => fn.apply(thisArg, args)),
    bind: (_ctx, target) => target,
    enable() {
      return this
    },
    disable() {
      storage.disable()
      return this
    },
  }
}

const failFirstAttempt: Middleware = async (ctx, next) => {
  ctx.request.mock_error = ctx.attempt === 1 ? { status: 503, message: 'Overloaded' } : undefined
  await next()
}

describe('otel()', () => {
  let tracing: ReturnType<typeof applicationTracing>
  let client: Client
  beforeEach(() => {
    tracing = applicationTracing()
  })
  afterEach(async () => {
    await client?.close()
    await tracing.provider.shutdown()
    trace.disable()
    context.disable()
  })

  const spans = (): ReadableSpan[] => tracing.exporter.getFinishedSpans()

  it('records one CLIENT span per call named "{operation} {model}" with the GenAI attributes', async () => {
    client = createClient().use(otel({ tracerProvider: tracing.provider }))
    const reply = await client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'Paris.', temperature: 0.2, max_tokens: 50, top_p: 0.9, stop: 'END', user: 'user-7' })

    expect(spans()).toHaveLength(1)
    const [span] = spans()
    expect(span!.name).toBe('chat echo')
    expect(span!.kind).toBe(SpanKind.CLIENT)
    expect(span!.instrumentationScope.name).toBe('llm-onion')
    expect(span!.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'mock',
      'gen_ai.request.model': 'echo',
      'gen_ai.response.model': 'echo',
      'gen_ai.response.id': reply.id,
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.request.temperature': 0.2,
      'gen_ai.request.max_tokens': 50,
      'gen_ai.request.top_p': 0.9,
      'gen_ai.request.stop_sequences': ['END'],
      'gen_ai.request.stream': false,
      'gen_ai.usage.input_tokens': reply.usage!.prompt_tokens,
      'gen_ai.usage.output_tokens': reply.usage!.completion_tokens,
      'server.address': 'local',
      'user.id': 'user-7',
    })
    expect(span!.status.code).toBe(SpanStatusCode.UNSET)
    expect(span!.attributes['gen_ai.input.messages']).toBeUndefined()
    expect(span!.attributes['gen_ai.output.messages']).toBeUndefined()
  })

  it("starts the span at the call's start and ends it after the last stream chunk reached the caller", async () => {
    client = createClient({ providers: { mock: mock({ chunkDelayMs: 2 }) } }).use(otel({ tracerProvider: tracing.provider }))
    const stream = client.stream({ model: 'mock/echo', messages: prompt, mock_response: 'Paris is the capital of France.' })
    let lastChunkAt = 0
    for await (const _chunk of stream) lastChunkAt = Date.now()

    expect(spans()).toHaveLength(1)
    const [span] = spans()
    expect(hrTimeToMilliseconds(span!.startTime)).toBe(stream.context.timing.start)
    expect(hrTimeToMilliseconds(span!.endTime)).toBeGreaterThanOrEqual(lastChunkAt)
    expect(span!.attributes['gen_ai.request.stream']).toBe(true)
    expect(span!.attributes['gen_ai.response.time_to_first_chunk']).toBe((stream.context.timing.firstChunk! - stream.context.timing.start) / 1000)
  })

  it('marks a failure with error.type, status ERROR and the exception', async () => {
    client = createClient().use(otel({ tracerProvider: tracing.provider }))
    await expect(client.chat({ model: 'mock/echo', messages: prompt, mock_error: { status: 429, message: 'Slow down' } })).rejects.toThrow('Slow down')

    const [span] = spans()
    expect(span!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'Slow down' })
    expect(span!.attributes['error.type']).toBe('RateLimitError')
    expect(span!.events.map((event) => [event.name, event.attributes?.['exception.type']])).toEqual([['exception', 'RateLimitError']])
  })

  it('outside retry(), shows each attempt as a child span of the call span', async () => {
    client = createClient().use(otel({ tracerProvider: tracing.provider }), retry({ retries: 2, minTimeoutMs: 0 }), failFirstAttempt)
    await client.chat({ model: 'mock/echo', messages: prompt })

    const call = spans().find((span) => span.parentSpanContext === undefined)!
    const attempts = spans().filter((span) => span.parentSpanContext?.spanId === call.spanContext().spanId)
    expect(spans()).toHaveLength(3)
    expect(attempts.map((span) => [span.name, span.attributes['llm_onion.attempt'], span.status.code])).toEqual([
      ['chat echo', 1, SpanStatusCode.ERROR],
      ['chat echo', 2, SpanStatusCode.UNSET],
    ])
    expect(attempts[0]!.attributes['error.type']).toBe('ServiceUnavailableError')
    expect(attempts.every((span) => span.spanContext().traceId === call.spanContext().traceId)).toBe(true)
    expect(hrTimeToMilliseconds(attempts[0]!.startTime)).toBeGreaterThanOrEqual(hrTimeToMilliseconds(call.startTime))
  })

  it('inside retry(), records one span per attempt', async () => {
    client = createClient().use(retry({ retries: 2, minTimeoutMs: 0 }), otel({ tracerProvider: tracing.provider }), failFirstAttempt)
    await client.chat({ model: 'mock/echo', messages: prompt })

    expect(spans().map((span) => [span.status.code, span.parentSpanContext])).toEqual([
      [SpanStatusCode.ERROR, undefined],
      [SpanStatusCode.UNSET, undefined],
    ])
  })

  it("joins the application's trace: the active span is its parent and inner layers see the call span as active", async () => {
    context.setGlobalContextManager(asyncContextManager())
    const tracer = tracing.provider.getTracer('app')
    let activeInside: string | undefined
    client = createClient().use(otel({ tracerProvider: tracing.provider }), async (_ctx, next) => {
      activeInside = trace.getActiveSpan()?.spanContext().spanId
      await next()
    })
    await tracer.startActiveSpan('handle request', async (requestSpan) => {
      await client.chat({ model: 'mock/echo', messages: prompt })
      requestSpan.end()
    })

    const call = spans().find((span) => span.name === 'chat echo')!
    const request = spans().find((span) => span.name === 'handle request')!
    expect(call.parentSpanContext?.spanId).toBe(request.spanContext().spanId)
    expect(call.spanContext().traceId).toBe(request.spanContext().traceId)
    expect(activeInside).toBe(call.spanContext().spanId)
  })

  it('uses the global tracer provider by default', async () => {
    trace.setGlobalTracerProvider(tracing.provider)
    client = createClient().use(otel())
    await client.chat({ model: 'mock/echo', messages: prompt })

    expect(spans().map((span) => span.name)).toEqual(['chat echo'])
  })

  it('adds the prompt and reply with captureContent, and redaction still removes their content', async () => {
    client = createClient().use(otel({ tracerProvider: tracing.provider, captureContent: true }))
    await client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'Paris.' })
    const redacting = createClient({ redact: { messages: true } }).use(otel({ tracerProvider: tracing.provider, captureContent: true }))
    await redacting.chat({ model: 'mock/echo', messages: prompt, mock_response: 'Paris.' })
    await redacting.close()

    const [plain, redacted] = spans()
    expect(JSON.parse(plain!.attributes['gen_ai.input.messages'] as string)).toEqual([{ role: 'user', parts: [{ type: 'text', content: prompt[0]!.content }] }])
    expect(JSON.parse(plain!.attributes['gen_ai.output.messages'] as string)).toEqual([
      { role: 'assistant', parts: [{ type: 'text', content: 'Paris.' }], finish_reason: 'stop' },
    ])
    const redactedText = JSON.stringify(redacted!.attributes)
    expect(redactedText).not.toContain('capital of France')
    expect(redactedText).not.toContain('Paris')
    expect(redactedText).toContain('[redacted]')
  })

  it('never puts the provider API key or an authorization header in a span, content captured or not', async () => {
    client = createClient().use(otel({ tracerProvider: tracing.provider, captureContent: true }))
    const http = { method: 'POST', url: '/v1/chat/completions', headers: { authorization: 'Bearer sk-secret' } }
    await client.chat({ model: 'mock/echo', messages: prompt, api_key: 'sk-provider-secret', metadata: { api_key: 'sk-secret', session_id: 's-1' } }, { http })

    const text = JSON.stringify(spans().map((span) => span.attributes))
    expect(text).toContain('s-1')
    expect(text).not.toContain('sk-secret')
    expect(text).not.toContain('sk-provider-secret')
    expect(text.toLowerCase()).not.toContain('authorization')
  })

  it('names an embeddings span "embeddings {model}" with its dimension count', async () => {
    client = createClient().use(otel({ tracerProvider: tracing.provider }))
    await client.embed({ model: 'mock/embed', input: ['a', 'b'], dimensions: 4 })

    const [span] = spans()
    expect(span!.name).toBe('embeddings embed')
    expect(span!.attributes).toMatchObject({ 'gen_ai.operation.name': 'embeddings', 'gen_ai.embeddings.dimension.count': 4 })
    expect(span!.attributes['gen_ai.request.stream']).toBeUndefined()
  })

  it('with moments: ["failure"], records failed calls only, still from their start', async () => {
    client = createClient().use(otel({ tracerProvider: tracing.provider, moments: ['failure'] }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    const failing = client.chat({ model: 'mock/echo', messages: prompt, mock_error: { status: 500 } })
    await expect(failing).rejects.toThrow()

    expect(spans()).toHaveLength(1)
    expect(spans()[0]!.status.code).toBe(SpanStatusCode.ERROR)
  })

  it('a tracer that throws goes to onHookError and never fails the call', async () => {
    const errors: string[] = []
    const broken = { getTracer: () => ({ startSpan: () => { throw new Error('tracer broke') } }) } as never
    client = createClient({ onHookError: (error) => errors.push((error as Error).message) }).use(otel({ tracerProvider: broken }))
    const reply = await client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'fine' })

    expect(reply.choices[0]!.message.content).toBe('fine')
    expect(errors).toEqual(['tracer broke'])
  })

  it('does nothing more with a span the application does not record than end it', async () => {
    const errors: unknown[] = []
    let ended = 0
    const refuse = () => {
      throw new Error('a span that is not recording was written to')
    }
    const unrecorded = { isRecording: () => false, end: () => void ended++, updateName: refuse, setAttributes: refuse, setAttribute: refuse, setStatus: refuse, recordException: refuse, spanContext: () => INVALID_SPAN_CONTEXT }
    const sampledOut = { getTracer: () => ({ startSpan: () => unrecorded }) } as never
    client = createClient({ onHookError: (error) => errors.push(error) }).use(otel({ tracerProvider: sampledOut }))
    await client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'fine' })
    await expect(client.chat({ model: 'mock/echo', messages: prompt, mock_error: { status: 500, message: 'down' } })).rejects.toThrow('down')
    expect(errors).toEqual([])
    expect(ended).toBe(2)
  })

  it('rejects an unknown option naming it', () => {
    expect(() => otel({ tracer: 'x' } as never)).toThrow(/otel\(\) options/)
  })
})

describe('loading', () => {
  it('importing llm-onion, llm-onion/middleware or a layer loads no OpenTelemetry SDK until an OTLP preset needs it', () => {
    const script = `
      import { createRequire } from 'node:module'
      const require = createRequire(process.cwd() + '/')
      const sdkLoaded = () => Object.keys(require.cache).some((path) => path.includes('/@opentelemetry/sdk-trace-base/'))
      await import('./src/index.ts')
      await import('./middleware/index.ts')
      await import('./middleware/helicone.ts')
      await import('./middleware/langfuse.ts')
      await import('./middleware/otel.ts')
      const before = sdkLoaded()
      const { loadOtelSdk } = await import('./src/integrations/otel/sdk.ts')
      await loadOtelSdk()
      console.log(JSON.stringify({ before, after: sdkLoaded() }))
    `
    const output = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', cwd: process.cwd() })
    // "after" shows the check can see the SDK once it is loaded.
    expect(JSON.parse(output.trim().split('\n').pop()!)).toEqual({ before: false, after: true })
  })
})
