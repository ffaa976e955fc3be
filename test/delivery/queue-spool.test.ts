import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createDeliveryQueue, DeliveryError, type DeliveryQueue, type Sink } from '../../src/delivery/queue'
import { openSpool } from '../../src/delivery/spool'

let dir: string
let queues: DeliveryQueue[] = []
const quiet = { onDrop: () => {}, minTimeoutMs: 1, maxTimeoutMs: 2 }

function spooledQueue(options: Parameters<typeof createDeliveryQueue>[0] = {}): DeliveryQueue {
  const queue = createDeliveryQueue({ flushIntervalMs: 60_000, ...quiet, ...options, spool: { dir, flushIntervalMs: 60_000 } })
  queues.push(queue)
  return queue
}

/** A sink that records what it is sent, or fails every batch with `error`. */
function sink(name: string, error?: () => Error): Sink<number> & { sent: number[] } {
  const sent: number[] = []
  return {
    name,
    sent,
    async send(items) {
      if (error) throw error()
      sent.push(...items)
    },
  }
}

/** What the next process would recover, per sink (the queue must be closed first). */
function leftovers(): Record<string, unknown[]> {
  const spool = openSpool({ dir })
  const result = Object.fromEntries(spool.recoveredSinks().map((name) => [name, spool.recover(name).map((record) => record.item)]))
  void spool.close()
  return result
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'llm-onion-queue-spool-'))
})

afterEach(async () => {
  for (const queue of queues) await queue.close({ timeoutMs: 0 })
  queues = []
  rmSync(dir, { recursive: true, force: true })
})

describe('delivery queue with a spool', () => {
  it('keeps only what close() dropped as closed for the next process, not what was delivered or rejected', async () => {
    const queue = spooledQueue({ retries: 1_000 })
    const delivered = sink('delivered')
    const rejected = sink('rejected', () => new DeliveryError('400', { status: 400, retryable: false }))
    const down = sink('down', () => new DeliveryError('503', { status: 503, retryable: true }))
    for (let item = 0; item < 3; item++) {
      queue.enqueue(delivered, item)
      queue.enqueue(rejected, item)
    }
    await queue.flush()
    queue.enqueue(down, 7)
    queue.enqueue(down, 8)
    await queue.close({ timeoutMs: 50 })
    expect(delivered.sent).toEqual([0, 1, 2])
    expect(queue.stats().dropped).toMatchObject({ rejected: 3, closed: 2 })
    expect(leftovers()).toEqual({ down: [7, 8] })
  })

  it('never spools an item refused as queue_full', async () => {
    const queue = spooledQueue({ maxSize: 2, retries: 1_000 })
    const down = sink('down', () => new DeliveryError('503', { status: 503, retryable: true }))
    for (let item = 0; item < 5; item++) queue.enqueue(down, item)
    expect(queue.stats().dropped).toEqual({ queue_full: 3 })
    await queue.close({ timeoutMs: 20 })
    expect(leftovers()).toEqual({ down: [0, 1] })
  })

  it('replays what an earlier queue left to the sink of the same name, in order, ahead of new items, and acknowledges them once delivered', async () => {
    const earlier = spooledQueue({ retries: 1_000 })
    const down = sink('posthog', () => new DeliveryError('503', { status: 503, retryable: true }))
    for (const item of [1, 2, 3]) earlier.enqueue(down, item)
    await earlier.close({ timeoutMs: 20 })

    const queue = spooledQueue()
    const healthy = sink('posthog')
    queue.enqueue(healthy, 4)
    await queue.close()
    expect(healthy.sent).toEqual([1, 2, 3, 4])
    expect(queue.stats().spool?.recovered).toBe(3)
    expect(leftovers()).toEqual({})
  })

  it('replays a sink without a new item when replay(sink) is called', async () => {
    const earlier = spooledQueue({ retries: 1_000 })
    earlier.enqueue(sink('posthog', () => new DeliveryError('503', { status: 503, retryable: true })), 1)
    await earlier.close({ timeoutMs: 20 })

    const queue = spooledQueue()
    const healthy = sink('posthog')
    queue.replay(healthy)
    await queue.close()
    expect(healthy.sent).toEqual([1])
  })
})
