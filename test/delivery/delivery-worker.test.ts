/**
 * The delivery worker (`queue: { worker: true }`): integrations built from the catalogue deliver
 * from a worker thread exactly what they deliver from the calling thread. Every integration below
 * runs the exporter contract (no secret leaves, redaction honoured) in both modes, and the requests
 * of the same calls are compared between the modes. Then close(), a crash and the spool.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createClient, type Client, type ClientOptions, type RedactOptions } from 'llm-onion'
import { findIntegration } from '../../src/integrations/catalogue'
import { defineExporter } from '../../src/integrations/exporter'
import { httpSink } from '../../src/delivery/http-sink'
import { crashDeliveryWorker } from '../../src/delivery/worker-queue'
import type { DropInfo } from '../../src/delivery/queue-options'
import { startReceiver, type ReceivedRequest, type Receiver } from '../../src/testing/receiver'
import { exporterContract, prompt, runCalls } from '../middleware/exporter-contract'
import { decodeOtlpTraces } from '../fakes/otlp-decoder'

const prices = { cost: { prices: { 'mock/echo': { input: 1, output: 2 } } } }

/** A representative set: one-record JSON APIs, batched JSON, OTLP protobuf, several sinks in one integration. */
const integrations: Array<{ name: string; options: (url: string, redact?: RedactOptions) => Record<string, unknown>; client?: ClientOptions }> = [
  { name: 'helicone', options: (url, redact) => ({ apiKey: 'hc-key', baseUrl: url, redact }) },
  { name: 'posthog', options: (url, redact) => ({ apiKey: 'phc_test', baseUrl: url, redact }) },
  { name: 'athina', options: (url, redact) => ({ apiKey: 'athina-key', baseUrl: url, redact }) },
  { name: 'langsmith', options: (url, redact) => ({ apiKey: 'lsv2_test', baseUrl: url, redact }) },
  { name: 'loki', options: (url, redact) => ({ baseUrl: url, redact }) },
  { name: 'langfuse', options: (url, redact) => ({ publicKey: 'pk', secretKey: 'sk', baseUrl: url, redact }), client: prices },
  { name: 'traceloop', options: (url, redact) => ({ apiKey: 'tl-key', baseUrl: url, redact }), client: prices },
  { name: 'datadog', options: (url, redact) => ({ env: { DD_API_KEY: 'dd-key', DD_SERVICE: 'checkout', DD_BASE_URL: url }, redact }), client: prices },
]

const modes = [
  ['the calling thread', false],
  ['the delivery worker', true],
] as const

const build = (name: string, options: Record<string, unknown>) => findIntegration(name)!.factory(options as never)

describe.each(modes)('delivering from %s', (_mode, worker) => {
  for (const integration of integrations) {
    exporterContract({
      name: integration.name,
      layer: (url, redact) => build(integration.name, integration.options(url, redact)),
      client: { ...integration.client, queue: { minTimeoutMs: 10, worker } },
    })
  }
})

/** A request with what differs from call to call (ids, times, durations) blanked, for comparison. */
function comparable(request: ReceivedRequest): unknown {
  const blank = (value: unknown): unknown => {
    if (typeof value === 'number') return 'number'
    if (typeof value === 'string') {
      // Logs that carry the event as JSON text (Datadog, Loki): compared as the JSON they hold.
      if (/^[[{]/.test(value)) {
        try {
          return { json: blank(JSON.parse(value)) }
        } catch {
          // Not JSON: compared as text.
        }
      }
      if (/^[0-9a-f-]{16,}$/i.test(value) || /^\d{4}-\d\d-\d\dT/.test(value) || /^\d{10,}$/.test(value)) return 'id-or-time'
      return value.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16,}|\d{4}-\d\d-\d\dT[\d:.]+Z?|\d{8}T\d{6,}Z/gi, 'id-or-time')
    }
    if (Array.isArray(value)) return value.map(blank)
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, each]) => [key, blank(each)]))
    return value
  }
  return {
    method: request.method,
    path: request.path,
    contentType: request.headers['content-type'],
    authorization: request.headers.authorization,
    // Binary bodies (OTLP protobuf): decoded, the same spans with the same attributes (values vary with timing: latency, ids).
    body: request.json === undefined ? decodeOtlpTraces(request.body).map((span) => ({ name: span.name, kind: span.kind, root: span.parentSpanId === '', status: span.status.code, attributes: Object.keys(span.attributes).sort(), resource: blank(span.resource) })) : blank(request.json),
  }
}

describe('the delivery worker', () => {
  let client: Client | undefined
  /** What a test leaves to clean up once its client is closed (the client's close() still sends and spools). */
  const afterClient: Array<() => unknown> = []
  afterEach(async () => {
    await client?.close()
    client = undefined
    for (const cleanUp of afterClient.splice(0)) await cleanUp()
    vi.restoreAllMocks()
  })

  /** A receiver closed after the test, once its client is. */
  async function receiverForTest(): Promise<Receiver> {
    const receiver = await startReceiver()
    afterClient.push(() => receiver.close())
    return receiver
  }

  it.each(integrations.map((each) => [each.name, each] as const))('%s: the same calls make the same requests from the worker as from the calling thread', async (_name, integration) => {
    const received: Record<string, unknown[]> = {}
    for (const [mode, worker] of modes) {
      const receiver = await receiverForTest()
      client = createClient({ ...integration.client, queue: { minTimeoutMs: 10, worker } }).use(build(integration.name, integration.options(receiver.url)))
      await runCalls(client)
      if (worker) expect(client.services.queue.stats().worker?.handedOver, 'events handed to the worker').toBeGreaterThan(0)
      await client.close()
      client = undefined
      received[mode] = receiver.requests.map(comparable).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))
    }
    expect(received['the delivery worker']).toEqual(received['the calling thread'])
    expect(received['the calling thread']!.length).toBeGreaterThan(0)
  })

  it('close() delivers what was handed over, reports the counts and ends the worker', async () => {
    const receiver = await receiverForTest()
    // A flush interval of an hour: only close() can make these go.
    client = createClient({ queue: { worker: true, flushIntervalMs: 3_600_000 } }).use(build('posthog', { apiKey: 'phc_test', baseUrl: receiver.url }))
    for (let index = 0; index < 5; index++) await client.chat({ model: 'mock/echo', messages: prompt, mock_response: `reply ${index}` })
    expect(receiver.requests).toHaveLength(0)
    await client.close()
    const stats = client.services.queue.stats()
    const events = receiver.requests.flatMap((request) => (request.json as { batch: unknown[] }).batch)
    expect(events).toHaveLength(5)
    expect(stats.delivered).toBe(5)
    expect(stats.sinks.posthog?.delivered).toBe(5)
    expect(stats.worker).toMatchObject({ running: false, restarts: 0, lost: 0 })
  })

  it("warns once of the worker's drops on the calling thread when no onDrop is given, as the queue on that thread does", async () => {
    const receiver = await receiverForTest()
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    // 400 is not retried: each event is dropped as rejected, in the worker.
    receiver.answerWith(400, 400)
    client = createClient({ queue: { worker: true } }).use(build('helicone', { apiKey: 'hc-key', baseUrl: receiver.url }))
    for (const reply of ['one', 'two']) await client.chat({ model: 'mock/echo', messages: prompt, mock_response: reply })
    await client.flush()
    expect(client.services.queue.stats().sinks.helicone?.dropped).toEqual({ rejected: 2 })
    const warnings = warn.mock.calls.map((call) => String(call[0])).filter((text) => text.includes('delivery to helicone'))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain('dropped 1 item(s) (rejected)')
  })

  it("reports the worker's drops of a turn summed per sink and reason, before flush() resolves", async () => {
    const receiver = await receiverForTest()
    const drops: DropInfo[] = []
    // Room for 5 events and no batch leaves before flush(): 45 of the 50 calls' events are dropped in one turn.
    client = createClient({ queue: { worker: true, maxSize: 5, flushIntervalMs: 3_600_000, onDrop: (info) => drops.push(info) } }).use(build('posthog', { apiKey: 'phc_test', baseUrl: receiver.url }))
    await Promise.all(Array.from({ length: 50 }, (_, index) => client!.chat({ model: 'mock/echo', messages: prompt, mock_response: `reply ${index}` })))
    await client.flush()
    expect(client.services.queue.stats().sinks.posthog?.dropped).toEqual({ queue_full: 45 })
    expect(drops).toEqual([{ sink: 'posthog', reason: 'queue_full', count: 45 }])
    expect(receiver.requests.flatMap((request) => (request.json as { batch: unknown[] }).batch)).toHaveLength(5)
  })

  it("reports a mapping error in the worker to the calling thread's onHookError, every time, under the integration's name", async () => {
    const receiver = await receiverForTest()
    const reported: Array<{ hook: string; message: string }> = []
    // Lago refuses to map a call with no customer to bill; in the worker, as on the calling thread.
    const layer = build('lago', { apiKey: 'lago-key', eventCode: 'llm_tokens', baseUrl: receiver.url })
    client = createClient({ queue: { worker: true }, onHookError: (error, hook) => void reported.push({ hook, message: (error as Error).message }) }).use(layer)
    for (const user of [undefined, 'customer-1', undefined, undefined]) await client.chat({ model: 'mock/echo', messages: prompt, ...(user ? { user } : {}) })
    await client.flush()
    expect(client.services.queue.stats().worker?.handedOver).toBe(4)
    expect(reported).toHaveLength(3)
    for (const report of reported) {
      expect(report.hook).toBe('lago')
      expect(report.message).toMatch(/has no user \(the request's "user" field\) to bill/)
    }
    const billed = receiver.requests.flatMap((request) => (request.json as { events: Array<{ external_subscription_id: string }> }).events)
    expect(billed.map((event) => event.external_subscription_id)).toEqual(['customer-1'])
  })

  it('loses only the event that cannot be cloned to the worker, and reports it under the integration', async () => {
    const receiver = await receiverForTest()
    const reported: Array<{ hook: string; message: string }> = []
    client = createClient({ queue: { worker: true }, onHookError: (error, hook) => void reported.push({ hook, message: (error as Error).message }) })
    client.use(build('posthog', { apiKey: 'phc_test', baseUrl: receiver.url }), build('helicone', { apiKey: 'hc-key', baseUrl: receiver.url }))
    // Three calls in one turn of the event loop, so one message: the middle one's metadata holds a function.
    await Promise.all([
      client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'first' }),
      client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'second', metadata: { onDone: () => {} } }),
      client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'third' }),
    ])
    await client.flush()
    expect(client.services.queue.stats().worker?.handedOver).toBe(4)
    expect(reported.map((report) => report.hook).sort()).toEqual(['helicone', 'posthog'])
    for (const report of reported) expect(report.message).toMatch(/could not be handed to the delivery worker/)
    const posthogReplies = receiver.requests
      .filter((request) => request.path.startsWith('/batch'))
      .flatMap((request) => (request.json as { batch: Array<{ properties: { $ai_output_choices: Array<{ content: string }> } }> }).batch)
      .map((event) => event.properties.$ai_output_choices[0]!.content)
    expect(posthogReplies.sort()).toEqual(['first', 'third'])
    expect(receiver.requests.filter((request) => !request.path.startsWith('/batch'))).toHaveLength(2)
  })

  it('keeps at most maxSize items while the worker restarts, counting the oldest it let go as lost', async () => {
    const receiver = await receiverForTest()
    const errors = vi.spyOn(console, 'error')
    client = createClient({ queue: { worker: true, maxSize: 10 } }).use(build('posthog', { apiKey: 'phc_test', baseUrl: receiver.url }))
    await client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'before' })
    await client.flush()
    const restarting = client
    // The worker crashed within 5 s of its start, so it starts again after 0.1 s: the calls made as the
    // crash is reported wait for it, and only the newest 10 of 30 can.
    errors.mockImplementationOnce(() => {
      for (let index = 0; index < 30; index++) void restarting.chat({ model: 'mock/echo', messages: prompt, mock_response: `during ${index}` })
    })
    crashDeliveryWorker(client.services.queue)
    await expect.poll(() => client!.services.queue.stats().worker, { timeout: 5_000 }).toMatchObject({ running: true, restarts: 1 })
    await client.flush()
    expect(client.services.queue.stats().worker).toMatchObject({ restarts: 1, lost: 20 })
    const replies = receiver.requests
      .flatMap((request) => (request.json as { batch: Array<{ properties: { $ai_output_choices: Array<{ content: string }> } }> }).batch)
      .map((event) => event.properties.$ai_output_choices[0]!.content)
    expect(replies).toEqual(['before', ...Array.from({ length: 10 }, (_, index) => `during ${index + 20}`)])
  })

  it('keeps an integration made from your own closures on the calling thread', async () => {
    const receiver = await receiverForTest()
    const mine = defineExporter({
      name: 'mine',
      sink: httpSink({ name: 'mine', url: `${receiver.url}/rows`, encode: (rows) => ({ rows }) }),
      toItems: (event) => ({ id: event.id, reply: (event.response as { choices: Array<{ message: { content: string } }> } | undefined)?.choices[0]?.message.content }),
    })
    client = createClient({ queue: { worker: true } }).use(mine)
    await client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'mine' })
    await client.flush()
    expect(receiver.requests).toHaveLength(1)
    expect(receiver.requests[0]!.json).toMatchObject({ rows: [{ reply: 'mine' }] })
    expect(client.services.queue.stats().worker?.handedOver).toBe(0)
  })

  it('a crash of the worker is reported, the worker started again, and what its spool held is delivered', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llm-onion-worker-spool-'))
    afterClient.push(() => rmSync(dir, { recursive: true, force: true }))
    const receiver = await receiverForTest()
    const errors: string[] = []
    vi.spyOn(console, 'error').mockImplementation((...parts: unknown[]) => void errors.push(parts.join(' ')))
    // The receiver answers 503 at first: the events stay spooled in the worker, waiting to retry.
    receiver.answerWith(503, 503, 503, 503, 503, 503)
    client = createClient({ queue: { worker: true, spool: { dir, flushIntervalMs: 0 }, maxBatchSize: 1, minTimeoutMs: 2_000, flushIntervalMs: 0 } }).use(
      build('helicone', { apiKey: 'hc-key', baseUrl: receiver.url }),
    )
    for (let index = 0; index < 3; index++) await client.chat({ model: 'mock/echo', messages: prompt, mock_response: `kept ${index}` })
    await receiver.waitFor(3, 5_000)
    // Give the spool's writer its turn so the records are on disk.
    await new Promise((resolve) => setTimeout(resolve, 200))
    crashDeliveryWorker(client.services.queue)
    await expect.poll(() => client!.services.queue.stats().worker?.restarts, { timeout: 5_000 }).toBe(1)
    expect(errors.join('\n')).toContain('the delivery worker stopped (the delivery worker was made to crash (a test))')
    // The restarted worker replays the spool; the receiver accepts now.
    await expect.poll(() => receiver.requests.filter((request) => request.json !== undefined && (request.json as { providerResponse?: unknown }).providerResponse).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(6)
    await client.flush({ timeoutMs: 5_000 })
    const accepted = receiver.requests.slice(6).map((request) => (request.json as { providerResponse: { json: { choices: Array<{ message: { content: string } }> } } }).providerResponse.json.choices[0]!.message.content)
    expect([...new Set(accepted)].sort()).toEqual(['kept 0', 'kept 1', 'kept 2'])
  })
})
