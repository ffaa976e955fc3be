import { describe, expect, it } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { promptlayer, type PromptlayerRequest } from 'llm-onion/middleware/promptlayer'
import { exporterContract, prompt, receiverPerTest, runCalls } from './exporter-contract'

type Tracked = PromptlayerRequest & { api_key: string }

const fastRetries = { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 5, onDrop: () => undefined }

describe('promptlayer()', () => {
  let client: Client
  // PromptLayer answers track-request with its request id.
  const receiver = receiverPerTest({ responseBody: '{"success":true,"request_id":123}', client: () => client })

  it('tracks each successful chat call at /rest/track-request with the OpenAI kwargs, the reply, the times, tags and metadata', async () => {
    client = createClient().use(promptlayer({ apiKey: 'pl_test_key_1234', baseUrl: receiver.url, tags: ['checkout'] }))
    const before = Date.now() / 1000
    const reply = await runCalls(client, { metadata: { pl_tags: ['beta'], run: 7 }, success: { temperature: 0 } })
    const after = Date.now() / 1000

    // The success and the streamed success; the failure is not tracked (LiteLLM logs successes).
    expect(receiver.requests).toHaveLength(2)
    for (const request of receiver.requests) {
      expect(request.method).toBe('POST')
      expect(request.path).toBe('/rest/track-request')
      expect(request.headers['content-type']).toBe('application/json')
      expect(request.headers['x-api-key']).toBe('pl_test_key_1234')
      // Track-request authenticates by the body's api_key, as LiteLLM and PromptLayer's SDKs send it.
      expect((request.json as Tracked).api_key).toBe('pl_test_key_1234')
    }
    const [success, streamed] = receiver.requests.map((request) => request.json as Tracked) as [Tracked, Tracked]
    expect(success).toMatchObject({
      function_name: 'openai.ChatCompletion.create',
      provider_type: 'openai',
      args: [],
      kwargs: { model: 'mock/echo', messages: prompt, temperature: 0 },
      tags: ['checkout', 'beta'],
      request_response: { id: reply.id, choices: [{ message: { role: 'assistant', content: 'Paris is the capital.' } }] },
      metadata: { team: 'search', run: '7', user: 'user-7' },
    })
    expect(success.metadata.pl_tags).toBeUndefined()
    expect(success.request_start_time).toBeGreaterThanOrEqual(Math.floor(before))
    expect(success.request_end_time).toBeGreaterThanOrEqual(success.request_start_time)
    expect(success.request_end_time).toBeLessThanOrEqual(after)
    expect(streamed.kwargs.stream).toBe(true)
    expect(streamed.request_response).toMatchObject({ choices: [{ message: { content: 'Paris, streamed.' } }] })
  })

  it('does not track embedding calls, and reads URL_API_PROMPTLAYER and PROMPTLAYER_API_KEY', async () => {
    client = createClient().use(promptlayer({ env: { PROMPTLAYER_API_KEY: 'pl_env_key_5678', URL_API_PROMPTLAYER: `${receiver.url}/` } }))
    await client.embed({ model: 'mock/embed', input: ['a b c'] })
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()

    expect(receiver.requests).toHaveLength(1)
    expect(receiver.requests[0]!.path).toBe('/rest/track-request')
    expect((receiver.requests[0]!.json as Tracked).api_key).toBe('pl_env_key_5678')
  })

  it('retries a dead PromptLayer, delivers when it comes back, and counts the request dropped when it never does', async () => {
    receiver.answerWith(503)
    client = createClient({ queue: fastRetries }).use(promptlayer({ apiKey: 'pl_test_key_1234', baseUrl: receiver.url }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    expect(receiver.requests).toHaveLength(2)
    expect(client.services.queue.stats().sinks.promptlayer).toMatchObject({ delivered: 1, retries: 1 })

    receiver.answerWith(503, 503, 503)
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    expect(receiver.requests).toHaveLength(5)
    expect(client.services.queue.stats().sinks.promptlayer!.dropped.retries_exhausted).toBe(1)
  })

  exporterContract({ name: 'promptlayer', layer: (url, redact) => promptlayer({ apiKey: 'pl_contract_key', baseUrl: url, redact }), receiver: { responseBody: '{"success":true}' } })

  it('fails at construction naming PROMPTLAYER_API_KEY when no key is given', () => {
    expect(() => promptlayer({ env: {} })).toThrow(/PROMPTLAYER_API_KEY/)
  })
})
