import { describe, expect, it } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { humanloop, type HumanloopLog } from 'llm-onion/middleware/humanloop'
import type { Receiver } from '../../src/testing/receiver'
import { exporterContract, prompt, receiverPerTest, runCalls } from './exporter-contract'

function logsOf(receiver: Receiver): HumanloopLog[] {
  return receiver.requests.map((request) => request.json as HumanloopLog)
}

const fastRetries = { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 5, onDrop: () => undefined }
const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

describe('humanloop()', () => {
  let client: Client
  // Humanloop answers a log with its ids.
  const receiver = receiverPerTest({ responseBody: '{"id":"data_1","prompt_id":"pr_1","version_id":"prv_1"}', client: () => client })

  it('logs each chat call to /prompts/log with X-API-KEY: the prompt kernel, messages, output, tokens and timing, and a failure with its error', async () => {
    client = createClient().use(humanloop({ apiKey: 'hl_sk_test_1234', baseUrl: `${receiver.url}/v5`, path: 'support/answer' }))
    const tools = [{ type: 'function' as const, function: { name: 'lookup', description: 'Look a city up', parameters: { type: 'object', properties: {} } } }]
    await runCalls(client, { success: { temperature: 0.2, max_tokens: 50, tools } })

    expect(receiver.requests).toHaveLength(3)
    for (const request of receiver.requests) {
      expect(request.method).toBe('POST')
      expect(request.path).toBe('/v5/prompts/log')
      expect(request.headers['x-api-key']).toBe('hl_sk_test_1234')
      expect(request.headers.authorization).toBeUndefined()
      expect(request.headers['content-type']).toBe('application/json')
    }
    const [success, streamed, failure] = logsOf(receiver) as [HumanloopLog, HumanloopLog, HumanloopLog]
    expect(success).toMatchObject({
      path: 'support/answer',
      prompt: { model: 'echo', endpoint: 'chat', temperature: 0.2, max_tokens: 50, tools: [tools[0]!.function] },
      messages: prompt,
      output_message: { role: 'assistant', content: 'Paris is the capital.' },
      output: 'Paris is the capital.',
      finish_reason: 'stop',
      output_tokens: 4,
      user: 'user-7',
      source: 'llm-onion',
      metadata: { team: 'search', provider: 'mock', streaming: false },
    })
    expect(success.prompt_tokens).toBeGreaterThan(0)
    expect(success.start_time).toMatch(iso)
    expect(Date.parse(success.end_time)).toBeGreaterThanOrEqual(Date.parse(success.start_time))
    expect(success.provider_latency).toBeCloseTo((Date.parse(success.end_time) - Date.parse(success.start_time)) / 1000, 1)
    expect(success.metadata.call_id).toMatch(/^[0-9a-f-]{36}$/)
    expect(success.error).toBeUndefined()
    expect(streamed).toMatchObject({ output: 'Paris, streamed.', metadata: { streaming: true } })
    expect(failure.error).toBe('RateLimitError (429): Slow down')
    expect(failure.output).toBeUndefined()
  })

  it('logs to the Prompt a call names: metadata.prompt_id by id, metadata.humanloop_prompt_path by path; embeddings are not logged', async () => {
    client = createClient().use(humanloop({ apiKey: 'hl_sk_test_1234', baseUrl: receiver.url }))
    await client.chat({ model: 'mock/echo', messages: prompt, metadata: { prompt_id: 'pr_30gco7dx6JDq4200GVOHa' } })
    await client.chat({ model: 'mock/echo', messages: prompt, metadata: { humanloop_prompt_path: 'faq/capitals' } })
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.embed({ model: 'mock/embed', input: ['a'] })
    await client.flush()

    const logs = logsOf(receiver)
    expect(logs.map((log) => [log.id, log.path])).toEqual([
      ['pr_30gco7dx6JDq4200GVOHa', undefined],
      [undefined, 'faq/capitals'],
      [undefined, 'llm-onion'],
    ])
    expect(logs[0]!.metadata.prompt_id).toBeUndefined()
  })

  it('reads HUMANLOOP_API_KEY and HUMANLOOP_BASE_URL, and fails naming the key when missing', async () => {
    expect(() => humanloop({ env: {} })).toThrow(/HUMANLOOP_API_KEY/)
    client = createClient().use(humanloop({ env: { HUMANLOOP_API_KEY: 'hl_sk_env_5678', HUMANLOOP_BASE_URL: `${receiver.url}/v5/` } }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()

    expect(receiver.requests[0]!.path).toBe('/v5/prompts/log')
    expect(receiver.requests[0]!.headers['x-api-key']).toBe('hl_sk_env_5678')
  })

  it('retries a dead Humanloop, delivers when it comes back, and counts the log dropped when it never does', async () => {
    receiver.answerWith(500)
    client = createClient({ queue: fastRetries }).use(humanloop({ apiKey: 'hl_sk_test_1234', baseUrl: receiver.url }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    expect(receiver.requests).toHaveLength(2)
    expect(client.services.queue.stats().sinks.humanloop).toMatchObject({ delivered: 1, retries: 1 })

    receiver.answerWith(500, 500, 500)
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    expect(receiver.requests).toHaveLength(5)
    expect(client.services.queue.stats().sinks.humanloop!.dropped.retries_exhausted).toBe(1)
  })

  exporterContract({ name: 'humanloop', layer: (url, redact) => humanloop({ apiKey: 'hl_sk_contract_key', baseUrl: url, redact }), secrets: ['hl_sk_contract_key'] })
})
