import { describe, expect, it, vi } from 'vitest'
import {
  createClient,
  isTimeoutError,
  mock,
  ServiceUnavailableError,
  TimeoutError,
  ValidationError,
  type ChatResponse,
  type Client,
  type Middleware,
  type Provider,
  type ProviderCall,
} from 'llm-onion'
import { retry, timeout } from 'llm-onion/middleware'
import { createRecorder } from 'llm-onion/testing'
import { chatReply, closeAfterEach, notUsed } from './layer-test-kit'

const messages = [{ role: 'user' as const, content: 'hello timeout' }]
let client: Client | undefined
closeAfterEach(() => client)

/** The mock provider, remembering the signal each attempt received. */
function watchedMock(options: Parameters<typeof mock>[0]): Provider & { signals: AbortSignal[] } {
  const inner = mock(options)
  const signals: AbortSignal[] = []
  return {
    name: 'mock',
    signals,
    chat: (request, call) => (signals.push(call.signal), inner.chat(request, call)),
    stream: (request, call) => (signals.push(call.signal), inner.stream(request, call)),
    embed: (request, call) => (signals.push(call.signal), inner.embed(request, call)),
  }
}

/** Records what `await next()` did in a layer: 'ok' or the error's name. */
function outcomeOf(log: string[], name: string): Middleware {
  return async (_ctx, next) => {
    try {
      await next()
      log.push(`${name}: ok`)
    } catch (error) {
      log.push(`${name}: ${(error as Error).name}`)
      throw error
    }
  }
}

/** Reads a stream in the background; resolves with the texts received and the error that ended it. */
function consume(stream: AsyncIterable<{ choices: Array<{ delta?: { content?: string | null } }> }>) {
  const received: string[] = []
  const done = (async () => {
    for await (const chunk of stream) received.push(chunk.choices[0]?.delta?.content ?? '')
  })().then(
    () => ({ received, error: undefined as unknown }),
    (error: unknown) => ({ received, error }),
  )
  return done
}

describe('timeout()', () => {
  it('fails a slow call with TimeoutError, aborting the upstream request and leaving no timer', async () => {
    vi.useFakeTimers()
    const provider = watchedMock({ latencyMs: 10_000 })
    const log: string[] = []
    client = createClient({ providers: { mock: provider } }).use(outcomeOf(log, 'outer'), timeout({ ms: 1000 }), outcomeOf(log, 'inner'))
    const outcome = client.chat({ model: 'mock/x', messages }).catch((error: unknown) => error)
    await vi.advanceTimersByTimeAsync(1000)
    const error = await outcome
    expect(error).toBeInstanceOf(TimeoutError)
    expect((error as TimeoutError).status).toBe(408)
    expect((error as TimeoutError).retryable).toBe(true)
    expect(provider.signals[0]!.aborted).toBe(true)
    expect(provider.signals[0]!.reason).toBe(error)
    expect(log).toEqual(['inner: TimeoutError', 'outer: TimeoutError'])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('lets a call that finishes in time through and clears its timer', async () => {
    vi.useFakeTimers()
    client = createClient({ providers: { mock: mock({ latencyMs: 200 }) } }).use(timeout({ ms: 1000 }))
    const call = client.chat({ model: 'mock/x', messages, mock_response: 'in time' })
    await vi.advanceTimersByTimeAsync(200)
    expect((await call).choices[0]!.message.content).toBe('in time')
    expect(vi.getTimerCount()).toBe(0)
  })

  it('fails a stream whose first chunk is slow, in the caller loop and in every layer', async () => {
    vi.useFakeTimers()
    const provider = watchedMock({ latencyMs: 10_000 })
    const log: string[] = []
    const recorder = createRecorder()
    client = createClient({ providers: { mock: provider } }).use(
      recorder.layer,
      outcomeOf(log, 'outer'),
      timeout({ firstChunkMs: 500 }),
      outcomeOf(log, 'inner'),
    )
    const outcome = consume(client.stream({ model: 'mock/x', messages }))
    await vi.advanceTimersByTimeAsync(500)
    const { received, error } = await outcome
    expect(received).toEqual([])
    expect(isTimeoutError(error)).toBe(true)
    expect((error as Error).message).toMatch(/firstChunkMs/)
    expect(log).toEqual(['inner: TimeoutError', 'outer: TimeoutError'])
    expect(provider.signals[0]!.aborted).toBe(true)
    expect(recorder.events[0]!.status).toBe('failure')
    expect(recorder.events[0]!.error!.type).toBe('TimeoutError')
    expect(vi.getTimerCount()).toBe(0)
  })

  it('fails a stream that stalls between chunks, after the chunks that arrived', async () => {
    vi.useFakeTimers()
    const provider = watchedMock({ chunkDelayMs: 5000 })
    const log: string[] = []
    client = createClient({ providers: { mock: provider } }).use(outcomeOf(log, 'outer'), timeout({ chunkGapMs: 1000 }), outcomeOf(log, 'inner'))
    const outcome = consume(client.stream({ model: 'mock/x', messages, mock_response: 'first then silence' }))
    await vi.advanceTimersByTimeAsync(999)
    expect(provider.signals[0]!.aborted).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    const { received, error } = await outcome
    expect(received).toEqual(['first'])
    expect(error).toBeInstanceOf(TimeoutError)
    expect((error as Error).message).toMatch(/chunkGapMs/)
    expect(log).toEqual(['inner: TimeoutError', 'outer: TimeoutError'])
    expect(provider.signals[0]!.aborted).toBe(true)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('fails a stream whose time ran out while the caller held a chunk, on the caller next read', async () => {
    vi.useFakeTimers()
    const provider = watchedMock({})
    const log: string[] = []
    client = createClient({ providers: { mock: provider } }).use(outcomeOf(log, 'outer'), timeout({ ms: 1000 }))
    const iterator = client.stream({ model: 'mock/x', messages, mock_response: 'one two three' })
    expect((await iterator.next()).value.choices[0].delta.content).toBe('one')
    await vi.advanceTimersByTimeAsync(1000)
    expect(provider.signals[0]!.aborted).toBe(true)
    const error = await (async () => {
      for (;;) if ((await iterator.next()).done) return undefined
    })().catch((thrown: unknown) => thrown)
    expect(error).toBeInstanceOf(TimeoutError)
    expect(log).toEqual(['outer: TimeoutError'])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('lets a long stream through while every gap between chunks stays under chunkGapMs', async () => {
    vi.useFakeTimers()
    client = createClient({ providers: { mock: mock({ chunkDelayMs: 600 }) } }).use(timeout({ firstChunkMs: 100, chunkGapMs: 1000 }))
    const outcome = consume(client.stream({ model: 'mock/x', messages, mock_response: 'a b c d e' }))
    await vi.advanceTimersByTimeAsync(5 * 600)
    const { received, error } = await outcome
    expect(error).toBeUndefined()
    expect(received.join('')).toBe('a b c d e')
    expect(vi.getTimerCount()).toBe(0)
  })

  it('inside retry bounds each attempt: a slow first attempt times out and the second answers', async () => {
    vi.useFakeTimers()
    const signals: AbortSignal[] = []
    const slowOnce: Provider = {
      name: 'slow-once',
      chat(_request, call: ProviderCall) {
        signals.push(call.signal)
        if (signals.length > 1) return Promise.resolve(chatReply(call.model, 'second attempt', { id: 'second' }))
        return new Promise<ChatResponse>((_resolve, reject) => call.signal.addEventListener('abort', () => reject(call.signal.reason)))
      },
      stream: notUsed,
      embed: notUsed,
    }
    const recorder = createRecorder()
    client = createClient({ providers: { 'slow-once': slowOnce } }).use(recorder.layer, retry({ minTimeoutMs: 0 }), timeout({ ms: 1000 }))
    const call = client.chat({ model: 'slow-once/model', messages })
    await vi.advanceTimersByTimeAsync(1000)
    expect((await call).choices[0]!.message.content).toBe('second attempt')
    expect(signals[0]!.aborted).toBe(true)
    expect(signals[1]!.aborted).toBe(false)
    expect(recorder.events[0]!.attempts.map((attempt) => attempt.error?.type ?? attempt.status)).toEqual(['TimeoutError', 'success'])
  })

  it('outside retry bounds the whole call and stops a pending retry wait', async () => {
    vi.useFakeTimers()
    let attempts = 0
    const alwaysDown: Provider = {
      name: 'down',
      async chat() {
        attempts++
        throw new ServiceUnavailableError('down')
      },
      stream: notUsed,
      embed: notUsed,
    }
    client = createClient({ providers: { down: alwaysDown } }).use(timeout({ ms: 1000 }), retry({ minTimeoutMs: 5000, jitter: false }))
    const outcome = client.chat({ model: 'down/model', messages }).catch((error: unknown) => error)
    await vi.advanceTimersByTimeAsync(1000)
    expect(await outcome).toBeInstanceOf(TimeoutError)
    expect(attempts).toBe(1)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('narrows ctx.signal only for the layers inside it', async () => {
    const seen: AbortSignal[] = []
    client = createClient().use(
      async (ctx, next) => {
        seen.push(ctx.signal)
        await next()
        seen.push(ctx.signal)
      },
      timeout({ ms: 60_000 }),
      async (ctx, next) => {
        seen.push(ctx.signal)
        await next()
      },
    )
    await client.chat({ model: 'mock/x', messages })
    expect(seen[0]).toBe(seen[2])
    expect(seen[1]).not.toBe(seen[0])
  })

  it('passes the caller cancel through to the layers inside it', async () => {
    const provider = watchedMock({ latencyMs: 60_000 })
    client = createClient({ providers: { mock: provider } }).use(timeout({ ms: 120_000 }))
    const controller = new AbortController()
    const outcome = client.chat({ model: 'mock/x', messages }, { signal: controller.signal }).catch((error: unknown) => error)
    await new Promise((resolve) => setImmediate(resolve))
    controller.abort()
    expect((await outcome as Error).name).toBe('AbortError')
    expect(provider.signals[0]!.aborted).toBe(true)
  })

  it('rejects options without any limit, naming what to set', () => {
    expect(() => timeout({})).toThrow(ValidationError)
    expect(() => timeout({})).toThrow(/ms, firstChunkMs or chunkGapMs/)
    expect(() => timeout({ ms: -5 })).toThrow(/timeout\(\) options: ms/)
  })
})
