import { describe, expect, it } from 'vitest'
import type { CallEvent } from '../../src/event'
import { createOtlpProtobufEncoder } from '../../src/integrations/otel/otlp-protobuf'
import { createSdkSpanEncoder, type TracedCall } from '../../src/integrations/otel/pipeline'
import { loadOtelSdk } from '../../src/integrations/otel/sdk'
import { callSpanTree, tracedCall, type CallSpanTree, type FinishedCall, type TracedCallOptions } from '../../src/integrations/otel/span-record'
import { toOtelTraceId } from '../../src/integrations/otel/ids'
import { decodeOtlpTraces, StatusCode } from '../fakes/otlp-decoder'

/** The same span ids, in the same order, for both encoders. */
function spanIds(): () => string {
  let next = 0
  return () => (++next).toString(16).padStart(16, '0')
}

const sdk = await loadOtelSdk()

/** Both encoders over the same resource, each with its own run of span ids from 1. */
function encodeBoth(calls: TracedCall[], resourceAttributes: Record<string, string> = { 'service.name': 'shop' }) {
  const resource = sdk.resources.defaultResource().merge(sdk.resources.resourceFromAttributes(resourceAttributes))
  const official = createSdkSpanEncoder(sdk, resource, 'http/protobuf', spanIds())(calls)!
  const direct = createOtlpProtobufEncoder({ resource: resource.attributes, resourceSchemaUrl: resource.schemaUrl, scope: 'llm-onion' }, spanIds())(calls)
  return { official: Buffer.from(official), direct: Buffer.from(direct) }
}

const start = 1_764_900_000_123.4567
let sequence = 0

function event(overrides: Partial<CallEvent> = {}): CallEvent {
  sequence++
  return {
    id: `0b8e5c1e-7f6d-4b7a-9c55-2f1e8d4c3b${String(sequence).padStart(2, '0')}`,
    traceId: `0b8e5c1e-7f6d-4b7a-9c55-2f1e8d4c3b${String(sequence).padStart(2, '0')}`,
    type: 'chat',
    model: 'openai/gpt-4o-mini',
    provider: 'openai',
    apiBase: 'https://api.openai.com/v1',
    status: 'success',
    streaming: false,
    messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Grüße — 你好 🌍 ' + 'long '.repeat(40) }],
    parameters: { temperature: 0.7, max_tokens: 256, seed: -42, stop: ['\n\n', 'END'] },
    response: { id: 'chatcmpl-1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'Hello 👋' }, finish_reason: 'stop' }] },
    responseModel: 'gpt-4o-mini-2024-07-18',
    usage: { inputTokens: 25, outputTokens: 7, totalTokens: 32 },
    cost: { input: 0.00000375, output: 0.0000042, total: 0.00000795, currency: 'USD' },
    startTime: start + sequence,
    endTime: start + sequence + 812.3333,
    latencyMs: 812.3333,
    attempts: [{ attempt: 1, model: 'openai/gpt-4o-mini', provider: 'openai', status: 'success', start: start + sequence, end: start + sequence + 812.3333 }],
    metadata: { session_id: 'session-7' },
    tags: ['checkout', 'beta'],
    user: 'user-1',
    cacheHit: false,
    ...overrides,
  } as unknown as CallEvent
}

function traced(source: CallEvent, captureContent = true, extra?: Record<string, unknown>): TracedCall {
  const tree: CallSpanTree = callSpanTree(source, { captureContent, extraAttributes: extra ? () => extra as never : undefined })
  return { tree, traceId: toOtelTraceId(source.traceId) }
}

describe('createOtlpProtobufEncoder()', () => {
  it('writes the very bytes of the SDK and the official serializer for a successful call, content and every attribute type included', () => {
    const { official, direct } = encodeBoth([traced(event())])
    expect(direct.equals(official)).toBe(true)
    // And they decode to the call: the comparison is not of two empty bodies.
    const [span] = decodeOtlpTraces(direct)
    expect(span!.name).toBe('chat gpt-4o-mini')
    expect(span!.attributes['gen_ai.request.seed']).toBe(-42)
    expect(span!.attributes['gen_ai.request.stop_sequences']).toEqual(['\n\n', 'END'])
    expect(span!.resource['service.name']).toBe('shop')
  })

  it('writes the same bytes for a failed call (error status and exception event), with and without a stack', () => {
    const failed = event({ status: 'failure', response: undefined, usage: undefined, cost: undefined, error: { type: 'RateLimitError', message: 'Slow down — 429', status: 429, stack: 'RateLimitError: Slow down\n    at call (provider.ts:1:1)' } } as Partial<CallEvent>)
    const noStack = event({ status: 'failure', response: undefined, error: { type: 'TimeoutError', message: 'no answer in 30 s' } } as Partial<CallEvent>)
    const noMessage = event({ status: 'failure', response: undefined, error: { type: 'Weird', message: '' } } as Partial<CallEvent>)
    const { official, direct } = encodeBoth([traced(failed), traced(noStack), traced(noMessage)])
    expect(direct.equals(official)).toBe(true)
    const spans = decodeOtlpTraces(direct)
    expect(spans.map((span) => span.status.code)).toEqual([StatusCode.ERROR, StatusCode.ERROR, StatusCode.ERROR])
  })

  it('writes the same bytes for a retried call: the attempts as children of the call span, ended first', () => {
    const attempts = [
      { attempt: 1, model: 'openai/gpt-4o', provider: 'openai', status: 'error', start: start + 1, end: start + 30.5, error: { type: 'ServerError', message: '500 from upstream' } },
      { attempt: 2, model: 'anthropic/claude-3-5-haiku', provider: 'anthropic', status: 'error', start: start + 31, end: start + 90, error: { type: 'Overloaded', message: 'overloaded' } },
      { attempt: 3, model: 'openai/gpt-4o-mini', provider: 'openai', status: 'success', start: start + 91, end: start + 400.25 },
    ]
    const { official, direct } = encodeBoth([traced(event({ attempts } as Partial<CallEvent>)), traced(event())])
    expect(direct.equals(official)).toBe(true)
    const spans = decodeOtlpTraces(direct)
    expect(spans).toHaveLength(5)
    expect(spans.slice(0, 3).every((span) => span.parentSpanId === spans[3]!.spanId)).toBe(true)
  })

  it('writes the same bytes for an embedding, a call that ends before it starts and a batch of 64 calls', () => {
    const embedding = event({ type: 'embedding', model: 'openai/text-embedding-3-small', input: ['a', 'b'], messages: undefined, response: undefined, parameters: { dimensions: 256 } } as Partial<CallEvent>)
    const backwards = event({ endTime: start - 5 } as Partial<CallEvent>)
    const many = Array.from({ length: 64 }, (_, index) => traced(event({ streaming: index % 2 === 0, ttftMs: 120.5 + index } as Partial<CallEvent>), index % 3 !== 0))
    const { official, direct } = encodeBoth([traced(embedding), traced(backwards), ...many], { 'service.name': 'shop', 'deployment.environment.name': 'prod' })
    expect(direct.equals(official)).toBe(true)
    expect(direct.length).toBeGreaterThan(64 * 500)
  })

  it('leaves out what the SDK leaves out (empty keys, null, undefined, mixed arrays) and counts attributes past 128 as dropped as it does', () => {
    const odd = { '': 'empty key', nothing: null, missing: undefined, mixed: ['a', 1], withNulls: ['a', null, 'b'], large: 2 ** 40, negative: -7, fraction: -0.5, yes: true, no: false, numbers: [1, 2.5, 3] }
    const many = Object.fromEntries(Array.from({ length: 150 }, (_, index) => [`extra.${index}`, index]))
    const { official, direct } = encodeBoth([traced(event(), false, odd), traced(event(), false, many)])
    expect(direct.equals(official)).toBe(true)
    const spans = decodeOtlpTraces(direct)
    expect(spans[0]!.attributes).not.toHaveProperty('mixed')
    expect(Object.keys(spans[1]!.attributes)).toHaveLength(128)
  })

  it('writes the same bytes for times at the edges of a second and a millisecond, ids in any case, strings of every length and several servers', () => {
    const times = [1_764_900_000_000.0001, 1_764_900_000_999.9999999, 1_764_900_000_999.9999, 1_764_900_001_000, 4_102_444_800_000.5, ...Array.from({ length: 40 }, (_, index) => 1_600_000_000_000 + index * 7_919_333.123457)]
    const calls = times.map((time, index) =>
      traced(
        event({
          startTime: time,
          endTime: time + index * 0.37,
          ...(index % 3 === 0 ? { traceId: '0B8E5C1E-7F6D-4B7A-9C55-2F1E8D4C3B2A' } : index % 3 === 1 ? { traceId: `checkout-${index}` } : {}),
          apiBase: index % 2 === 0 ? 'https://api.openai.com/v1' : `http://127.0.0.1:${4000 + (index % 5)}/v1`,
          // Around the lengths where a string's bytes are written by hand, and where its length takes a second byte.
          messages: [{ role: 'user', content: 'x'.repeat(index * 4) + (index % 4 === 0 ? 'é' : '') }],
        } as Partial<CallEvent>),
      ),
    )
    const { official, direct } = encodeBoth(calls)
    expect(direct.equals(official)).toBe(true)
    expect(decodeOtlpTraces(direct)).toHaveLength(times.length)
  })

  it("writes the same bytes for a batch that outgrows the writer's buffer many times over, short non-ASCII strings at every offset", () => {
    // 64 KB at first, doubled as it fills: with strings of one to a few characters the growth falls inside one of them somewhere.
    const calls = Array.from({ length: 400 }, (_, index) => traced(event({ user: 'ü'.repeat(1 + (index % 5)), tags: ['é', `ñ${index}`] } as Partial<CallEvent>), true, { short: 'ö', index }))
    const { official, direct } = encodeBoth(calls)
    expect(direct.length).toBeGreaterThan(4 * 64 * 1024)
    expect(direct.equals(official)).toBe(true)
  })

  it('writes the same bytes when the buffer must grow in the middle of a short non-ASCII string', () => {
    // The writer starts with 64 KB and doubles: calls made mostly of one-character non-ASCII values,
    // shifted a byte at a time by a padding attribute, put the growth at every offset within them.
    const run = Object.fromEntries(Array.from({ length: 40 }, (_, index) => [`k${index}`, 'é']))
    for (let padding = 0; padding < 24; padding++) {
      const calls = Array.from({ length: 150 }, () => traced(event({ messages: [{ role: 'user', content: 'hi' }], response: undefined } as Partial<CallEvent>), false, { pad: 'x'.repeat(padding), ...run }))
      const { official, direct } = encodeBoth(calls)
      if (!direct.equals(official)) expect.fail(`differs with ${padding} characters of padding`)
    }
  })

  it('writes a finished call straight from its event: the bytes the SDK writes from its span tree, whatever the layer adds', () => {
    const attempts = [
      { attempt: 1, model: 'openai/gpt-4o', provider: 'openai', status: 'error', start: start + 1, end: start + 30.5, error: { type: 'ServerError', message: '500 from upstream' } },
      { attempt: 2, model: 'anthropic/claude-3-5-haiku', provider: 'anthropic', status: 'error', start: start + 31, end: start + 90, error: { type: 'Overloaded', message: 'overloaded' } },
      { attempt: 3, model: 'openai/gpt-4o-mini', provider: 'openai', status: 'success', start: start + 91, end: start + 400.25 },
    ]
    const events = [
      event(),
      event({ traceId: '0B8E5C1E-7F6D-4B7A-9C55-2F1E8D4C3B2A', metadata: { session_id: 7, trace_id: 'x' } } as Partial<CallEvent>),
      event({ traceId: 'checkout-42', streaming: true, ttftMs: 88.5 } as Partial<CallEvent>),
      event({ traceId: '00000000-0000-0000-0000-000000000000' } as Partial<CallEvent>),
      event({ status: 'failure', response: undefined, usage: undefined, error: { type: 'RateLimitError', message: 'Slow down', stack: 'RateLimitError: Slow down' } } as Partial<CallEvent>),
      event({ type: 'embedding', model: 'openai/text-embedding-3-small', input: ['a'], messages: undefined, response: undefined, parameters: { dimensions: 256 } } as Partial<CallEvent>),
    ]
    // The layer's own attributes: one replaces a GenAI attribute, one removes another, and odd values are left out as the SDK does.
    const extra = (source: CallEvent) => ({ 'service.layer': source.type, 'gen_ai.request.model': 'renamed', 'user.id': undefined, '': 'empty key', mixed: ['a', 1], ...Object.fromEntries(Array.from({ length: 140 }, (_, index) => [`extra.${index}`, index])) })
    const calls: FinishedCall[] = [
      ...events.map((source) => ({ event: source, requestModel: 'gpt-4o-mini', firstAttempt: 0 })),
      // A retried call whose layer saw its last two attempts only.
      { event: event({ attempts } as Partial<CallEvent>), requestModel: 'claude-3-5-haiku', firstAttempt: 1 },
    ]
    const resource = sdk.resources.defaultResource().merge(sdk.resources.resourceFromAttributes({ 'service.name': 'shop' }))
    for (const spans of [{ captureContent: true, extraAttributes: extra }, { captureContent: false }] as TracedCallOptions[]) {
      const official = Buffer.from(createSdkSpanEncoder(sdk, resource, 'http/protobuf', spanIds())(calls.map((call) => tracedCall(call, spans)))!)
      const direct = Buffer.from(createOtlpProtobufEncoder({ resource: resource.attributes, resourceSchemaUrl: resource.schemaUrl, scope: 'llm-onion' }, spanIds(), spans)(calls))
      expect(direct.equals(official)).toBe(true)
      const decoded = decodeOtlpTraces(direct)
      // Two attempt spans for the retried call, one span for each other call.
      expect(decoded).toHaveLength(calls.length + 2)
      expect(decoded[0]!.attributes['gen_ai.request.model']).toBe(spans.extraAttributes ? 'renamed' : 'gpt-4o-mini')
      expect('user.id' in decoded[0]!.attributes).toBe(!spans.extraAttributes)
    }
  })
})
