import { describe, expect, it } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { lago, type LagoEvent } from 'llm-onion/middleware/lago'
import type { Receiver } from '../../src/testing/receiver'
import { exporterContract, prompt, receiverPerTest, runCalls } from './exporter-contract'

function eventsOf(receiver: Receiver): LagoEvent[] {
  return receiver.requests.flatMap((request) => (request.json as { events: LagoEvent[] }).events)
}

const fastRetries = { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 5, onDrop: () => undefined }

describe('lago()', () => {
  let client: Client
  const receiver = receiverPerTest({ client: () => client })

  it("batches one usage event per successful call to /api/v1/events/batch with a Bearer key, billed to the call's user", async () => {
    const hookErrors: string[] = []
    client = createClient({ onHookError: (error) => void hookErrors.push((error as Error).message) }).use(lago({ apiKey: 'lago-test-key', eventCode: 'llm_tokens', baseUrl: receiver.url }))
    const before = Math.floor(Date.now() / 1000)
    await runCalls(client)

    for (const request of receiver.requests) {
      expect(request.method).toBe('POST')
      expect(request.path).toBe('/api/v1/events/batch')
      expect(request.headers.authorization).toBe('Bearer lago-test-key')
      expect(request.headers['content-type']).toBe('application/json')
      expect(Object.keys(request.json as object)).toEqual(['events'])
    }
    // The success is billed; the failure is not (LiteLLM bills successes); the streamed call has no user.
    const events = eventsOf(receiver)
    expect(events).toHaveLength(1)
    const [event] = events as [LagoEvent]
    expect(event).toMatchObject({ external_subscription_id: 'user-7', code: 'llm_tokens', properties: { model: 'echo', completion_tokens: 4 } })
    expect(event.transaction_id).toMatch(/^[0-9a-f-]{36}$/)
    expect(Number.isInteger(event.timestamp)).toBe(true)
    expect(event.timestamp).toBeGreaterThanOrEqual(before)
    expect(event.properties.total_tokens).toBe(event.properties.prompt_tokens + event.properties.completion_tokens)
    // No price is known for mock/echo: no cost rather than a false 0.
    expect(event.properties.response_cost).toBeUndefined()
    // The call without a customer is reported, naming the setting to change.
    expect(hookErrors).toEqual([expect.stringMatching(/^lago: call [0-9a-f-]{36} has no user .* set LAGO_API_CHARGE_BY .*; the call was not billed$/)])
  })

  it('sends the calls of one flush as one batch, and splits by maxBatchSize', async () => {
    client = createClient().use(lago({ apiKey: 'lago-test-key', eventCode: 'llm_tokens', baseUrl: receiver.url, maxBatchSize: 2 }))
    for (let index = 0; index < 5; index++) await client.chat({ model: 'mock/echo', messages: prompt, user: `customer-${index}` })
    await client.flush()

    expect(receiver.requests.map((request) => (request.json as { events: LagoEvent[] }).events.length)).toEqual([2, 2, 1])
    expect(eventsOf(receiver).map((event) => event.external_subscription_id)).toEqual(['customer-0', 'customer-1', 'customer-2', 'customer-3', 'customer-4'])
  })

  it('bills the team or the key owner when LAGO_API_CHARGE_BY says so, as LiteLLM does', async () => {
    const metadata = { user_api_key_team_id: 'team-search', user_api_key_user_id: 'owner-1' }
    client = createClient().use(lago({ env: { LAGO_API_KEY: 'lago-env-key', LAGO_API_EVENT_CODE: 'tokens', LAGO_API_BASE: `${receiver.url}/`, LAGO_API_CHARGE_BY: 'team_id' } }))
    await client.chat({ model: 'mock/echo', messages: prompt, user: 'end-user', metadata })
    await client.close()
    client = createClient().use(lago({ apiKey: 'lago-env-key', eventCode: 'tokens', baseUrl: receiver.url, chargeBy: 'user_id' }))
    await client.chat({ model: 'mock/echo', messages: prompt, user: 'end-user', metadata })
    await client.flush()

    expect(receiver.requests[0]!.path).toBe('/api/v1/events/batch')
    expect(receiver.requests[0]!.headers.authorization).toBe('Bearer lago-env-key')
    expect(eventsOf(receiver).map((event) => [event.code, event.external_subscription_id])).toEqual([
      ['tokens', 'team-search'],
      ['tokens', 'owner-1'],
    ])
  })

  it('retries a dead Lago, delivers when it comes back, and counts the batch dropped when it never does', async () => {
    receiver.answerWith(503)
    client = createClient({ queue: fastRetries }).use(lago({ apiKey: 'lago-test-key', eventCode: 'llm_tokens', baseUrl: receiver.url }))
    await client.chat({ model: 'mock/echo', messages: prompt, user: 'user-7' })
    await client.flush()
    expect(receiver.requests).toHaveLength(2)
    expect(client.services.queue.stats().sinks.lago).toMatchObject({ delivered: 1, retries: 1 })

    receiver.answerWith(503, 503, 503)
    const reply = await client.chat({ model: 'mock/echo', messages: prompt, user: 'user-7', mock_response: 'fine' })
    await client.flush()
    expect(reply.choices[0]!.message.content).toBe('fine')
    expect(receiver.requests).toHaveLength(5)
    expect(client.services.queue.stats().sinks.lago!.dropped.retries_exhausted).toBe(1)
  })

  // chargeBy user_id: every call of the contract has a key owner, so none is reported.
  exporterContract({
    name: 'lago',
    layer: (url) => lago({ apiKey: 'lago-contract-key', eventCode: 'llm_tokens', baseUrl: url, chargeBy: 'user_id' }),
    run: (client) => runCalls(client, { metadata: { user_api_key_user_id: 'owner-1' } }),
    secrets: ['lago-contract-key'],
    redactOn: [],
  })

  it('fails at construction naming LAGO_API_KEY, LAGO_API_EVENT_CODE or a wrong LAGO_API_CHARGE_BY', () => {
    expect(() => lago({ env: { LAGO_API_EVENT_CODE: 'tokens' } })).toThrow(/LAGO_API_KEY/)
    expect(() => lago({ env: { LAGO_API_KEY: 'lago-key' } })).toThrow(/LAGO_API_EVENT_CODE/)
    expect(() => lago({ env: { LAGO_API_KEY: 'lago-key', LAGO_API_EVENT_CODE: 'tokens', LAGO_API_CHARGE_BY: 'org_id' } })).toThrow(
      /LAGO_API_CHARGE_BY is "org_id"; set it to one of end_user_id, user_id, team_id/,
    )
  })
})
