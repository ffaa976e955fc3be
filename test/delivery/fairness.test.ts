/**
 * The delivery queue under a dead or slow receiver, over real HTTP on 127.0.0.1: a dead sink loses
 * only its own items, and a one-item sink keeps up with 1,000 items/s against a 50 ms receiver.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { createDeliveryQueue, type DeliveryQueue, type Sink } from '../../src/delivery/queue'
import { httpSink } from '../../src/delivery/http-sink'
import { refusedUrl, startCountingReceiver, type CountingReceiver } from '../fakes/delivery-receivers'

let queue: DeliveryQueue | undefined
const receivers: CountingReceiver[] = []

afterEach(async () => {
  await queue?.close({ timeoutMs: 100 })
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()))
  queue = undefined
})

/** Waits (without a time limit of its own: the test's timeout is the limit) until `done()` holds. */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await sleep(10)
}

describe('delivery queue fairness', () => {
  it('delivers 100% of 30,000 events to a healthy sink while another sink refuses connections, dropping only the dead sink\'s events', { timeout: 60_000 }, async () => {
    const receiver = await startCountingReceiver()
    receivers.push(receiver)
    // Helicone-like: one item per request, to a port nothing listens on.
    const dead: Sink<{ id: number }> = httpSink({ name: 'dead', url: `${await refusedUrl()}/v1/log`, maxBatchSize: 1, encode: (items) => items[0] })
    // PostHog-like: batches of 100.
    const healthy: Sink<{ id: number }> = httpSink({ name: 'healthy', url: `${receiver.url}/batch`, encode: (items) => ({ batch: items }) })
    queue = createDeliveryQueue({ flushIntervalMs: 20, onDrop: () => {} })
    for (let round = 0; round < 30; round++) {
      for (let index = 0; index < 1_000; index++) {
        const event = { id: round * 1_000 + index }
        queue.enqueue(dead, event)
        queue.enqueue(healthy, event)
      }
      // Paced like calls arriving over time: the healthy sink keeps up on its own, whatever the machine's speed.
      do await sleep(10)
      while (queue.stats().sinks.healthy!.pending > 2_000)
    }
    await until(() => queue!.stats().sinks.healthy!.pending === 0)
    const stats = queue.stats()
    expect(receiver.items()).toBe(30_000)
    expect(stats.sinks.healthy).toMatchObject({ enqueued: 30_000, delivered: 30_000, dropped: {} })
    // The dead sink lost its own events, counted as queue_full for it.
    expect(stats.sinks.dead!.delivered).toBe(0)
    expect(stats.sinks.dead!.dropped.queue_full).toBeGreaterThan(0)
    expect(stats.dropped.queue_full).toBe(stats.sinks.dead!.dropped.queue_full)
  })

  it('gives a sink below its equal share room in a full queue by dropping the oldest waiting item of the sink holding the most', async () => {
    const stuck: Sink<number> = { name: 'stuck', maxBatchSize: 1, maxConcurrency: 1, send: () => new Promise(() => {}) }
    const sent: number[] = []
    const fine: Sink<number> = { name: 'fine', maxBatchSize: 1_000, async send(items) { sent.push(...items) } }
    queue = createDeliveryQueue({ maxSize: 10, flushIntervalMs: 60_000, onDrop: () => {} })
    for (let item = 0; item < 20; item++) queue.enqueue(stuck, item)
    expect(queue.stats()).toMatchObject({ pending: 10, dropped: { queue_full: 10 } })
    for (let item = 0; item < 5; item++) queue.enqueue(fine, item)
    expect(queue.stats().sinks.fine).toMatchObject({ enqueued: 5, pending: 5, dropped: {} })
    expect(queue.stats().sinks.stuck).toMatchObject({ pending: 5, dropped: { queue_full: 15 } })
    expect(queue.stats().pending).toBe(10)
    // Past its equal share (10 / 2 sinks), the fine sink is refused like any other.
    queue.enqueue(fine, 5)
    expect(queue.stats().sinks.fine!.dropped).toEqual({ queue_full: 1 })
    await queue.flush({ timeoutMs: 1_000 })
    expect(sent).toEqual([0, 1, 2, 3, 4])
  })

  it('holds at most maxSizePerSink items of one sink even when the queue has room', async () => {
    const stuck: Sink<number> = { name: 'stuck', maxConcurrency: 1, send: () => new Promise(() => {}) }
    queue = createDeliveryQueue({ maxSize: 100, maxSizePerSink: 10, flushIntervalMs: 60_000, onDrop: () => {} })
    for (let item = 0; item < 30; item++) queue.enqueue(stuck, item)
    expect(queue.stats()).toMatchObject({ enqueued: 30, pending: 10, dropped: { queue_full: 20 } })
  })

  it('keeps a one-item sink up with 2,000 events at about 1,000/s against a receiver answering in 50 ms, dropping none', { timeout: 60_000 }, async () => {
    const receiver = await startCountingReceiver({ latencyMs: 50 })
    receivers.push(receiver)
    const sink: Sink<{ id: number }> = httpSink({ name: 'one-item', url: `${receiver.url}/log`, maxBatchSize: 1, encode: (items) => items[0] })
    // A bound of 500: a sink that cannot keep up with 1,000/s piles up past it within a second and drops.
    queue = createDeliveryQueue({ maxSize: 500, onDrop: () => {} })
    for (let round = 0; round < 100; round++) {
      for (let index = 0; index < 20; index++) queue.enqueue(sink, { id: round * 20 + index })
      await sleep(20)
    }
    await queue.flush()
    expect(queue.stats().sinks['one-item']).toMatchObject({ enqueued: 2_000, delivered: 2_000, pending: 0, dropped: {} })
    expect(receiver.items()).toBe(2_000)
  })
})
