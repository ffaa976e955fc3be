import { afterEach, describe, expect, it } from 'vitest'
import { createClient, isAbortError, mock, type ChatChunk, type ChatResponse, type Client } from '../src/index'

const messages = [{ role: 'user' as const, content: 'hello stream' }]
let client: Client
afterEach(async () => client?.close())

function textOf(chunks: ChatChunk[]): string {
  return chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('')
}

describe('streams inside the onion', () => {
  it('resolves await next() only after the last chunk reached the caller, with the response assembled', async () => {
    const log: string[] = []
    let assembled: ChatResponse | undefined
    client = createClient().use(async (ctx, next) => {
      await next()
      log.push('after next')
      assembled = ctx.response as ChatResponse
    })
    for await (const chunk of client.stream({ model: 'mock/x', messages, mock_response: 'one two three' })) {
      log.push(`caller got ${JSON.stringify(chunk.choices[0]?.delta?.content ?? null)}`)
    }
    log.push('loop ended')
    expect(log.indexOf('after next')).toBe(log.length - 2)
    expect(log.filter((entry) => entry.startsWith('caller got')).length).toBeGreaterThanOrEqual(3)
    expect(assembled!.choices[0]!.message.content).toBe('one two three')
    expect(assembled!.choices[0]!.finish_reason).toBe('stop')
  })

  it('fills usage and the first-chunk time for the layers after next()', async () => {
    let seen: { usage?: unknown; firstChunk?: number; start?: number } = {}
    client = createClient().use(async (ctx, next) => {
      await next()
      seen = { usage: ctx.usage, firstChunk: ctx.timing.firstChunk, start: ctx.timing.start }
    })
    for await (const _chunk of client.stream({ model: 'mock/x', messages, mock_response: 'a b' })) void _chunk
    expect(seen.usage).toEqual({ inputTokens: 3, outputTokens: 2, totalTokens: 5 })
    expect(seen.firstChunk).toBeGreaterThanOrEqual(seen.start!)
  })

  it('runs chunk functions from the innermost layer outward, and a returned chunk replaces the original', async () => {
    const order: string[] = []
    client = createClient()
      .use(async (ctx, next) => {
        ctx.onChunk((chunk) => {
          order.push(`outer saw ${chunk.choices[0]?.delta?.content ?? ''}`)
        })
        await next()
      })
      .use(async (ctx, next) => {
        ctx.onChunk((chunk) => {
          const delta = chunk.choices[0]?.delta
          if (!delta?.content) return
          order.push(`inner saw ${delta.content}`)
          return { ...chunk, choices: [{ ...chunk.choices[0]!, delta: { ...delta, content: `[${delta.content}]` } }] }
        })
        await next()
      })
    const chunks: ChatChunk[] = []
    for await (const chunk of client.stream({ model: 'mock/x', messages, mock_response: 'hi' })) chunks.push(chunk)
    expect(order.slice(0, 2)).toEqual(['inner saw hi', 'outer saw [hi]'])
    expect(textOf(chunks)).toBe('[hi]')
  })

  it('ends the caller loop only after every layer after-section ran, even a slow one', async () => {
    const log: string[] = []
    client = createClient()
      .use(async (_ctx, next) => {
        await next()
        await new Promise((resolve) => setTimeout(resolve, 20))
        log.push('outer after')
      })
      .use(async (_ctx, next) => {
        await next()
        log.push('inner after')
      })
    for await (const _chunk of client.stream({ model: 'mock/x', messages })) void _chunk
    log.push('loop over')
    expect(log).toEqual(['inner after', 'outer after', 'loop over'])
  })

  it('reads the provider no faster than the caller consumes (backpressure)', async () => {
    let produced = 0
    const slowReader = createClient({
      providers: {
        counting: {
          name: 'counting',
          chat: () => Promise.reject(new Error('unused')),
          embed: () => Promise.reject(new Error('unused')),
          async *stream() {
            for (let index = 0; index < 100; index++) {
              produced++
              yield { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: `${index} ` }, finish_reason: null }] }
            }
          },
        },
      },
    })
    client = slowReader
    let consumed = 0
    for await (const _chunk of client.stream({ model: 'counting/m', messages })) {
      consumed++
      await new Promise((resolve) => setTimeout(resolve, 1))
      expect(produced - consumed).toBeLessThanOrEqual(1)
      if (consumed === 5) break
    }
    expect(produced).toBeLessThanOrEqual(6)
  })

  it('on break, aborts upstream, rejects await next() with AbortError in every layer, and leaves no timers', async () => {
    const errors: unknown[] = []
    let upstreamSignal: AbortSignal | undefined
    client = createClient({ providers: { mock: mock({ chunkDelayMs: 5 }) } })
      .use(async (_ctx, next) => {
        try { await next() } catch (error) { errors.push(error); throw error }
      })
      .use(async (ctx, next) => {
        upstreamSignal = ctx.signal
        try { await next() } catch (error) { errors.push(error); throw error }
      })
    const before = process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length
    let received = 0
    for await (const _chunk of client.stream({ model: 'mock/x', messages, mock_response: 'a b c d e f g h' })) {
      if (++received === 2) break
    }
    expect(errors).toHaveLength(2)
    expect(errors.every(isAbortError)).toBe(true)
    expect(upstreamSignal!.aborted).toBe(true)
    const after = process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length
    expect(after).toBeLessThanOrEqual(before)
  })

  it('records a cancelled stream as status cancelled in the event', async () => {
    let status: string | undefined
    client = createClient().use(async (ctx, next) => {
      try { await next() } finally { status = ctx.toEvent().status }
    })
    for await (const _chunk of client.stream({ model: 'mock/x', messages, mock_response: 'a b c' })) break
    expect(status).toBe('cancelled')
  })

  it('rejects await next() in every layer on a provider error mid-stream, then throws from the caller loop', async () => {
    const layerErrors: string[] = []
    client = createClient()
      .use(async (_ctx, next) => {
        try { await next() } catch (error) { layerErrors.push(`outer ${(error as Error).name}`); throw error }
      })
      .use(async (ctx, next) => {
        try { await next() } catch (error) { layerErrors.push(`inner ${(error as Error).name} status=${ctx.toEvent().status}`); throw error }
      })
    const received: string[] = []
    let caught: unknown
    try {
      for await (const chunk of client.stream({ model: 'mock/x', messages, mock_response: 'a b c d', mock_error: { status: 500, after_chunks: 2 } })) {
        received.push(chunk.choices[0]?.delta?.content ?? '')
      }
    } catch (error) {
      caught = error
    }
    expect(received).toEqual(['a', ' b'])
    expect((caught as Error).name).toBe('InternalServerError')
    expect(layerErrors).toEqual(['inner InternalServerError status=failure', 'outer InternalServerError'])
  })

  it('does not start the call until the caller starts reading', async () => {
    let started = false
    client = createClient().use(async (_ctx, next) => {
      started = true
      await next()
    })
    const stream = client.stream({ model: 'mock/x', messages })
    expect(started).toBe(false)
    for await (const _chunk of stream) void _chunk
    expect(started).toBe(true)
  })

  it('gives the same assembled response as the non-streamed call of the same reply', async () => {
    let streamed: ChatResponse | undefined
    client = createClient().use(async (ctx, next) => {
      await next()
      if (ctx.streaming) streamed = ctx.response as ChatResponse
    })
    const request = { model: 'mock/x', messages, mock_response: 'same reply both ways' }
    const plain = await client.chat(request)
    for await (const _chunk of client.stream(request)) void _chunk
    expect(streamed!.choices).toEqual(plain.choices)
    expect(streamed!.usage).toEqual(plain.usage)
  })

  it('cancels through the caller signal', async () => {
    const controller = new AbortController()
    client = createClient({ providers: { mock: mock({ latencyMs: 1000 }) } })
    const call = client.chat({ model: 'mock/x', messages }, { signal: controller.signal })
    setTimeout(() => controller.abort(), 10)
    await expect(call).rejects.toSatisfy(isAbortError)
  })
})

describe('the caller signal', () => {
  it('does not keep a listener on a long-lived signal once calls are over', async () => {
    const controller = new AbortController()
    let listeners = 0
    const signal = controller.signal
    const add = signal.addEventListener.bind(signal)
    const remove = signal.removeEventListener.bind(signal)
    signal.addEventListener = ((...args: Parameters<typeof add>) => { listeners++; add(...args) }) as typeof add
    signal.removeEventListener = ((...args: Parameters<typeof remove>) => { listeners--; remove(...args) }) as typeof remove
    client = createClient()
    for (let index = 0; index < 5; index++) await client.chat({ model: 'mock/x', messages }, { signal })
    for await (const _chunk of client.stream({ model: 'mock/x', messages }, { signal })) void _chunk
    expect(listeners).toBe(0)
  })
})
