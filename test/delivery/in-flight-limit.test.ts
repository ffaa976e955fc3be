import { afterEach, describe, expect, it } from 'vitest'
import { createDeliveryQueue, DeliveryError, type DeliveryQueue, type DeliveryQueueOptions, type Sink } from '../../src/delivery/queue'

/**
 * A sink that answers each send after `latencyMs`, as a distant service does, and records how many
 * sends it had in flight at once; `failFirstAttempt` makes each batch's first attempt fail (retryable).
 */
function distantSink(options: { latencyMs: number; maxBatchSize?: number; maxConcurrency?: number; failFirstAttempt?: boolean }) {
  const seen = { inFlight: 0, mostInFlight: 0, delivered: 0, attempts: new Map<number, number>() }
  const sink: Sink<number> = {
    name: 'distant',
    maxBatchSize: options.maxBatchSize ?? 1,
    maxConcurrency: options.maxConcurrency,
    async send(items) {
      seen.inFlight++
      seen.mostInFlight = Math.max(seen.mostInFlight, seen.inFlight)
      try {
        await new Promise((resolve) => setTimeout(resolve, options.latencyMs))
        const attempt = (seen.attempts.get(items[0]!) ?? 0) + 1
        seen.attempts.set(items[0]!, attempt)
        if (options.failFirstAttempt && attempt === 1) throw new DeliveryError('distant: answered 503', { status: 503, retryable: true })
        seen.delivered += items.length
      } finally {
        seen.inFlight--
      }
    },
  }
  return { sink, seen }
}

let queue: DeliveryQueue | undefined

/** Enqueues `count` items for `sink` in a new queue and waits until every one is settled. */
async function deliverAll(sink: Sink<number>, count: number, options: DeliveryQueueOptions = {}): Promise<DeliveryQueue> {
  queue = createDeliveryQueue({ maxSize: 5_000, ...options })
  for (let item = 0; item < count; item++) queue.enqueue(sink, item)
  await queue.flush()
  return queue
}

afterEach(async () => {
  await queue?.close()
  queue = undefined
})

describe('in-flight limit', () => {
  it('lets a slow one-item sink with a backlog have more requests in flight than the default 64, and delivers everything', async () => {
    const { sink, seen } = distantSink({ latencyMs: 20 })
    const queue = await deliverAll(sink, 4_000)
    expect(seen.delivered).toBe(4_000)
    expect(queue.stats().dropped).toEqual({})
    expect(seen.mostInFlight).toBeGreaterThan(64)
    expect(seen.mostInFlight).toBeLessThanOrEqual(64 * 16)
  })

  it('grows the batches in flight of a batch sink the same way, from the default 4', async () => {
    const { sink, seen } = distantSink({ latencyMs: 20, maxBatchSize: 10 })
    await deliverAll(sink, 4_000)
    expect(seen.delivered).toBe(4_000)
    expect(seen.mostInFlight).toBeGreaterThan(4)
    expect(seen.mostInFlight).toBeLessThanOrEqual(4 * 16)
  })

  it('does not press a failing sink harder: with every first attempt failing, no more than the default in flight', async () => {
    const { sink, seen } = distantSink({ latencyMs: 5, failFirstAttempt: true })
    const queue = await deliverAll(sink, 1_000, { minTimeoutMs: 1, maxTimeoutMs: 2 })
    expect(seen.delivered).toBe(1_000)
    expect(queue.stats().retries).toBe(1_000)
    expect(seen.mostInFlight).toBeLessThanOrEqual(64)
  })

  it("keeps a sink's own maxConcurrency exactly", async () => {
    const { sink, seen } = distantSink({ latencyMs: 5, maxConcurrency: 8 })
    await deliverAll(sink, 1_000)
    expect(seen.delivered).toBe(1_000)
    expect(seen.mostInFlight).toBe(8)
  })
})
