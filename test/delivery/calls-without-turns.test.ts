/**
 * A loop of calls that never wait on the network (the mock provider here; cached answers in an
 * evaluation run) gives the event loop no turn, and the delivery queue works in those turns: the
 * client gives it some once many events are waiting, so no event is dropped while every sink is
 * healthy, and delivery happens during the loop, not only after it. (With the delivery worker the
 * events go to another thread, which delivers at its own pace.)
 */
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { posthog } from '../../middleware/posthog'
import { startReceiver, type Receiver } from '../../src/testing/receiver'

let client: Client | undefined
let receiver: Receiver | undefined
afterEach(async () => {
  await client?.close()
  await receiver?.close()
  client = undefined
  receiver = undefined
})

/** PostHog's batch events received so far. */
const eventsReceived = (from: Receiver) => from.requests.reduce((sum, request) => sum + (request.json as { batch: unknown[] }).batch.length, 0)

describe('a loop of calls that never waits on the network', () => {
  it('delivers every event, during the loop, with a queue far smaller than the loop', async () => {
    receiver = await startReceiver()
    // Room for 400 events: a loop of 3,000 calls that gave the queue no turn would lose 2,600.
    client = createClient({ queue: { maxSize: 400 }, onHookError: () => {} })
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
    expect(client.services.queue.stats()).toMatchObject({ delivered: calls + 1, dropped: {} })
    expect(eventsReceived(receiver)).toBe(calls + 1)
    expect(duringTheLoop).toBeGreaterThan(calls - 400)
  })

  it('does not wait for a sink that does not drain: the loop ends, and what the queue could not hold is counted', async () => {
    // A service that takes connections and never answers.
    const connections: Socket[] = []
    const silent = createServer((connection) => connections.push(connection))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    try {
      client = createClient({ queue: { maxSize: 400 }, onHookError: () => {} })
      client.use(posthog({ apiKey: 'phc_test', baseUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}` }))
      for (let index = 0; index < 3_000; index++) {
        await client.chat({ model: 'mock/echo', messages: [{ role: 'user', content: `question ${index}` }], mock_response: 'an answer' })
      }
      // The 400 held wait for answers that never come; the rest could not be held.
      expect(client.services.queue.stats()).toMatchObject({ enqueued: 3_000, delivered: 0, pending: 400, dropped: { queue_full: 2_600 } })
      await client.close({ timeoutMs: 50 })
    } finally {
      for (const connection of connections) connection.destroy()
      await new Promise((resolve) => silent.close(resolve))
    }
  })
})
