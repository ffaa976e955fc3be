import { afterEach, describe, expect, it, vi } from 'vitest'
import { createClient, mock, type Client } from 'llm-onion'
import { pagerduty, type PagerdutyEvent } from 'llm-onion/middleware/pagerduty'
import type { Receiver } from '../../src/testing/receiver'
import { http, metadata, prompt, receiverPerTest } from './exporter-contract'

function fail(client: Client, options: { model?: string; status?: number } = {}) {
  return expect(
    client.chat({ model: options.model ?? 'mock/echo', messages: prompt, user: 'user-7', metadata, api_key: 'sk-provider-secret', mock_error: { status: options.status ?? 429, message: 'Slow down' } }, { http }),
  ).rejects.toThrow()
}

function eventsOf(receiver: Receiver): PagerdutyEvent[] {
  return receiver.requests.map((request) => request.json as PagerdutyEvent)
}

describe('pagerduty()', () => {
  let client: Client
  // PagerDuty answers 202 with a JSON status.
  const receiver = receiverPerTest({ responseBody: '{"status":"success","message":"Event processed"}', client: () => client })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('triggers an Events API v2 alert for a failure, with the routing key in the body and no auth header', async () => {
    client = createClient().use(pagerduty({ routingKey: 'R0UT1NGKEY', baseUrl: receiver.url }))
    await fail(client)
    await client.flush()

    expect(receiver.requests).toHaveLength(1)
    const request = receiver.requests[0]!
    expect(request.method).toBe('POST')
    expect(request.path).toBe('/v2/enqueue')
    expect(request.headers['content-type']).toBe('application/json')
    expect(request.headers.authorization).toBeUndefined()
    const event = request.json as PagerdutyEvent
    expect(event).toMatchObject({
      routing_key: 'R0UT1NGKEY',
      event_action: 'trigger',
      dedup_key: 'llm-onion:["failure","mock/echo","mock","RateLimitError"]',
      client: 'llm-onion',
      payload: {
        severity: 'critical',
        source: 'local',
        component: 'mock/echo',
        group: 'mock',
        class: 'RateLimitError',
        custom_details: { detail: 'RateLimitError (429): Slow down', model: 'mock/echo', provider: 'mock', error: 'RateLimitError', user: 'user-7', alerts: 1, status: 429 },
      },
    })
    // The fields PagerDuty requires in a trigger's payload, within its limits.
    expect(event.payload.summary).toMatch(/^LLM call failed: RateLimitError on mock\/echo \(mock\), call [0-9a-f-]{36}, user user-7$/)
    expect(event.payload.summary.length).toBeLessThanOrEqual(1024)
    expect(event.dedup_key.length).toBeLessThanOrEqual(255)
    expect(new Date(event.payload.timestamp).toISOString()).toBe(event.payload.timestamp)
    expect(event.payload.custom_details.call_id).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('sends nothing for successes, and alerts slow calls with the warning severity', async () => {
    client = createClient({ providers: { mock: mock({ latencyMs: 30 }) } }).use(pagerduty({ routingKey: 'R0UT1NGKEY', baseUrl: receiver.url, thresholdMs: 10 }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()

    const [slow] = eventsOf(receiver)
    expect(eventsOf(receiver)).toHaveLength(1)
    expect(slow).toMatchObject({ dedup_key: 'llm-onion:["slow","mock/echo"]', payload: { severity: 'warning', class: 'SlowCall', summary: expect.stringMatching(/^Slow LLM call: mock\/echo/) } })

    await client.close()
    receiver.requests.length = 0
    client = createClient().use(pagerduty({ routingKey: 'R0UT1NGKEY', baseUrl: receiver.url }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    expect(receiver.requests).toHaveLength(0)
  })

  it('merges identical failures within windowMs into one [N alerts] event that has the same dedup_key', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    client = createClient().use(pagerduty({ routingKey: 'R0UT1NGKEY', baseUrl: receiver.url, windowMs: 60_000 }))
    await fail(client)
    await fail(client)
    await fail(client)
    await client.flush()
    expect(receiver.requests).toHaveLength(1)

    vi.advanceTimersByTime(60_000)
    await client.flush()
    const [first, merged] = eventsOf(receiver) as [PagerdutyEvent, PagerdutyEvent]
    expect(merged.payload.summary).toMatch(/^\[2 alerts\] LLM call failed: RateLimitError/)
    expect(merged.payload.custom_details.alerts).toBe(2)
    expect(merged.dedup_key).toBe(first.dedup_key)
  })

  it('gives different models and error types different dedup keys', async () => {
    client = createClient().use(pagerduty({ routingKey: 'R0UT1NGKEY', baseUrl: receiver.url }))
    await fail(client, { model: 'mock/a', status: 429 })
    await fail(client, { model: 'mock/a', status: 500 })
    await fail(client, { model: 'mock/b', status: 429 })
    await client.flush()

    expect(new Set(eventsOf(receiver).map((event) => event.dedup_key)).size).toBe(3)
  })

  it('still delivers the alert when PagerDuty answers 429 once, then accepts it', async () => {
    receiver.answerWith(429)
    client = createClient().use(pagerduty({ routingKey: 'R0UT1NGKEY', baseUrl: receiver.url }))
    await fail(client)
    await client.flush()

    expect(receiver.requests).toHaveLength(2)
    expect(eventsOf(receiver)[1]!.event_action).toBe('trigger')
  })

  it('never sends the provider key, an authorization header or prompt content', async () => {
    client = createClient().use(pagerduty({ routingKey: 'R0UT1NGKEY', baseUrl: receiver.url }))
    await fail(client)
    await client.flush()

    const text = receiver.requests[0]!.text
    expect(text).not.toContain('sk-secret')
    expect(text).not.toContain('sk-provider-secret')
    expect(text.toLowerCase()).not.toContain('authorization')
    expect(text).not.toContain('capital of France')
  })

  it('reads PAGERDUTY_API_KEY (LiteLLM\'s name for the routing key) and fails naming it when missing', async () => {
    expect(() => pagerduty({ env: {} })).toThrow(/PAGERDUTY_API_KEY/)
    client = createClient().use(pagerduty({ env: { PAGERDUTY_API_KEY: 'ENVROUTINGKEY', PAGERDUTY_API_BASE: receiver.url } }))
    await fail(client)
    await client.flush()
    expect(eventsOf(receiver)[0]!.routing_key).toBe('ENVROUTINGKEY')
  })
})
