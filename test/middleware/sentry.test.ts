import { parseEnvelope } from '@sentry/core'
import { beforeEach, describe, expect, it } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { retry } from 'llm-onion/middleware/retry'
import { sentry, type SentryClientLike } from 'llm-onion/middleware/sentry'
import { parseDsn, parseStackFrames, type SentryEvent } from '../../src/integrations/sentry-envelope'
import type { ReceivedRequest } from '../../src/testing/receiver'
import { exporterContract, http, metadata, prompt, receiverPerTest } from './exporter-contract'

/** The DSN of project 42 on a receiver at `url`. */
const dsnFor = (url: string) => `${url.replace('http://', 'http://public-key@')}/42`

/** Decodes a received envelope with Sentry's own parser. */
function envelopeOf(request: ReceivedRequest): { header: Record<string, unknown>; itemType: unknown; event: SentryEvent } {
  const [header, items] = parseEnvelope(new Uint8Array(request.raw))
  expect(items).toHaveLength(1)
  const [itemHeader, payload] = items[0]!
  return { header: header as Record<string, unknown>, itemType: itemHeader.type, event: payload as unknown as SentryEvent }
}

/** A success, a streamed success, a failure and a stream that fails half-way, then a flush. */
async function runCalls(client: Client): Promise<void> {
  await client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'Paris is the capital.' })
  for await (const _chunk of client.stream({ model: 'mock/echo', messages: prompt, mock_response: 'Paris, streamed.' })) void _chunk
  await expect(
    client.chat({ model: 'mock/echo', messages: prompt, mock_error: { status: 429, message: 'Slow down' }, user: 'user-7', metadata, api_key: 'sk-provider-secret' }, { http }),
  ).rejects.toThrow('Slow down')
  const broken = client.stream({ model: 'mock/echo', messages: prompt, mock_response: 'Paris is far.', mock_error: { status: 503, message: 'Dropped', after_chunks: 1 } })
  await expect(async () => {
    for await (const _chunk of broken) void _chunk
  }).rejects.toThrow('Dropped')
  await client.flush()
}

describe('sentry()', () => {
  let client: Client
  let dsn: string
  const receiver = receiverPerTest({ client: () => client })
  beforeEach(() => {
    dsn = dsnFor(receiver.url)
  })

  it('sends nothing for successes and one envelope per failure, which Sentry’s parseEnvelope reads', async () => {
    client = createClient({ queue: { minTimeoutMs: 10 } }).use(sentry({ dsn }))
    await runCalls(client)

    expect(receiver.requests).toHaveLength(2)
    for (const request of receiver.requests) {
      expect(request.method).toBe('POST')
      expect(request.path).toBe('/api/42/envelope/')
      expect(request.headers['x-sentry-auth']).toMatch(/^Sentry sentry_version=7, sentry_key=public-key, sentry_client=llm-onion\/\d+\.\d+\.\d+$/)
      expect(request.headers['content-type']).toBe('application/x-sentry-envelope')
    }
    const { header, itemType, event } = envelopeOf(receiver.requests[0]!)
    expect(itemType).toBe('event')
    expect(header.event_id).toBe(event.event_id)
    expect(event.event_id).toMatch(/^[0-9a-f]{32}$/)
    expect(event).toMatchObject({ level: 'error', platform: 'node', environment: 'production', user: { id: 'user-7' } })
    const exception = event.exception.values[0]!
    expect(exception).toMatchObject({ type: 'RateLimitError', value: 'Slow down', mechanism: { type: 'llm-onion', handled: true } })
    expect(exception.stacktrace!.frames.length).toBeGreaterThan(0)
    expect(exception.stacktrace!.frames.every((frame) => frame.lineno > 0 && frame.filename !== '')).toBe(true)
    expect(event.breadcrumbs.values).toEqual([expect.objectContaining({ category: 'llm-onion.llm_call', level: 'info', message: 'chat mock/echo' })])
    expect(event.tags).toEqual({ model: 'mock/echo', provider: 'mock', status: 'failure', status_code: '429' })
    expect(event.contexts.llm).toMatchObject({ model: 'mock/echo', provider: 'mock', streaming: false, status_code: 429, messages: prompt, metadata: { team: 'search' } })
    expect(event.contexts.llm!.latency_ms).toBeGreaterThanOrEqual(0)
    expect(event.contexts.llm!.call_id).toBe(event.breadcrumbs.values[0]!.data!.call_id)

    const streamed = envelopeOf(receiver.requests[1]!).event
    expect(streamed.exception.values[0]).toMatchObject({ type: 'ServiceUnavailableError', value: 'Dropped' })
    expect(streamed.contexts.llm).toMatchObject({ streaming: true, status_code: 503 })
  })

  it('still delivers the envelope when the receiver answers 500 once, then 200', async () => {
    receiver.answerWith(500)
    client = createClient({ queue: { minTimeoutMs: 10 } }).use(sentry({ dsn }))
    await expect(client.chat({ model: 'mock/echo', messages: prompt, mock_error: { status: 500 } })).rejects.toThrow()
    await client.flush()

    expect(receiver.requests).toHaveLength(2)
    expect(envelopeOf(receiver.requests[1]!).event.exception.values[0]!.type).toBe('InternalServerError')
  })

  // Only failures are sent: the failure carries the secrets. Redaction drops the messages instead of
  // marking them, so it has a test of its own below.
  exporterContract({ name: 'sentry', layer: (url) => sentry({ dsn: dsnFor(url) }), client: { queue: { minTimeoutMs: 10 } }, run: runCalls, requests: 2, redactOn: [] })

  it('redact: { messages: true } leaves the messages out of the llm context', async () => {
    client = createClient({ redact: { messages: true }, queue: { minTimeoutMs: 10 } }).use(sentry({ dsn }))
    await runCalls(client)

    for (const request of receiver.requests) {
      expect(request.text).not.toContain('capital of France')
      expect(request.text).not.toContain('Paris')
      expect(envelopeOf(request).event.contexts.llm!.messages).toBeUndefined()
    }
  })

  it('reads SENTRY_DSN and SENTRY_ENVIRONMENT, and posts under the DSN’s path', async () => {
    client = createClient().use(sentry({ env: { SENTRY_DSN: `http://key@127.0.0.1:${receiver.port}/sentry/7`, SENTRY_ENVIRONMENT: 'staging' } }))
    await expect(client.chat({ model: 'mock/echo', messages: prompt, mock_error: { status: 400 } })).rejects.toThrow()
    await client.flush()

    expect(receiver.requests[0]!.path).toBe('/sentry/api/7/envelope/')
    expect(envelopeOf(receiver.requests[0]!).event.environment).toBe('staging')
  })

  it('honours the sample rate: SENTRY_API_SAMPLE_RATE=0 sends nothing, and each failure is drawn against the rate', async () => {
    const draws = [0.7, 0.3]
    client = createClient()
      .use(sentry({ env: { SENTRY_DSN: dsn, SENTRY_API_SAMPLE_RATE: '0' } }))
      .use(sentry({ dsn, sampleRate: 0.5, random: () => draws.shift()! }))
    for (let index = 0; index < 2; index++) {
      await expect(client.chat({ model: 'mock/echo', messages: prompt, mock_error: { status: 500, message: `failure ${index}` } })).rejects.toThrow()
    }
    await client.flush()

    expect(receiver.requests.map((request) => envelopeOf(request).event.exception.values[0]!.value)).toEqual(['failure 1'])
  })

  it('does not report a call the caller cancelled', async () => {
    client = createClient().use(sentry({ dsn }))
    for await (const _chunk of client.stream({ model: 'mock/echo', messages: prompt, mock_response: 'one two three' })) break
    await client.flush()

    expect(receiver.requests).toHaveLength(0)
  })

  it('outside retry(), adds a breadcrumb for each failed attempt before the last', async () => {
    client = createClient().use(sentry({ dsn }), retry({ retries: 1, minTimeoutMs: 0 }))
    await expect(client.chat({ model: 'mock/echo', messages: prompt, mock_error: { status: 503, message: 'Overloaded' } })).rejects.toThrow('Overloaded')
    await client.flush()

    const { event } = envelopeOf(receiver.requests[0]!)
    expect(event.breadcrumbs.values.map((crumb) => [crumb.category, crumb.level])).toEqual([
      ['llm-onion.llm_call', 'info'],
      ['llm-onion.attempt', 'warning'],
    ])
    expect(event.contexts.llm!.attempts).toBe(2)
  })

  it('named in two callback lists (input and failure), the failure still carries the input breadcrumb', async () => {
    client = createClient().use(sentry({ moments: ['input'], dsn }), sentry({ moments: ['failure'], dsn }))
    await expect(client.chat({ model: 'mock/echo', messages: prompt, mock_error: { status: 500 } })).rejects.toThrow()
    await client.flush()

    expect(envelopeOf(receiver.requests[0]!).event.breadcrumbs.values.map((crumb) => crumb.category)).toEqual(['llm-onion.llm_call'])
  })

  it('with an existing Sentry SDK passed as client, uses its addBreadcrumb and captureException instead of posting', async () => {
    const calls: Array<[string, ...unknown[]]> = []
    const sdk: SentryClientLike = {
      addBreadcrumb: (breadcrumb) => void calls.push(['addBreadcrumb', breadcrumb]),
      captureException: (exception, captureContext) => void calls.push(['captureException', exception, captureContext]),
    }
    client = createClient().use(sentry({ client: sdk, env: {} }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    const failure = await client.chat({ model: 'mock/echo', messages: prompt, mock_error: { status: 429 }, user: 'user-7' }).catch((error: unknown) => error)
    await client.flush()

    expect(receiver.requests).toHaveLength(0)
    expect(calls.map(([method]) => method)).toEqual(['addBreadcrumb', 'addBreadcrumb', 'captureException'])
    expect(calls[0]![1]).toMatchObject({ category: 'llm-onion.llm_call', level: 'info' })
    expect(calls[2]![1]).toBe(failure)
    expect(calls[2]![2]).toMatchObject({ level: 'error', tags: { provider: 'mock', status_code: '429' }, contexts: { llm: { model: 'mock/echo' } }, user: { id: 'user-7' } })
  })

  it('a throwing Sentry SDK goes to onHookError and never changes the call’s outcome', async () => {
    const errors: string[] = []
    const sdk: SentryClientLike = {
      addBreadcrumb: () => {
        throw new Error('sdk broke')
      },
      captureException: () => undefined,
    }
    client = createClient({ onHookError: (error) => errors.push((error as Error).message) }).use(sentry({ client: sdk }))
    const reply = await client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'fine' })

    expect(reply.choices[0]!.message.content).toBe('fine')
    expect(errors).toEqual(['sdk broke'])
  })

  it('fails at construction naming SENTRY_DSN when it is missing or malformed, and a bad sample rate naming its variable', () => {
    expect(() => sentry({ env: {} })).toThrow(/SENTRY_DSN/)
    expect(() => sentry({ env: { SENTRY_DSN: 'https://o1.ingest.sentry.io/42' } })).toThrow(/SENTRY_DSN.*public key/)
    expect(() => sentry({ env: { SENTRY_DSN: dsn, SENTRY_API_SAMPLE_RATE: 'often' } })).toThrow(/SENTRY_API_SAMPLE_RATE/)
  })
})

describe('sentry envelope helpers', () => {
  it('parses a DSN with a port and a path prefix', () => {
    expect(parseDsn('https://abc@sentry.example.com:9000/prefix/12')).toEqual({
      protocol: 'https',
      publicKey: 'abc',
      host: 'sentry.example.com:9000',
      path: '/prefix',
      projectId: '12',
    })
  })

  it('turns a V8 stack into frames, oldest first, with node_modules and node: frames not in-app', () => {
    const stack = [
      'Error: boom',
      '    at inner (file:///app/src/inner.js:3:9)',
      '    at async outer (/app/node_modules/lib/index.js:10:5)',
      '    at /app/main.js:1:1',
      '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
    ].join('\n')
    expect(parseStackFrames(stack).map((frame) => [frame.function, frame.filename, frame.lineno, frame.in_app])).toEqual([
      ['process.processTicksAndRejections', 'node:internal/process/task_queues', 95, false],
      [undefined, '/app/main.js', 1, true],
      ['outer', '/app/node_modules/lib/index.js', 10, false],
      ['inner', '/app/src/inner.js', 3, true],
    ])
  })
})
