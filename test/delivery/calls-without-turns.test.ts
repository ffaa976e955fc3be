/**
 * A loop of calls that never wait on the network (the mock provider here; cached answers in an
 * evaluation run) gives the event loop no turn, and the delivery queue works in those turns: the
 * client gives it some once many events are waiting, so no event is dropped while every sink is
 * healthy, and delivery happens during the loop, not only after it. With the delivery worker the
 * events go to another thread during the loop, and the loop waits while the worker's queue is over
 * half full and still draining.
 */
import { createServer as createHttpServer } from 'node:http'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { findIntegration } from '../../src/integrations/catalogue'
import { startReceiver, type Receiver } from '../../src/testing/receiver'

let client: Client | undefined
let receiver: Receiver | undefined
afterEach(async () => {
  await client?.close()
  await receiver?.close()
  client = undefined
  receiver = undefined
})

/** PostHog built from the catalogue, as `callbacks()` and the proxy build it: the delivery worker can run it. */
const posthog = (options: { apiKey: string; baseUrl: string }) => findIntegration('posthog')!.factory(options as never)

/** PostHog's batch events received so far. */
const eventsReceived = (from: Receiver) => from.requests.reduce((sum, request) => sum + (request.json as { batch: unknown[] }).batch.length, 0)

describe.each([
  ['on the calling thread', false],
  ['with the delivery worker', true],
])('a loop of calls that never waits on the network, %s', (_mode, worker) => {
  it('delivers every event, during the loop, with a queue far smaller than the loop', async () => {
    receiver = await startReceiver()
    // Room for 400 events: a loop of 3,000 calls that gave the queue no turn would lose 2,600.
    client = createClient({ queue: { maxSize: 400, worker }, onHookError: () => {} })
    client.use(posthog({ apiKey: 'phc_test', baseUrl: receiver.url }))
    // One call delivered first: the sink's HTTP client loads on its first send, which under the test
    // runner takes longer than the turns a loop is given.
    await client.chat({ model: 'mock/echo', messages: [{ role: 'user', content: 'first' }], mock_response: 'an answer' })
    await client.flush()
    const calls = 3_000
    for (let index = 0; index < calls; index++) {
      await client.chat({ model: 'mock/echo', messages: [{ role: 'user', content: `question ${index}` }], mock_response: 'an answer' })
    }
    const duringTheLoop = eventsReceived(receiver)
    await client.flush()
    const stats = client.services.queue.stats()
    expect(stats).toMatchObject({ delivered: calls + 1, dropped: {} })
    // With the worker, PostHog's events were delivered from its thread.
    expect(stats.worker?.handedOver ?? 0).toBe(worker ? calls + 1 : 0)
    expect(eventsReceived(receiver)).toBe(calls + 1)
    expect(duringTheLoop).toBeGreaterThan(calls - 400)
  })

  it('is paced by a sink that answers as slowly as a cloud service (100 ms a batch), and loses nothing', async () => {
    let received = 0
    const slow = createHttpServer((request, response) => {
      const parts: Buffer[] = []
      request.on('data', (part: Buffer) => parts.push(part))
      request.on('end', () => {
        received += (JSON.parse(Buffer.concat(parts).toString()) as { batch: unknown[] }).batch.length
        setTimeout(() => response.end('{}'), 100)
      })
    })
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve))
    try {
      client = createClient({ queue: { maxSize: 400, worker }, onHookError: () => {} })
      client.use(posthog({ apiKey: 'phc_test', baseUrl: `http://127.0.0.1:${(slow.address() as AddressInfo).port}` }))
      const calls = 3_000
      for (let index = 0; index < calls; index++) {
        await client.chat({ model: 'mock/echo', messages: [{ role: 'user', content: `question ${index}` }], mock_response: 'an answer' })
      }
      await client.flush()
      expect(client.services.queue.stats()).toMatchObject({ delivered: calls, dropped: {} })
      expect(received).toBe(calls)
    } finally {
      slow.closeAllConnections()
      await new Promise((resolve) => slow.close(resolve))
    }
  })

  it('does not wait for a sink that does not drain: the loop ends, and what the queue could not hold is counted', async () => {
    // A service that takes connections and never answers.
    const connections: Socket[] = []
    const silent = createServer((connection) => connections.push(connection))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    try {
      client = createClient({ queue: { maxSize: 400, worker }, onHookError: () => {} })
      client.use(posthog({ apiKey: 'phc_test', baseUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}` }))
      for (let index = 0; index < 3_000; index++) {
        await client.chat({ model: 'mock/echo', messages: [{ role: 'user', content: `question ${index}` }], mock_response: 'an answer' })
      }
      // The worker's counters as they are now (they reach this thread with a flush's answer).
      await client.flush({ timeoutMs: 50 })
      // The 400 held wait for answers that never come; the rest could not be held.
      expect(client.services.queue.stats()).toMatchObject({ enqueued: 3_000, delivered: 0, pending: 400, dropped: { queue_full: 2_600 } })
      await client.close({ timeoutMs: 50 })
    } finally {
      for (const connection of connections) connection.destroy()
      await new Promise((resolve) => silent.close(resolve))
    }
    // A loop that waited for the stalled sink again and again would not end in time: without the
    // patience it never ends, and waiting the patience (1 s) every 64 calls takes over 40 s.
  }, 8_000)
})
