import { afterEach, describe, expect, it, vi } from 'vitest'
import { createClient, mock, type Client } from 'llm-onion'
import { discord, type DiscordMessage } from 'llm-onion/middleware/discord'
import type { Receiver } from '../../src/testing/receiver'
import { http, metadata, prompt, receiverPerTest } from './exporter-contract'

function fail(client: Client, options: { message?: string; status?: number } = {}) {
  return expect(
    client.chat(
      { model: 'mock/echo', messages: prompt, user: 'user-7', metadata, api_key: 'sk-provider-secret', mock_error: { status: options.status ?? 429, message: options.message ?? 'Slow down' } },
      { http },
    ),
  ).rejects.toThrow()
}

function messagesOf(receiver: Receiver): DiscordMessage[] {
  return receiver.requests.map((request) => request.json as DiscordMessage)
}

describe('discord()', () => {
  let client: Client
  // Discord answers 204 No Content; the receiver's 200 stands for it.
  const receiver = receiverPerTest({ client: () => client })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('posts a failure to the webhook as content plus one embed with the facts as fields, mentions off', async () => {
    client = createClient().use(discord({ webhookUrl: `${receiver.url}/api/webhooks/123/tok` }))
    await fail(client)
    await client.flush()

    expect(receiver.requests).toHaveLength(1)
    const request = receiver.requests[0]!
    expect(request.method).toBe('POST')
    expect(request.path).toBe('/api/webhooks/123/tok')
    expect(request.headers['content-type']).toBe('application/json')
    expect(request.headers.authorization).toBeUndefined()
    const message = request.json as DiscordMessage
    expect(message.content).toMatch(/^LLM call failed: RateLimitError on mock\/echo \(mock\), call [0-9a-f-]{36}, user user-7$/)
    expect(message.allowed_mentions).toEqual({ parse: [] })
    expect(message.embeds).toHaveLength(1)
    const [embed] = message.embeds
    expect(embed).toMatchObject({ title: 'LLM call failed: RateLimitError', description: '**RateLimitError** (429): Slow down', color: 0xe01e5a, footer: { text: 'llm-onion' } })
    expect(new Date(embed!.timestamp).toISOString()).toBe(embed!.timestamp)
    expect(embed!.fields.slice(0, 4)).toEqual([
      { name: 'Model', value: 'mock/echo', inline: true },
      { name: 'Provider', value: 'mock', inline: true },
      { name: 'Error', value: 'RateLimitError', inline: true },
      { name: 'User', value: 'user-7', inline: true },
    ])
    expect(embed!.fields[4]).toEqual({ name: 'Call id', value: expect.stringMatching(/^`[0-9a-f-]{36}`$/), inline: true })
  })

  it('shows markdown from an error message as text and keeps the description within 4096 characters', async () => {
    client = createClient().use(discord({ webhookUrl: receiver.url }))
    await fail(client, { message: `**bold** _it_ @everyone ${'x'.repeat(5000)}` })
    await client.flush()

    const [embed] = messagesOf(receiver)[0]!.embeds
    expect(embed!.description.startsWith('**RateLimitError** (429): \\*\\*bold\\*\\* \\_it\\_ @everyone')).toBe(true)
    expect(embed!.description.length).toBeLessThanOrEqual(4096)
  })

  it('alerts slow calls in amber, and merges identical failures into one [N alerts] message', async () => {
    client = createClient({ providers: { mock: mock({ latencyMs: 30 }) } }).use(discord({ webhookUrl: receiver.url, thresholdMs: 10 }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    expect(messagesOf(receiver)[0]!.embeds[0]).toMatchObject({ title: 'Slow LLM call: mock/echo', color: 0xecb22e })
    await client.close()

    receiver.requests.length = 0
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    client = createClient().use(discord({ webhookUrl: receiver.url, windowMs: 60_000 }))
    await fail(client)
    await fail(client)
    await fail(client)
    await client.flush()
    vi.advanceTimersByTime(60_000)
    await client.flush()
    const merged = messagesOf(receiver)[1]!
    expect(messagesOf(receiver)).toHaveLength(2)
    expect(merged.embeds[0]!.title).toBe('[2 alerts] LLM call failed: RateLimitError')
    expect(merged.embeds[0]!.description).toMatch(/^2 identical alerts in the last 60 s were merged into this one\. The latest:\n/)
  })

  it('never sends the provider key, an authorization header or prompt content', async () => {
    client = createClient().use(discord({ webhookUrl: receiver.url }))
    await fail(client)
    await client.flush()

    const text = receiver.requests[0]!.text
    for (const secret of ['sk-secret', 'sk-provider-secret', 'capital of France']) expect(text).not.toContain(secret)
    expect(text.toLowerCase()).not.toContain('authorization')
  })

  it('reads DISCORD_WEBHOOK_URL and fails naming it when missing', async () => {
    expect(() => discord({ env: {} })).toThrow(/DISCORD_WEBHOOK_URL/)
    client = createClient().use(discord({ env: { DISCORD_WEBHOOK_URL: `${receiver.url}/api/webhooks/1/env` } }))
    await fail(client)
    await client.flush()
    expect(receiver.requests[0]!.path).toBe('/api/webhooks/1/env')
  })
})
