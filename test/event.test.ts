import { afterEach, describe, expect, it } from 'vitest'
import { callEventSchema, createClient, mock, type CallEvent, type Client, type Middleware } from '../src/index'

const messages = [{ role: 'user' as const, content: 'hello event' }]
let client: Client | undefined
afterEach(async () => {
  await client?.close()
  client = undefined
})

/** The outermost layer: keeps the event of every call, whatever its outcome. */
function eventRecorder(events: CallEvent[]): Middleware {
  return async function recordEvent(ctx, next) {
    try {
      await next()
    } finally {
      events.push(ctx.toEvent())
    }
  }
}

type Kind = 'chat' | 'stream' | 'embedding'
type Outcome = 'success' | 'failure' | 'cancelled'

/** Runs one call of `kind` that ends in `outcome` and returns its event. */
async function eventOf(kind: Kind, outcome: Outcome): Promise<CallEvent> {
  const events: CallEvent[] = []
  // A little latency gives the cancel something to interrupt.
  client = createClient({ providers: { mock: mock({ latencyMs: outcome === 'cancelled' ? 50 : 0 }) } }).use(eventRecorder(events))
  const failure = outcome === 'failure' ? { mock_error: { status: 500, message: 'upstream broke' } } : {}
  const controller = new AbortController()
  const signal = controller.signal
  if (outcome === 'cancelled' && kind !== 'stream') setImmediate(() => controller.abort())
  const run = async () => {
    if (kind === 'chat') await client!.chat({ model: 'mock/x', messages, ...failure }, { signal })
    if (kind === 'embedding') await client!.embed({ model: 'mock/embed', input: ['a', 'b'], ...failure }, { signal })
    if (kind === 'stream') {
      for await (const _chunk of client!.stream({ model: 'mock/x', messages, mock_response: 'one two three', ...failure })) {
        if (outcome === 'cancelled') break
      }
    }
  }
  if (outcome === 'success' || (outcome === 'cancelled' && kind === 'stream')) await run()
  else await expect(run()).rejects.toThrow()
  expect(events).toHaveLength(1)
  return events[0]!
}

describe('the event', () => {
  for (const kind of ['chat', 'stream', 'embedding'] as const) {
    for (const outcome of ['success', 'failure', 'cancelled'] as const) {
      it(`parses with callEventSchema and survives JSON for a ${kind} call that ends in ${outcome}`, async () => {
        const event = await eventOf(kind, outcome)
        expect(callEventSchema.safeParse(event).error).toBeUndefined()
        expect(event.status).toBe(outcome)
        expect(event.type).toBe(kind === 'embedding' ? 'embedding' : 'chat')
        expect(event.streaming).toBe(kind === 'stream')
        const roundTripped = JSON.parse(JSON.stringify(event))
        expect(callEventSchema.parse(roundTripped)).toEqual(roundTripped)
        if (outcome === 'success') {
          expect(event.response).toBeDefined()
          expect(event.usage?.totalTokens).toBeGreaterThan(0)
          expect(event.error).toBeUndefined()
        } else {
          expect(event.response).toBeUndefined()
          expect(event.error?.type).toBe(outcome === 'cancelled' ? 'AbortError' : 'InternalServerError')
        }
      })
    }
  }

  it('has the same fields for chat and embedding calls, apart from messages and input', async () => {
    const chat = await eventOf('chat', 'success')
    const embedding = await eventOf('embedding', 'success')
    const keys = (event: CallEvent) => Object.keys(event).filter((key) => (event as Record<string, unknown>)[key] !== undefined && key !== 'messages' && key !== 'input')
    expect(keys(chat).sort()).toEqual(keys(embedding).sort())
    expect(chat.messages).toEqual(messages)
    expect(embedding.input).toEqual(['a', 'b'])
  })

  it('leaves cost absent, never 0, when the price is unknown, and says why', async () => {
    const event = await eventOf('chat', 'success')
    expect(event).not.toHaveProperty('cost', expect.anything())
    expect(event.costUnknownReason).toEqual(expect.any(String))
  })

  it('carries the cost when a price is known', async () => {
    const events: CallEvent[] = []
    client = createClient({ cost: { prices: { 'mock/priced': { input: 1_000_000, output: 1_000_000 } } } }).use(eventRecorder(events))
    await client.chat({ model: 'mock/priced', messages, mock_response: 'one two' })
    // 3 prompt tokens + 2 completion tokens at $1 each
    expect(events[0]!.cost).toEqual({ input: 3, output: 2, total: 5 })
  })

  it('records time to first chunk for a stream', async () => {
    const event = await eventOf('stream', 'success')
    expect(event.firstChunkTime).toBeGreaterThanOrEqual(event.startTime)
    expect(event.ttftMs).toBe(event.firstChunkTime! - event.startTime)
    expect(event.latencyMs).toBe(event.endTime - event.startTime)
  })

  it('is built once per outcome and shared by every layer that asks', async () => {
    const seen: CallEvent[] = []
    client = createClient().use(
      async (ctx, next) => {
        await next()
        seen.push(ctx.toEvent())
      },
      async (ctx, next) => {
        await next()
        seen.push(ctx.toEvent())
      },
    )
    await client.chat({ model: 'mock/x', messages })
    expect(seen[0]).toBe(seen[1])
  })

  it('carries user, metadata, tags and the trace id from the request', async () => {
    const events: CallEvent[] = []
    client = createClient().use(eventRecorder(events))
    await client.chat({ model: 'mock/x', messages, user: 'user-9', tags: ['beta'], metadata: { trace_id: 'trace-1', team: 'search' } })
    expect(events[0]).toMatchObject({ user: 'user-9', tags: ['beta'], traceId: 'trace-1', metadata: { trace_id: 'trace-1', team: 'search' } })
  })
})

describe('the event carries no credential', () => {
  it('has an apiBase without the base URL’s query string', async () => {
    const events: CallEvent[] = []
    const base = { name: 'gateway', apiBase: 'https://gateway.example/v1?key=gw-key-0123456789&v=2' }
    const gateway = { ...mock(), ...base }
    client = createClient({ providers: { gateway } }).use(eventRecorder(events))
    await client.chat({ model: 'gateway/x', messages })
    expect(events[0]!.apiBase).toBe('https://gateway.example/v1')
  })

  it('scrubs the request’s api_key, the providers’ keys and the client’s secrets by value wherever they appear', async () => {
    const events: CallEvent[] = []
    const provider = { ...mock(), secrets: ['sk-provider-key-0123456'] }
    client = createClient({ providers: { mock: provider }, secrets: ['extra-secret-value-42'] }).use(eventRecorder(events))
    await expect(
      client.chat({
        model: 'mock/x',
        messages,
        api_key: 'sk-request-key-987654',
        user: 'user sk-request-key-987654',
        metadata: { note: 'copied sk-provider-key-0123456 and extra-secret-value-42' },
        mock_error: { status: 401, message: 'Incorrect API key provided: sk-request-key-987654 (sk-provider-key-0123456)' },
      }),
    ).rejects.toThrow('Incorrect API key provided: [redacted] ([redacted])')
    const text = JSON.stringify(events[0])
    for (const secret of ['sk-request-key-987654', 'sk-provider-key-0123456', 'extra-secret-value-42']) expect(text).not.toContain(secret)
    expect(events[0]!.error!.message).toContain('Incorrect API key provided: [redacted] ([redacted])')
  })
})
