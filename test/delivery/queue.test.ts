import { afterEach, describe, expect, it, vi } from 'vitest'
import { createClient, type Client } from '../../src/index'
import { createDeliveryQueue, DeliveryError, type DeliveryQueue, type DropInfo, type Sink } from '../../src/delivery/queue'

/** A sink that records every batch and fails the way it is told to. */
function recordingSink(options: { name?: string; maxBatchSize?: number; fail?: (attempt: number, items: number[]) => Error | undefined } = {}) {
  const batches: number[][] = []
  const attempts: number[][] = []
  const sink: Sink<number> = {
    name: options.name ?? 'recording',
    maxBatchSize: options.maxBatchSize,
    async send(items) {
      attempts.push([...items])
      const error = options.fail?.(attempts.length, items)
      if (error) throw error
      batches.push([...items])
    },
  }
  return { sink, batches, attempts }
}

const fast = { minTimeoutMs: 1, maxTimeoutMs: 2 }
let queue: DeliveryQueue | undefined
let client: Client | undefined

afterEach(async () => {
  vi.useRealTimers()
  await queue?.close()
  await client?.close()
  queue = client = undefined
})

describe('delivery queue', () => {
  it('sends full batches at once and the rest on flush', async () => {
    const { sink, batches } = recordingSink({ maxBatchSize: 3 })
    queue = createDeliveryQueue({ flushIntervalMs: 60_000, ...fast })
    for (let item = 0; item < 7; item++) queue.enqueue(sink, item)
    await vi.waitFor(() => expect(batches).toHaveLength(2))
    await queue.flush()
    expect(batches).toEqual([[0, 1, 2], [3, 4, 5], [6]])
    expect(queue.stats()).toMatchObject({ enqueued: 7, delivered: 7, pending: 0, dropped: {} })
  })

  it('sends a partial batch once flushIntervalMs has passed since its first item', async () => {
    vi.useFakeTimers()
    const { sink, batches } = recordingSink({ maxBatchSize: 100 })
    queue = createDeliveryQueue({ flushIntervalMs: 1_000, ...fast })
    queue.enqueue(sink, 1)
    queue.enqueue(sink, 2)
    await vi.advanceTimersByTimeAsync(999)
    expect(batches).toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    expect(batches).toEqual([[1, 2]])
  })

  it('delivers everything from a sink that fails twice and then recovers', async () => {
    const { sink, batches, attempts } = recordingSink({
      maxBatchSize: 10,
      fail: (attempt) => (attempt <= 2 ? new DeliveryError('503 from fake', { status: 503, retryable: true }) : undefined),
    })
    queue = createDeliveryQueue({ flushIntervalMs: 60_000, ...fast })
    for (let item = 0; item < 5; item++) queue.enqueue(sink, item)
    await queue.flush()
    expect(batches).toEqual([[0, 1, 2, 3, 4]])
    expect(attempts).toHaveLength(3)
    expect(queue.stats()).toMatchObject({ delivered: 5, pending: 0, retries: 2, dropped: {} })
  })

  it('retries a plain thrown error (a network failure) like a retryable one', async () => {
    const { sink, batches } = recordingSink({ fail: (attempt) => (attempt === 1 ? new TypeError('fetch failed') : undefined) })
    queue = createDeliveryQueue({ flushIntervalMs: 60_000, ...fast })
    queue.enqueue(sink, 1)
    await queue.flush()
    expect(batches).toEqual([[1]])
  })

  it('waits at least the retryAfterMs a sink asks for before retrying', async () => {
    vi.useFakeTimers()
    const { sink, attempts } = recordingSink({
      fail: (attempt) => (attempt === 1 ? new DeliveryError('429', { status: 429, retryable: true, retryAfterMs: 5_000 }) : undefined),
    })
    queue = createDeliveryQueue({ flushIntervalMs: 60_000, minTimeoutMs: 1, maxTimeoutMs: 60_000 })
    queue.enqueue(sink, 1)
    const flushed = queue.flush()
    await vi.advanceTimersByTimeAsync(4_999)
    expect(attempts).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    await flushed
    expect(attempts).toHaveLength(2)
    expect(queue.stats().delivered).toBe(1)
  })

  it('does not retry a DeliveryError marked retryable: false and counts it as rejected', async () => {
    const drops: DropInfo[] = []
    const { sink, attempts } = recordingSink({ fail: () => new DeliveryError('400 invalid payload', { status: 400, retryable: false }) })
    queue = createDeliveryQueue({ flushIntervalMs: 60_000, ...fast, onDrop: (info) => drops.push(info) })
    queue.enqueue(sink, 1)
    queue.enqueue(sink, 2)
    await queue.flush()
    expect(attempts).toHaveLength(1)
    expect(queue.stats().dropped).toEqual({ rejected: 2 })
    expect(queue.stats().sinks.recording!.dropped).toEqual({ rejected: 2 })
    expect(drops).toMatchObject([{ sink: 'recording', reason: 'rejected', count: 2 }])
    expect((drops[0]!.error as Error).message).toContain('400 invalid payload')
  })

  it('under a sink that never recovers, holds at most maxSize items and counts every drop', async () => {
    const { sink, attempts } = recordingSink({ maxBatchSize: 5, fail: () => new Error('connection refused') })
    const drops: DropInfo[] = []
    queue = createDeliveryQueue({ maxSize: 10, retries: 2, flushIntervalMs: 60_000, ...fast, onDrop: (info) => drops.push(info) })
    let mostHeld = 0
    for (let item = 0; item < 1_000; item++) {
      queue.enqueue(sink, item)
      mostHeld = Math.max(mostHeld, queue.stats().pending)
    }
    expect(mostHeld).toBe(10)
    await queue.flush()
    const stats = queue.stats()
    expect(stats).toMatchObject({ enqueued: 1_000, delivered: 0, pending: 0 })
    expect(stats.dropped).toEqual({ queue_full: 990, retries_exhausted: 10 })
    // Two batches of five, each tried once and retried twice.
    expect(attempts).toHaveLength(6)
    expect(drops.filter((drop) => drop.reason === 'retries_exhausted').map((drop) => drop.count)).toEqual([5, 5])
  })

  it('keeps counting per sink name', async () => {
    const good = recordingSink({ name: 'good' })
    const bad = recordingSink({ name: 'bad', fail: () => new DeliveryError('403', { status: 403, retryable: false }) })
    queue = createDeliveryQueue({ flushIntervalMs: 60_000, ...fast, onDrop: () => {} })
    queue.enqueue(good.sink, 1)
    queue.enqueue(bad.sink, 2)
    await queue.flush()
    const { sinks } = queue.stats()
    expect(sinks.good).toMatchObject({ enqueued: 1, delivered: 1, dropped: {} })
    expect(sinks.bad).toMatchObject({ enqueued: 1, delivered: 0, dropped: { rejected: 1 } })
  })

  it('resolves flush() once earlier items are delivered, without waiting for items enqueued after it', async () => {
    let release: () => void = () => {}
    const blocked = new Promise<void>((resolve) => (release = resolve))
    const sink: Sink<string> = {
      name: 'slow-for-late',
      maxBatchSize: 1,
      async send(items) {
        if (items[0] === 'late') await blocked
      },
    }
    queue = createDeliveryQueue({ flushIntervalMs: 60_000, ...fast })
    queue.enqueue(sink, 'early')
    const flushed = queue.flush()
    queue.enqueue(sink, 'late')
    await flushed
    expect(queue.stats()).toMatchObject({ delivered: 1, pending: 1 })
    release()
    await queue.flush()
    expect(queue.stats()).toMatchObject({ delivered: 2, pending: 0 })
  })

  it('never throws into the caller, even when send throws synchronously', async () => {
    const sink: Sink<number> = {
      name: 'throws',
      send() {
        throw new Error('bug in sink')
      },
    }
    queue = createDeliveryQueue({ flushIntervalMs: 0, retries: 1, ...fast, onDrop: () => {} })
    expect(() => queue!.enqueue(sink, 1)).not.toThrow()
    await queue.flush()
    expect(queue.stats().dropped).toEqual({ retries_exhausted: 1 })
  })

  it('close() delivers what is queued and leaves no timer running', async () => {
    vi.useFakeTimers()
    const { sink, batches } = recordingSink()
    queue = createDeliveryQueue({ flushIntervalMs: 60_000, ...fast })
    queue.enqueue(sink, 1)
    expect(vi.getTimerCount()).toBe(1)
    await queue.close()
    expect(batches).toEqual([[1]])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('close() gives up after closeTimeoutMs on a sink that never recovers, drops the rest as closed, and stops its timers', async () => {
    vi.useFakeTimers()
    const { sink } = recordingSink({ fail: () => new Error('down') })
    queue = createDeliveryQueue({ flushIntervalMs: 60_000, retries: 100, minTimeoutMs: 1_000, maxTimeoutMs: 1_000, closeTimeoutMs: 5_000, onDrop: () => {} })
    queue.enqueue(sink, 1)
    const closed = queue.close()
    await vi.advanceTimersByTimeAsync(5_000)
    await closed
    await vi.waitFor(() => expect(queue!.stats().dropped).toEqual({ closed: 1 }))
    expect(vi.getTimerCount()).toBe(0)
    queue.enqueue(sink, 2)
    expect(queue.stats().dropped).toEqual({ closed: 2 })
  })

  it('warns once per sink and reason when no onDrop is given', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const { sink } = recordingSink({ fail: () => new DeliveryError('401 bad key', { status: 401, retryable: false }) })
    queue = createDeliveryQueue({ flushIntervalMs: 0, ...fast })
    queue.enqueue(sink, 1)
    await queue.flush()
    queue.enqueue(sink, 2)
    await queue.flush()
    expect(warn).toHaveBeenCalledTimes(1)
    expect(String(warn.mock.calls[0]![0])).toContain('recording dropped 1 item(s) (rejected): 401 bad key')
    warn.mockRestore()
  })

  it('rejects invalid options naming the field, already at createClient()', () => {
    expect(() => createDeliveryQueue({ maxSize: 0 })).toThrow(/maxSize/)
    expect(() => createClient({ queue: { retries: -1 } })).toThrow(/queue.*retries/)
  })

  it('sends a full batch at the next turn of the event loop, never on the caller\'s stack', async () => {
    const { sink, attempts } = recordingSink({ maxBatchSize: 2 })
    queue = createDeliveryQueue({ flushIntervalMs: 60_000, ...fast })
    queue.enqueue(sink, 1)
    queue.enqueue(sink, 2)
    // The batch is full, yet enqueue() returned without starting the send.
    expect(attempts).toEqual([])
    await new Promise((resolve) => setImmediate(resolve))
    expect(attempts).toEqual([[1, 2]])
  })

  it('sends the batches of sinks that filled together one sink per turn, so their encoding never adds up to one long pause', async () => {
    const first = recordingSink({ name: 'first', maxBatchSize: 1 })
    const second = recordingSink({ name: 'second', maxBatchSize: 1 })
    queue = createDeliveryQueue({ flushIntervalMs: 60_000, ...fast })
    queue.enqueue(first.sink, 1)
    queue.enqueue(second.sink, 2)
    const nextTurn = () => new Promise((resolve) => setImmediate(resolve))
    await nextTurn()
    expect([first.attempts, second.attempts]).toEqual([[[1]], []])
    await nextTurn()
    expect([first.attempts, second.attempts]).toEqual([[[1]], [[2]]])
  })

  it('maps enqueueMapped() items in the background, after the caller moved on', async () => {
    const { sink, batches } = recordingSink({ maxBatchSize: 10 })
    const mapped: number[] = []
    const double = (source: number) => {
      mapped.push(source)
      return [source * 2, source * 2 + 1]
    }
    queue = createDeliveryQueue({ flushIntervalMs: 60_000, ...fast })
    queue.enqueueMapped(sink, 1, double, () => {})
    queue.enqueueMapped(sink, 2, double, () => {})
    expect(mapped).toEqual([])
    await new Promise((resolve) => setImmediate(resolve))
    expect(mapped).toEqual([1, 2])
    await queue.flush()
    expect(batches).toEqual([[2, 3, 4, 5]])
    expect(queue.stats()).toMatchObject({ enqueued: 4, delivered: 4, pending: 0 })
  })

  it('maps what was handed over before flush() resolves, and stats() counts it at once', async () => {
    const { sink, batches } = recordingSink()
    queue = createDeliveryQueue({ flushIntervalMs: 60_000, ...fast })
    queue.enqueueMapped(sink, 'abc', (source) => source.length, () => {})
    expect(queue.stats()).toMatchObject({ enqueued: 1, pending: 1 })
    await queue.flush()
    expect(batches).toEqual([[3]])
  })

  it('sends a throwing map to onError, delivers the other items, and skips a map that returns undefined', async () => {
    const { sink, batches } = recordingSink()
    const errors: string[] = []
    queue = createDeliveryQueue({ flushIntervalMs: 60_000, ...fast })
    const map = (source: number) => {
      if (source === 2) throw new Error('cannot map 2')
      return source === 3 ? undefined : source
    }
    for (const source of [1, 2, 3, 4]) queue.enqueueMapped(sink, source, map, (error) => errors.push((error as Error).message))
    await queue.flush()
    expect(errors).toEqual(['cannot map 2'])
    expect(batches).toEqual([[1, 4]])
  })

  it('counts an event whose mapping threw as dropped (mapping_failed) for its sink', async () => {
    const { sink, batches } = recordingSink({ name: 'mapped' })
    const drops: DropInfo[] = []
    queue = createDeliveryQueue({ flushIntervalMs: 60_000, ...fast, onDrop: (info) => drops.push(info) })
    const map = (source: number) => {
      if (source === 2) throw new Error('cannot map 2')
      return source
    }
    for (const source of [1, 2, 3]) queue.enqueueMapped(sink, source, map, () => {})
    await queue.flush()
    expect(batches).toEqual([[1, 3]])
    expect(queue.stats()).toMatchObject({ enqueued: 3, delivered: 2, pending: 0, dropped: { mapping_failed: 1 } })
    expect(queue.stats().sinks.mapped!.dropped).toEqual({ mapping_failed: 1 })
    expect(drops).toMatchObject([{ sink: 'mapped', reason: 'mapping_failed', count: 1 }])
    expect((drops[0]!.error as Error).message).toBe('cannot map 2')
  })

  it('counts items not yet mapped against maxSize, and refuses them after close()', async () => {
    const { sink } = recordingSink()
    queue = createDeliveryQueue({ maxSize: 3, flushIntervalMs: 60_000, ...fast, onDrop: () => {} })
    for (let source = 0; source < 5; source++) queue.enqueueMapped(sink, source, (item) => item, () => {})
    expect(queue.stats()).toMatchObject({ enqueued: 5, pending: 3, dropped: { queue_full: 2 } })
    await queue.close()
    queue.enqueueMapped(sink, 9, (item) => item, () => {})
    expect(queue.stats()).toMatchObject({ delivered: 3, dropped: { queue_full: 2, closed: 1 } })
  })

  it('returns from client.flush({ timeoutMs }) by its deadline with a sink that never answers and background work that never settles, leaving them pending', async () => {
    const silent: Sink<number> = { name: 'silent', send: () => new Promise(() => {}) }
    client = createClient({ queue: { flushIntervalMs: 60_000, closeTimeoutMs: 50, onDrop: () => {} } })
    client.use(async (ctx, next) => {
      await next()
      ctx.waitUntil(new Promise(() => {}))
      ctx.services.queue.enqueue(silent, 1)
    })
    await client.chat({ model: 'mock/x', messages: [{ role: 'user', content: 'hi' }], mock_response: 'ok' })
    await client.flush({ timeoutMs: 50 })
    expect(client.services.queue.stats()).toMatchObject({ enqueued: 1, delivered: 0, pending: 1 })
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    await client.close()
    expect(client.services.queue.stats()).toMatchObject({ pending: 0, dropped: { closed: 1 } })
    expect(error).toHaveBeenCalledTimes(1)
    expect(String(error.mock.calls[0]![0])).toContain('dropped as closed: silent 1')
    error.mockRestore()
  })

  it('is drained by client.flush() and stopped by client.close()', async () => {
    vi.useFakeTimers()
    const { sink, batches } = recordingSink()
    client = createClient({ queue: { flushIntervalMs: 60_000, ...fast } })
    client.use(async (ctx, next) => {
      await next()
      ctx.services.queue.enqueue(sink, ctx.usage?.totalTokens ?? -1)
    })
    await client.chat({ model: 'mock/x', messages: [{ role: 'user', content: 'one two' }], mock_response: 'three' })
    expect(vi.getTimerCount()).toBe(1)
    await client.flush()
    expect(batches).toEqual([[4]])
    await client.close()
    expect(vi.getTimerCount()).toBe(0)
  })
})
