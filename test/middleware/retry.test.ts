import { describe, expect, it, vi } from 'vitest'
import {
  AbortError,
  BadRequestError,
  createClient,
  errorForStatus,
  isAbortError,
  RateLimitError,
  ServiceUnavailableError,
  ValidationError,
  type ChatChunk,
  type Client,
  type Middleware,
  type Provider,
  type ProviderCall,
} from 'llm-onion'
import { retry } from 'llm-onion/middleware'
import { createRecorder } from 'llm-onion/testing'
import { chatReply, closeAfterEach, notUsed } from './layer-test-kit'

const messages = [{ role: 'user' as const, content: 'hello retry' }]
let client: Client | undefined
closeAfterEach(() => client)

/** A provider that throws the scripted errors in turn, then answers "ok". */
function scripted(failures: Error[]): Provider & { calls: ProviderCall[] } {
  const calls: ProviderCall[] = []
  const next = (call: ProviderCall) => {
    calls.push(call)
    const failure = failures[calls.length - 1]
    if (failure) throw failure
  }
  const reply = (call: ProviderCall) => chatReply(call.model, 'ok', { id: `reply-${calls.length}`, usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } })
  return {
    name: 'scripted',
    calls,
    async chat(_request, call) {
      next(call)
      return reply(call)
    },
    async *stream(_request, call) {
      next(call)
      yield { id: 'chunk', object: 'chat.completion.chunk', created: 1, model: call.model, choices: [{ index: 0, delta: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }] } satisfies ChatChunk
    },
    embed: notUsed,
  }
}

const unavailable = () => new ServiceUnavailableError('overloaded', { provider: 'scripted' })
const noWait = { minTimeoutMs: 0, maxTimeoutMs: 0 }

describe('retry()', () => {
  it('runs a layer outside retry once per call and a layer inside once per attempt', async () => {
    const provider = scripted([unavailable(), unavailable()])
    const outside: number[] = []
    const inside: number[] = []
    client = createClient({ providers: { scripted: provider } }).use(
      async (ctx, next) => {
        outside.push(ctx.attempt)
        await next()
      },
      retry({ retries: 2, ...noWait }),
      async (ctx, next) => {
        inside.push(ctx.attempt)
        await next()
      },
    )
    const reply = await client.chat({ model: 'scripted/model', messages })
    expect(reply.choices[0]!.message.content).toBe('ok')
    expect(outside).toEqual([1])
    expect(inside).toEqual([1, 2, 3])
  })

  it('retries a 503 and succeeds on the second attempt, recording both attempts in the event', async () => {
    const recorder = createRecorder()
    client = createClient({ providers: { scripted: scripted([unavailable()]) } }).use(recorder.layer, retry(noWait))
    await client.chat({ model: 'scripted/model', messages })
    const event = recorder.events[0]!
    expect(event.status).toBe('success')
    expect(event.attempts.map((attempt) => [attempt.attempt, attempt.status, attempt.error?.status])).toEqual([
      [1, 'failure', 503],
      [2, 'success', undefined],
    ])
  })

  it('stops on a non-retryable error after one attempt', async () => {
    const provider = scripted([new BadRequestError('bad field', { provider: 'scripted' })])
    client = createClient({ providers: { scripted: provider } }).use(retry(noWait))
    await expect(client.chat({ model: 'scripted/model', messages })).rejects.toBeInstanceOf(BadRequestError)
    expect(provider.calls).toHaveLength(1)
  })

  it('gives up after `retries` retries and throws the last error', async () => {
    const provider = scripted([unavailable(), unavailable(), unavailable(), unavailable()])
    client = createClient({ providers: { scripted: provider } }).use(retry({ retries: 2, ...noWait }))
    await expect(client.chat({ model: 'scripted/model', messages })).rejects.toBeInstanceOf(ServiceUnavailableError)
    expect(provider.calls).toHaveLength(3)
  })

  it('waits the rate limit retryAfterMs before the next attempt', async () => {
    vi.useFakeTimers()
    const provider = scripted([new RateLimitError('slow down', { retryAfterMs: 5000 })])
    client = createClient({ providers: { scripted: provider } }).use(retry({ minTimeoutMs: 10 }))
    const call = client.chat({ model: 'scripted/model', messages })
    await vi.advanceTimersByTimeAsync(4999)
    expect(provider.calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    await call
    expect(provider.calls).toHaveLength(2)
  })

  it('honours retry_after_ms from the mock provider', async () => {
    vi.useFakeTimers()
    let attempts = 0
    const failFirst: Middleware = async (ctx, next) => {
      attempts++
      ctx.request = { ...ctx.request, mock_error: attempts === 1 ? { status: 429, retry_after_ms: 2000 } : undefined }
      await next()
    }
    client = createClient().use(retry(), failFirst)
    const call = client.chat({ model: 'mock/x', messages, mock_response: 'after the wait' })
    await vi.advanceTimersByTimeAsync(1999)
    expect(attempts).toBe(1)
    await vi.advanceTimersByTimeAsync(1)
    expect((await call).choices[0]!.message.content).toBe('after the wait')
  })

  it('cuts a Retry-After longer than maxRetryAfterMs to the cap', async () => {
    vi.useFakeTimers()
    const provider = scripted([new RateLimitError('come back in an hour', { retryAfterMs: 3_600_000 })])
    client = createClient({ providers: { scripted: provider } }).use(retry({ maxRetryAfterMs: 1000 }))
    const call = client.chat({ model: 'scripted/model', messages })
    await vi.advanceTimersByTimeAsync(1000)
    await call
    expect(provider.calls).toHaveLength(2)
  })

  it('backs off exponentially by factor when jitter is off', async () => {
    vi.useFakeTimers()
    const provider = scripted([unavailable(), unavailable()])
    client = createClient({ providers: { scripted: provider } }).use(retry({ minTimeoutMs: 100, factor: 3, jitter: false }))
    const call = client.chat({ model: 'scripted/model', messages })
    await vi.advanceTimersByTimeAsync(99)
    expect(provider.calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(provider.calls).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(299)
    expect(provider.calls).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(1)
    await call
    expect(provider.calls).toHaveLength(3)
  })

  it('with jitter waits between half and all of the backoff', async () => {
    vi.useFakeTimers()
    vi.spyOn(Math, 'random').mockReturnValue(0)
    const provider = scripted([unavailable()])
    client = createClient({ providers: { scripted: provider } }).use(retry({ minTimeoutMs: 1000 }))
    const call = client.chat({ model: 'scripted/model', messages })
    await vi.advanceTimersByTimeAsync(499)
    expect(provider.calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    await call
    expect(provider.calls).toHaveLength(2)
  })

  it('lets shouldRetry retry an error the default would not, and refuse one it would', async () => {
    const badThenOk = scripted([new BadRequestError('flaky validator')])
    client = createClient({ providers: { scripted: badThenOk } }).use(
      retry({ ...noWait, shouldRetry: (error) => error.message === 'flaky validator' }),
    )
    await client.chat({ model: 'scripted/model', messages })
    expect(badThenOk.calls).toHaveLength(2)

    const unavailableTwice = scripted([unavailable(), unavailable()])
    const seen: number[] = []
    await client.close()
    client = createClient({ providers: { scripted: unavailableTwice } }).use(
      retry({ ...noWait, shouldRetry: (_error, ctx) => (seen.push(ctx.attempt), false) }),
    )
    await expect(client.chat({ model: 'scripted/model', messages })).rejects.toBeInstanceOf(ServiceUnavailableError)
    expect(unavailableTwice.calls).toHaveLength(1)
    expect(seen).toEqual([1])
  })

  it('cancels a pending retry at once when the caller aborts, leaving no timer', async () => {
    vi.useFakeTimers()
    const provider = scripted([unavailable()])
    const recorder = createRecorder()
    client = createClient({ providers: { scripted: provider } }).use(recorder.layer, retry({ minTimeoutMs: 60_000, jitter: false }))
    const controller = new AbortController()
    const call = client.chat({ model: 'scripted/model', messages }, { signal: controller.signal })
    const outcome = call.catch((error: unknown) => error)
    await vi.advanceTimersByTimeAsync(10)
    expect(provider.calls).toHaveLength(1)
    controller.abort()
    const error = await outcome
    expect(isAbortError(error)).toBe(true)
    expect(vi.getTimerCount()).toBe(0)
    expect(provider.calls).toHaveLength(1)
    expect(recorder.events[0]!.status).toBe('cancelled')
  })

  it('never retries an AbortError', async () => {
    const provider = scripted([new AbortError('stopped upstream')])
    client = createClient({ providers: { scripted: provider } }).use(retry({ ...noWait, shouldRetry: () => true }))
    await expect(client.chat({ model: 'scripted/model', messages })).rejects.toBeInstanceOf(AbortError)
    expect(provider.calls).toHaveLength(1)
  })

  it('does not retry a stream once a chunk has reached the caller', async () => {
    const perAttempt: number[] = []
    client = createClient().use(retry({ ...noWait, shouldRetry: () => true }), async (ctx, next) => {
      perAttempt.push(ctx.attempt)
      await next()
    })
    const received: string[] = []
    const loop = (async () => {
      const request = { model: 'mock/x', messages, mock_response: 'one two three', mock_error: { status: 503, after_chunks: 2 } }
      for await (const chunk of client!.stream(request)) received.push(chunk.choices[0]?.delta?.content ?? '')
    })()
    await expect(loop).rejects.toBeInstanceOf(ServiceUnavailableError)
    expect(received).toEqual(['one', ' two'])
    expect(perAttempt).toEqual([1])
  })

  it('retries a stream that fails before its first chunk, and the caller gets one reply', async () => {
    let attempts = 0
    const failFirst: Middleware = async (ctx, next) => {
      attempts++
      ctx.request = { ...ctx.request, mock_error: attempts === 1 ? { status: 503 } : undefined }
      await next()
    }
    client = createClient().use(retry(noWait), failFirst)
    let text = ''
    for await (const chunk of client.stream({ model: 'mock/x', messages, mock_response: 'only once' })) {
      text += chunk.choices[0]?.delta?.content ?? ''
    }
    expect(text).toBe('only once')
    expect(attempts).toBe(2)
  })

  it('rejects bad options with an error naming the field', () => {
    expect(() => retry({ retries: -1 })).toThrow(ValidationError)
    expect(() => retry({ retries: -1 })).toThrow(/retry\(\) options: retries/)
    expect(() => retry({ minTimeoutMs: 5000, maxTimeoutMs: 10 })).toThrow(/maxTimeoutMs/)
  })

  it('passes an error it cannot retry through unchanged', async () => {
    client = createClient().use(retry(noWait))
    const error = await client.chat({ model: 'mock/x', messages, mock_error: { status: 401 } }).catch((thrown: unknown) => thrown)
    expect(error).toBeInstanceOf(errorForStatus(401, '').constructor)
  })
})
