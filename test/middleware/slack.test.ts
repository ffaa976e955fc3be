import type { KnownBlock } from '@slack/types'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createClient, mock, type Client } from 'llm-onion'
import { slack, type SlackMessage } from 'llm-onion/middleware/slack'
import type { Receiver } from '../../src/testing/receiver'
import { http, metadata, prompt, receiverPerTest } from './exporter-contract'

function fail(client: Client, options: { model?: string; status?: number } = {}) {
  return expect(
    client.chat({ model: options.model ?? 'mock/echo', messages: prompt, user: 'user-7', metadata, api_key: 'sk-provider-secret', mock_error: { status: options.status ?? 429, message: 'Slow down' } }, { http }),
  ).rejects.toThrow()
}

function messagesOf(receiver: Receiver): SlackMessage[] {
  return receiver.requests.map((request) => request.json as SlackMessage)
}

/** All mrkdwn and plain text of a message's blocks, joined. */
function blockText(message: SlackMessage): string {
  return JSON.stringify(message.blocks)
}

describe('slack()', () => {
  let client: Client
  const receiver = receiverPerTest({ responseBody: 'ok', contentType: 'text/plain', client: () => client })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('posts a Block Kit alert for a failure with model, provider, error, call id and user', async () => {
    client = createClient().use(slack({ webhookUrl: `${receiver.url}/services/T0/B0/x` }))
    await fail(client)
    await client.flush()

    expect(receiver.requests).toHaveLength(1)
    const request = receiver.requests[0]!
    expect(request.path).toBe('/services/T0/B0/x')
    expect(request.headers['content-type']).toBe('application/json')
    expect(request.headers['content-encoding']).toBeUndefined()
    const message = request.json as SlackMessage
    expect(message.text).toMatch(/^LLM call failed: RateLimitError on mock\/echo \(mock\), call [0-9a-f-]{36}, user user-7$/)
    const blocks = message.blocks as unknown as KnownBlock[]
    expect(blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'LLM call failed: RateLimitError' } })
    const text = blockText(message)
    for (const expected of ['*Model*\\nmock/echo', '*Provider*\\nmock', '*Error*\\nRateLimitError', '*User*\\nuser-7', '(429): Slow down']) {
      expect(text).toContain(expected)
    }
    const callId = /call ([0-9a-f-]{36})/.exec(message.text)![1]!
    expect(text).toContain(`*Call id*\\n\`${callId}\``)
    for (const block of blocks) {
      if (block.type === 'section' && block.fields) expect(block.fields.length).toBeLessThanOrEqual(10)
    }
  })

  it('sends nothing for successes and for streams the caller stopped reading', async () => {
    client = createClient().use(slack({ webhookUrl: receiver.url }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    for await (const _chunk of client.stream({ model: 'mock/echo', messages: prompt, mock_response: 'one two three' })) break
    await client.flush()

    expect(receiver.requests).toHaveLength(0)
  })

  it('alerts a call slower than thresholdMs, with its latency', async () => {
    client = createClient({ providers: { mock: mock({ latencyMs: 30 }) } }).use(slack({ webhookUrl: receiver.url, thresholdMs: 10 }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    for await (const _chunk of client.stream({ model: 'mock/other', messages: prompt })) void _chunk
    await client.flush()

    const messages = messagesOf(receiver)
    expect(messages.map((message) => message.blocks[0])).toEqual([
      { type: 'header', text: { type: 'plain_text', text: 'Slow LLM call: mock/echo' } },
      { type: 'header', text: { type: 'plain_text', text: 'Slow LLM call: mock/other' } },
    ])
    expect(blockText(messages[0]!)).toMatch(/Took \*\d+\.\d s\*, over the 0\.0 s threshold/)
    expect(blockText(messages[0]!)).toContain('*Latency*')
  })

  it('merges identical failures within windowMs: the first goes out at once, one [N alerts] message follows at the end of the window', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    client = createClient().use(slack({ webhookUrl: receiver.url, windowMs: 60_000 }))
    await fail(client)
    await fail(client)
    await fail(client)
    await client.flush()
    expect(messagesOf(receiver).map((message) => message.text)).toEqual([expect.stringMatching(/^LLM call failed: RateLimitError on/)])

    vi.advanceTimersByTime(60_000)
    await client.flush()
    const merged = messagesOf(receiver)[1]!
    expect(merged.text).toMatch(/^\[2 alerts\] LLM call failed: RateLimitError on mock\/echo/)
    expect(merged.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: '[2 alerts] LLM call failed: RateLimitError' } })
    expect(blockText(merged)).toContain('2 identical alerts in the last 60 s were merged into this one')

    // A quiet window ends without a message.
    vi.advanceTimersByTime(60_000)
    await client.flush()
    expect(receiver.requests).toHaveLength(2)
  })

  it('keeps different models and different error types apart', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    client = createClient().use(slack({ webhookUrl: receiver.url }))
    await fail(client, { model: 'mock/a', status: 429 })
    await fail(client, { model: 'mock/a', status: 500 })
    await fail(client, { model: 'mock/b', status: 429 })
    await client.flush()

    expect(messagesOf(receiver).map((message) => message.blocks[0])).toHaveLength(3)
  })

  it('client.close() sends the merged count still waiting, and nothing comes after it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    client = createClient().use(slack({ webhookUrl: receiver.url, windowMs: 60_000 }))
    await fail(client)
    await fail(client)
    await fail(client)
    await client.close()

    expect(messagesOf(receiver).map((message) => message.text.slice(0, 10))).toEqual(['LLM call f', '[2 alerts]'])
    vi.advanceTimersByTime(120_000)
    await new Promise((resolve) => setImmediate(resolve))
    expect(receiver.requests).toHaveLength(2)
  })

  it('still delivers the alert when the webhook answers 500 once, then 200', async () => {
    receiver.answerWith(500)
    client = createClient().use(slack({ webhookUrl: receiver.url }))
    await fail(client)
    await client.flush()

    expect(receiver.requests).toHaveLength(2)
    expect(receiver.requests[1]!.json).toMatchObject({ text: expect.stringMatching(/^LLM call failed/) })
  })

  it('never sends a secret or prompt content, redacted or not', async () => {
    client = createClient().use(slack({ webhookUrl: receiver.url, thresholdMs: false, redact: { messages: true } }))
    await fail(client)
    await client.flush()

    const text = receiver.requests[0]!.text
    expect(text).not.toContain('sk-secret')
    expect(text).not.toContain('sk-provider-secret')
    expect(text.toLowerCase()).not.toContain('authorization')
    expect(text).not.toContain('capital of France')
  })

  it('reads SLACK_WEBHOOK_URL from the environment and fails naming it when missing', async () => {
    expect(() => slack({ env: {} })).toThrow(/SLACK_WEBHOOK_URL/)
    client = createClient().use(slack({ env: { SLACK_WEBHOOK_URL: `${receiver.url}/hook` } }))
    await fail(client)
    await client.flush()
    expect(receiver.requests[0]!.path).toBe('/hook')
  })
})
