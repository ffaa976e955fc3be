import { afterEach, describe, expect, it, vi } from 'vitest'
import { createClient, mock, type Client } from 'llm-onion'
import { teams, type TeamsMessage } from 'llm-onion/middleware/teams'
import type { Receiver } from '../../src/testing/receiver'
import { http, metadata, prompt, receiverPerTest } from './exporter-contract'

function fail(client: Client, options: { model?: string; status?: number } = {}) {
  return expect(
    client.chat({ model: options.model ?? 'mock/echo', messages: prompt, user: 'user-7', metadata, api_key: 'sk-provider-secret', mock_error: { status: options.status ?? 429, message: 'Slow down' } }, { http }),
  ).rejects.toThrow()
}

/** The Adaptive Card of every message the webhook got. */
function cardsOf(receiver: Receiver) {
  return receiver.requests.map((request) => (request.json as TeamsMessage).attachments[0]!.content)
}

describe('teams()', () => {
  let client: Client
  const receiver = receiverPerTest({ responseBody: '1', contentType: 'text/plain', client: () => client })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('posts a failure as a message with one Adaptive Card: title, detail and the facts', async () => {
    client = createClient().use(teams({ webhookUrl: `${receiver.url}/webhookb2/abc/IncomingWebhook/def` }))
    await fail(client)
    await client.flush()

    expect(receiver.requests).toHaveLength(1)
    const request = receiver.requests[0]!
    expect(request.method).toBe('POST')
    expect(request.path).toBe('/webhookb2/abc/IncomingWebhook/def')
    expect(request.headers['content-type']).toBe('application/json')
    expect(request.headers.authorization).toBeUndefined()
    const message = request.json as TeamsMessage
    expect(message.type).toBe('message')
    expect(message.attachments).toHaveLength(1)
    expect(message.attachments[0]).toMatchObject({ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null })
    const card = message.attachments[0]!.content
    expect(card).toMatchObject({ $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', type: 'AdaptiveCard', version: '1.4' })
    expect(card.body[0]).toEqual({ type: 'TextBlock', text: 'LLM call failed: RateLimitError', size: 'Large', weight: 'Bolder', color: 'Attention', wrap: true })
    expect(card.body[1]).toMatchObject({ type: 'TextBlock', text: '**RateLimitError** (429): Slow down' })
    const facts = (card.body[2] as { type: string; facts: Array<{ title: string; value: string }> })
    expect(facts.type).toBe('FactSet')
    expect(facts.facts.slice(0, 4)).toEqual([
      { title: 'Model', value: 'mock/echo' },
      { title: 'Provider', value: 'mock' },
      { title: 'Error', value: 'RateLimitError' },
      { title: 'User', value: 'user-7' },
    ])
    expect(facts.facts[4]).toEqual({ title: 'Call id', value: expect.stringMatching(/^[0-9a-f-]{36}$/) })
  })

  it('alerts slow calls in the warning colour and sends nothing for a quick success', async () => {
    client = createClient({ providers: { mock: mock({ latencyMs: 30 }) } }).use(teams({ webhookUrl: receiver.url, thresholdMs: 10 }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    expect(cardsOf(receiver).map((card) => card.body[0])).toEqual([expect.objectContaining({ text: 'Slow LLM call: mock/echo', color: 'Warning' })])
    await client.close()

    receiver.requests.length = 0
    client = createClient().use(teams({ webhookUrl: receiver.url }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    expect(receiver.requests).toHaveLength(0)
  })

  it('merges identical failures like slack(): one [N alerts] card at the end of the window, sent by close()', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    client = createClient().use(teams({ webhookUrl: receiver.url, windowMs: 60_000 }))
    await fail(client)
    await fail(client)
    await fail(client)
    await client.close()

    const cards = cardsOf(receiver)
    expect(cards).toHaveLength(2)
    expect(cards[1]!.body[0]).toMatchObject({ text: '[2 alerts] LLM call failed: RateLimitError' })
    expect(cards[1]!.body[1]).toMatchObject({ text: '2 identical alerts in the last 60 s were merged into this one. The latest:' })
  })

  it('never sends the provider key, an authorization header or prompt content', async () => {
    client = createClient().use(teams({ webhookUrl: receiver.url }))
    await fail(client)
    await client.flush()

    const text = receiver.requests[0]!.text
    for (const secret of ['sk-secret', 'sk-provider-secret', 'capital of France']) expect(text).not.toContain(secret)
    expect(text.toLowerCase()).not.toContain('authorization')
  })

  it('reads MICROSOFT_TEAMS_WEBHOOK_URL and fails naming it when missing', async () => {
    expect(() => teams({ env: {} })).toThrow(/MICROSOFT_TEAMS_WEBHOOK_URL/)
    client = createClient().use(teams({ env: { MICROSOFT_TEAMS_WEBHOOK_URL: `${receiver.url}/workflows/hook` } }))
    await fail(client)
    await client.flush()
    expect(receiver.requests[0]!.path).toBe('/workflows/hook')
  })
})
