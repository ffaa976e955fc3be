/**
 * The window alerts of the alerting layers, in code without the proxy: the guide's "alert if the
 * average response time for gpt-4 exceeds 5 seconds" as `slack({ latency: { window, average } })`,
 * with the mock provider's latency; two clients sharing one Redis store (two processes' worth) send
 * one alert, not two; the same option on Discord and PagerDuty; outage and hanging options; a secret
 * planted in the call is in no alert.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { createClient, memoryStore, mock, redisStore, type Client } from 'llm-onion'
import { discord } from 'llm-onion/middleware/discord'
import { pagerduty } from 'llm-onion/middleware/pagerduty'
import { slack, type SlackMessage } from 'llm-onion/middleware/slack'
import { startReceiver, type Receiver } from '../../src/testing/receiver'
import { inspector, machineRedisUrl, removePrefix, uniquePrefix } from '../fakes/redis-server'

const prefix = uniquePrefix('alert-windows')
const opened: Array<{ close(): Promise<void> }> = []
let receivers: Receiver[] = []
const clients: Client[] = []

async function receiver(): Promise<Receiver> {
  const started = await startReceiver({ responseBody: 'ok', contentType: 'text/plain' })
  receivers.push(started)
  return started
}
function client(latencyMs: number, store = memoryStore()): Client {
  const made = createClient({ providers: { mock: mock({ latencyMs }) }, store })
  clients.push(made)
  return made
}
const texts = (hook: Receiver) => hook.requests.map((request) => (request.json as SlackMessage).text)
const prompt = [{ role: 'user' as const, content: 'hello' }]

afterEach(async () => {
  await Promise.all(clients.splice(0).map((made) => made.close()))
  await Promise.all(receivers.map((hook) => hook.close()))
  receivers = []
})
afterAll(async () => {
  await Promise.all(opened.map((store) => store.close()))
  const redis = inspector()
  await removePrefix(redis, prefix)
  redis.disconnect()
})

describe('latency windows on an alerting layer', () => {
  it("the guide's example: alerts once when gpt-4's average over the window exceeds the threshold", async () => {
    const hook = await receiver()
    // The threshold is scaled down from the guide's 5 s: the mock answers after 60 ms, over a 40 ms average.
    const fast = client(0)
    const layer = slack({ webhookUrl: hook.url, latency: { window: '5m', average: 40, models: ['mock/gpt-4'] } })
    const slow = client(60, memoryStore())
    fast.use(layer)
    await fast.chat({ model: 'mock/gpt-4', messages: prompt })
    await fast.flush()
    expect(texts(hook)).toEqual([])
    // The same layer on a client whose calls take 60 ms: its own store, its own window.
    slow.use(slack({ webhookUrl: hook.url, latency: { window: '5m', average: 40, models: ['mock/gpt-4'], minCalls: 2 } }))
    await slow.chat({ model: 'mock/gpt-4', messages: prompt })
    await slow.flush()
    expect(texts(hook)).toEqual([])
    for (let index = 0; index < 3; index++) await slow.chat({ model: 'mock/gpt-4', messages: prompt })
    await slow.chat({ model: 'mock/other', messages: prompt })
    await slow.flush()
    expect(texts(hook)).toHaveLength(1)
    expect(texts(hook)[0]).toMatch(/^Average latency of mock\/gpt-4 is \d+ ms over the last 5 min \(threshold 40 ms, 2 calls\)$/)
  })

  it('sends one alert from two clients sharing one Redis store, and p95 as its own alert', async () => {
    const hook = await receiver()
    const stores = [redisStore({ url: machineRedisUrl, prefix: `${prefix}shared:` }), redisStore({ url: machineRedisUrl, prefix: `${prefix}shared:` })]
    opened.push(...stores)
    const pair = stores.map((store) => client(30, store).use(slack({ webhookUrl: hook.url, latency: { window: 60_000, average: 10, p95: 10 } })))
    await Promise.all(Array.from({ length: 8 }, (_, index) => pair[index % 2]!.chat({ model: 'mock/gpt-4', messages: prompt })))
    await Promise.all(pair.map((made) => made.flush()))
    expect(texts(hook).filter((text) => text.startsWith('Average latency of mock/gpt-4'))).toHaveLength(1)
    expect(texts(hook).filter((text) => text.startsWith('p95 latency of mock/gpt-4'))).toHaveLength(1)
  })

  it('is the same option on Discord and PagerDuty, each destination alerted once', async () => {
    const [discordHook, pagerdutyApi] = [await receiver(), await receiver()]
    const made = client(30)
      .use(discord({ webhookUrl: `${discordHook.url}/api/webhooks/1/x`, latency: { window: '1m', average: 10 } }))
      .use(pagerduty({ routingKey: 'routing-key-0123456789abcdef', baseUrl: pagerdutyApi.url, latency: { window: '1m', average: 10 } }))
    for (let index = 0; index < 3; index++) await made.chat({ model: 'mock/gpt-4', messages: prompt })
    await made.flush()
    expect(discordHook.requests).toHaveLength(1)
    expect((discordHook.requests[0]!.json as { embeds: Array<{ title: string }> }).embeds[0]!.title).toMatch(/^Average latency of mock\/gpt-4/)
    expect(pagerdutyApi.requests).toHaveLength(1)
    expect(pagerdutyApi.requests[0]!.json).toMatchObject({ event_action: 'trigger', payload: { severity: 'warning', class: 'latency', component: 'mock/gpt-4' } })
  })

  it('alerts an outage once per level, and a call hanging past afterMs, without the planted secret', async () => {
    const hook = await receiver()
    const secret = 'sk-planted-alert-secret-31337'
    const made = client(80).use(slack({ webhookUrl: hook.url, moments: [], outage: { window: '1m', errors: [2, 4] }, hanging: { afterMs: 20 } }))
    for (let index = 0; index < 4; index++) {
      await expect(made.chat({ model: 'mock/flaky', messages: [{ role: 'user', content: secret }], api_key: secret, user: 'user-9', mock_error: { status: 503, message: `down ${secret}` } })).rejects.toThrow()
    }
    await made.flush()
    const sent = texts(hook)
    expect(sent.filter((text) => text.startsWith('Minor outage: mock/flaky @ local failed 2 of 2 calls'))).toHaveLength(1)
    expect(sent.filter((text) => text.startsWith('Major outage: mock/flaky @ local failed 4 of 4 calls'))).toHaveLength(1)
    expect(sent.filter((text) => /^A call to mock\/flaky \(call [0-9a-f-]{36}\) has been running for/.test(text))).toHaveLength(1)
    for (const request of hook.requests) expect(request.text).not.toContain(secret)
  })

  it('refuses a latency option without a threshold, or with a window it cannot read, naming the field', () => {
    expect(() => slack({ webhookUrl: 'https://hooks.slack.com/services/T/B/x', latency: { window: '5m' } })).toThrow(/latency.*average or p95/)
    expect(() => slack({ webhookUrl: 'https://hooks.slack.com/services/T/B/x', latency: { window: '5 minutes', average: 5000 } })).toThrow(/latency\.window/)
  })
})
