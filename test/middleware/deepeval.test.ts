import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createClient, type Client } from 'llm-onion'
import { deepeval, toDeepevalTrace, type DeepevalTrace } from 'llm-onion/middleware/deepeval'
import type { CallEvent } from '../../src/event'
import type { ReceivedRequest } from '../../src/testing/receiver'
import { exporterContract, prompt, runCalls } from './exporter-contract'
import { startRecordingServer, type FakeAnswer } from '../fakes/recording-server'

/**
 * The trace Confident AI takes, written from LiteLLM's pydantic models (litellm/integrations/deepeval/
 * types.py: TraceApi, BaseApiSpan, dumped by alias without the None fields), strict so a misspelt or
 * extra field is refused; not our own types.
 */
const isoMillis = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
const spanSchema = z
  .object({
    uuid: z.uuid(),
    name: z.string().optional(),
    status: z.enum(['SUCCESS', 'ERRORED']),
    type: z.enum(['base', 'agent', 'llm', 'retriever', 'tool']),
    traceUuid: z.uuid(),
    parentUuid: z.string().optional(),
    startTime: isoMillis,
    endTime: isoMillis,
    input: z.union([z.record(z.string(), z.unknown()), z.array(z.unknown()), z.string()]).optional(),
    output: z.union([z.record(z.string(), z.unknown()), z.array(z.unknown()), z.string()]).optional(),
    error: z.string().optional(),
    model: z.string().optional(),
    inputTokenCount: z.number().int().optional(),
    outputTokenCount: z.number().int().optional(),
    costPerInputToken: z.number().optional(),
    costPerOutputToken: z.number().optional(),
  })
  .strict()
const traceSchema = z
  .object({
    uuid: z.uuid(),
    baseSpans: z.array(spanSchema),
    agentSpans: z.array(spanSchema),
    llmSpans: z.array(spanSchema),
    retrieverSpans: z.array(spanSchema),
    toolSpans: z.array(spanSchema),
    startTime: isoMillis,
    endTime: isoMillis,
    metadata: z.record(z.string(), z.unknown()).optional(),
    tags: z.array(z.string()).optional(),
    environment: z.enum(['production', 'development', 'staging']).optional(),
  })
  .strict()

interface ConfidentFake {
  url: string
  requests: ReceivedRequest[]
  /** The status each request was answered with, in order. */
  answered: number[]
  /** Status to answer the next requests with, before any check (then the checks decide). */
  failNext(...statuses: number[]): void
  close(): Promise<void>
}

/**
 * A local stand-in for Confident AI's tracing API: it answers 404 off `POST /v1/tracing`, 401 when
 * the `CONFIDENT_API_KEY` header is not the project's key, 415 for a body that is not JSON, 400 for
 * a trace its schema refuses, and otherwise `{ success: true, data: { id } }` as the service does.
 */
async function startConfidentFake(apiKey: string): Promise<ConfidentFake> {
  const answered: number[] = []
  const forced: number[] = []
  const server = await startRecordingServer((request) => {
    const answer = (status: number, body: unknown): FakeAnswer => {
      answered.push(status)
      return { status, body }
    }
    const status = forced.shift()
    if (status !== undefined) return answer(status, { success: false, error: `fake error ${status}` })
    if (request.method !== 'POST' || request.path !== '/v1/tracing') return answer(404, { success: false, error: 'not found' })
    if (request.headers.confident_api_key !== apiKey) return answer(401, { success: false, error: 'invalid API key' })
    if (!String(request.headers['content-type']).startsWith('application/json') || request.json === undefined) return answer(415, { success: false, error: 'JSON only' })
    const parsed = traceSchema.safeParse(request.json)
    if (!parsed.success) return answer(400, { success: false, error: z.prettifyError(parsed.error) })
    return answer(200, { success: true, data: { id: parsed.data.uuid } })
  })
  return { url: server.url, requests: server.requests, answered, failNext: (...statuses) => void forced.push(...statuses), close: server.close }
}

function tracesOf(fake: ConfidentFake): DeepevalTrace[] {
  return fake.requests.map((request) => request.json as DeepevalTrace)
}

describe('deepeval()', () => {
  let client: Client | undefined
  let fake: ConfidentFake
  const start = async (key = 'confident-key') => {
    fake = await startConfidentFake(key)
    return fake
  }
  const stop = async () => {
    await client?.close()
    client = undefined
    await fake?.close()
  }

  it('posts one trace per call to /v1/tracing with the CONFIDENT_API_KEY header, each one accepted by the service', async () => {
    await start()
    try {
      client = createClient().use(deepeval({ apiKey: 'confident-key', baseUrl: fake.url }))
      await runCalls(client, { failure: { status: 500, message: 'Boom' } })

      expect(fake.answered).toEqual([200, 200, 200])
      for (const request of fake.requests) {
        expect(request.method).toBe('POST')
        expect(request.path).toBe('/v1/tracing')
        expect(request.headers.confident_api_key).toBe('confident-key')
        expect(request.headers.authorization).toBeUndefined()
        expect(request.headers['content-type']).toBe('application/json')
      }
      const [success, streamed, failure] = tracesOf(fake) as [DeepevalTrace, DeepevalTrace, DeepevalTrace]

      expect(success).toMatchObject({ environment: 'development', baseSpans: [], agentSpans: [], retrieverSpans: [], toolSpans: [] })
      expect(success.llmSpans).toHaveLength(1)
      const span = success.llmSpans[0]!
      expect(span).toMatchObject({
        name: 'litellm_success_callback',
        status: 'SUCCESS',
        type: 'llm',
        traceUuid: success.uuid,
        input: prompt,
        output: 'Paris is the capital.',
        model: 'echo',
        outputTokenCount: 4,
      })
      expect(span.inputTokenCount).toBeGreaterThan(0)
      // The span is the call and the trace is not: LiteLLM never gives both one uuid.
      expect(span.uuid).not.toBe(success.uuid)
      expect(span.startTime).toBe(success.startTime)
      expect(Date.parse(span.endTime)).toBeGreaterThanOrEqual(Date.parse(span.startTime))

      expect(streamed.llmSpans[0]).toMatchObject({ status: 'SUCCESS', output: 'Paris, streamed.' })
      expect(streamed.uuid).not.toBe(success.uuid)

      const failed = failure.llmSpans[0]!
      expect(failed).toMatchObject({ name: 'litellm_failure_callback', status: 'ERRORED', type: 'llm', input: prompt, output: 'InternalServerError: Boom', model: 'echo' })
      // LiteLLM sends no token counts for a failure.
      expect(failed).not.toHaveProperty('inputTokenCount')
      expect(failed).not.toHaveProperty('outputTokenCount')
    } finally {
      await stop()
    }
  })

  it('files the calls that share a metadata.trace_id under one trace, the uuid as given', async () => {
    await start()
    try {
      client = createClient().use(deepeval({ apiKey: 'confident-key', baseUrl: fake.url, environment: 'production' }))
      const traceId = '5b0d7a3e-2c4f-4e1a-9b8d-6f3e2a1c0d9b'
      await client.chat({ model: 'mock/echo', messages: prompt, metadata: { trace_id: traceId } })
      await client.chat({ model: 'mock/echo', messages: prompt, metadata: { trace_id: traceId } })
      await client.chat({ model: 'mock/echo', messages: prompt, metadata: { trace_id: 'checkout-42' } })
      await client.chat({ model: 'mock/echo', messages: prompt, metadata: { trace_id: 'checkout-42' } })
      await client.flush()

      expect(fake.answered).toEqual([200, 200, 200, 200])
      const traces = tracesOf(fake)
      expect(traces.map((trace) => trace.environment)).toEqual(['production', 'production', 'production', 'production'])
      expect(traces[0]!.uuid).toBe(traceId)
      expect(traces[1]!.uuid).toBe(traceId)
      expect(traces[0]!.llmSpans[0]!.uuid).not.toBe(traces[1]!.llmSpans[0]!.uuid)
      // A trace id that is not a uuid becomes one, the same for both calls.
      expect(traces[2]!.uuid).toBe(traces[3]!.uuid)
      expect(traces[2]!.uuid).not.toBe(traceId)
    } finally {
      await stop()
    }
  })

  it('sends the tool calls as the output when the reply has no text, and NO_OUTPUT for an embedding', () => {
    const base: CallEvent = {
      id: '0f0e0d0c-0b0a-4909-8807-060504030201',
      traceId: '0f0e0d0c-0b0a-4909-8807-060504030201',
      type: 'chat',
      status: 'success',
      streaming: false,
      model: 'openai/gpt-4o-mini',
      provider: 'openai',
      responseModel: 'gpt-4o-mini-2024-07-18',
      messages: prompt,
      parameters: {},
      startTime: 1_800_000_000_000,
      endTime: 1_800_000_000_250,
      latencyMs: 250,
      metadata: {},
      tags: [],
      cacheHit: false,
      attempts: [],
    }
    const toolCalls = [{ id: 'call_1', type: 'function', function: { name: 'capital_of', arguments: '{"country":"France"}' } }]
    const withTools = toDeepevalTrace({ ...base, response: { choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: toolCalls } }] } }, 'staging')
    expect(withTools).toMatchObject({ environment: 'staging', startTime: '2027-01-15T08:00:00.000Z', endTime: '2027-01-15T08:00:00.250Z' })
    expect(withTools.llmSpans[0]).toMatchObject({ uuid: base.id, output: toolCalls, model: 'gpt-4o-mini' })
    expect(traceSchema.safeParse(withTools).success).toBe(true)

    const embedding = toDeepevalTrace({ ...base, type: 'embedding', messages: undefined, input: ['Paris'], response: { object: 'list', data: [] } }, 'development')
    expect(embedding.llmSpans[0]).toMatchObject({ input: ['Paris'], output: 'NO_OUTPUT' })
  })

  it('still delivers every trace when the service answers 500 once, then 200', async () => {
    await start()
    try {
      fake.failNext(500)
      client = createClient().use(deepeval({ apiKey: 'confident-key', baseUrl: fake.url }))
      await runCalls(client)

      expect(fake.answered.filter((status) => status === 200)).toHaveLength(3)
      const delivered = tracesOf(fake).slice(1).map((trace) => trace.llmSpans[0]!.status)
      expect(delivered.sort()).toEqual(['ERRORED', 'SUCCESS', 'SUCCESS'])
    } finally {
      await stop()
    }
  })

  it('delivers the same accepted traces from the delivery worker', async () => {
    await start()
    try {
      client = createClient({ queue: { worker: true } }).use(deepeval({ apiKey: 'confident-key', baseUrl: fake.url }))
      await runCalls(client)

      expect(fake.answered).toEqual([200, 200, 200])
      expect(fake.requests.map((request) => request.headers.confident_api_key)).toEqual(['confident-key', 'confident-key', 'confident-key'])
      const spans = tracesOf(fake).map((trace) => trace.llmSpans[0]!)
      expect(spans.map((span) => span.output).sort()).toEqual(['Paris is the capital.', 'Paris, streamed.', 'RateLimitError: Slow down'])
    } finally {
      await stop()
    }
  })

  exporterContract({
    name: 'deepeval',
    layer: (url, redact) => deepeval({ apiKey: 'confident-contract-key', baseUrl: url, redact }),
    startReceiver: () => startConfidentFake('confident-contract-key'),
    secrets: ['confident-contract-key'],
    requests: 3,
  })

  it('reads CONFIDENT_API_KEY, CONFIDENT_BASE_URL and LITELM_ENVIRONMENT from the environment', async () => {
    await start('env-key')
    try {
      client = createClient().use(deepeval({ env: { CONFIDENT_API_KEY: 'env-key', CONFIDENT_BASE_URL: `${fake.url}/`, LITELM_ENVIRONMENT: 'staging' } }))
      await client.chat({ model: 'mock/echo', messages: prompt })
      await client.flush()

      expect(fake.answered).toEqual([200])
      expect(fake.requests[0]!.path).toBe('/v1/tracing')
      expect(tracesOf(fake)[0]!.environment).toBe('staging')
    } finally {
      await stop()
    }
  })

  it('fails at construction naming CONFIDENT_API_KEY, LITELM_ENVIRONMENT or the option that is wrong', () => {
    expect(() => deepeval({ env: {} })).toThrow(/CONFIDENT_API_KEY/)
    expect(() => deepeval({ env: { CONFIDENT_API_KEY: 'k', LITELM_ENVIRONMENT: 'prod' } })).toThrow(/LITELM_ENVIRONMENT.*production, development, staging/)
    expect(() => deepeval({ apiKey: 'k', environment: 'prod' as 'production' })).toThrow(/environment/)
    expect(() => deepeval({ apiKey: 'k', baseUrl: 'not a url' })).toThrow(/baseUrl/)
    expect(() => deepeval({ apiKey: 'k', timeoutMs: -1 })).toThrow(/timeoutMs/)
  })
})
