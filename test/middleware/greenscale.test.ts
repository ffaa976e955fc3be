import { describe, expect, it } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { greenscale, type GreenscaleRecord } from 'llm-onion/middleware/greenscale'
import { exporterContract, prompt, receiverPerTest, runCalls } from './exporter-contract'

const fastRetries = { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 5, onDrop: () => undefined }

describe('greenscale()', () => {
  let client: Client
  const receiver = receiverPerTest({ client: () => client })

  it('posts one record per successful call to GREENSCALE_ENDPOINT with the api-key header, greenscale_* metadata as project, application and tags', async () => {
    client = createClient().use(greenscale({ env: { GREENSCALE_API_KEY: 'gs-test-key-1234', GREENSCALE_ENDPOINT: `${receiver.url}/ingest/litellm` } }))
    await runCalls(client, { metadata: { greenscale_project: 'checkout', greenscale_application: 'assistant', greenscale_team: 'search', greenscale_tier: 2 } })

    // The success and the streamed success; the failure is not sent (LiteLLM logs successes).
    expect(receiver.requests).toHaveLength(2)
    for (const request of receiver.requests) {
      expect(request.method).toBe('POST')
      expect(request.path).toBe('/ingest/litellm')
      expect(request.headers['api-key']).toBe('gs-test-key-1234')
      expect(request.headers.authorization).toBeUndefined()
      expect(request.headers['content-type']).toBe('application/json')
      // Greenscale takes metadata only: no prompt or reply.
      expect(request.text).not.toContain('capital')
      expect(request.text).not.toContain('Paris')
    }
    const [success, streamed] = receiver.requests.map((request) => request.json as GreenscaleRecord) as [GreenscaleRecord, GreenscaleRecord]
    expect(success).toEqual({
      modelId: 'echo',
      inputTokenCount: expect.any(Number),
      outputTokenCount: 4,
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      invocationLatency: expect.any(Number),
      project: 'checkout',
      application: 'assistant',
      tags: [
        { key: 'team', value: 'search' },
        { key: 'tier', value: '2' },
      ],
    })
    expect(Number.isInteger(success.invocationLatency)).toBe(true)
    expect(Math.abs(Date.parse(success.timestamp) - Date.now())).toBeLessThan(60_000)
    expect(streamed.outputTokenCount).toBeGreaterThan(0)
  })

  it('retries a dead endpoint, delivers when it comes back, and counts the record dropped when it never does', async () => {
    receiver.answerWith(500)
    client = createClient({ queue: fastRetries }).use(greenscale({ apiKey: 'gs-test-key-1234', endpoint: receiver.url }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    expect(receiver.requests).toHaveLength(2)
    expect(client.services.queue.stats().sinks.greenscale).toMatchObject({ delivered: 1, retries: 1 })

    receiver.answerWith(502, 502, 502)
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    expect(receiver.requests).toHaveLength(5)
    expect(client.services.queue.stats().sinks.greenscale!.dropped.retries_exhausted).toBe(1)
  })

  exporterContract({ name: 'greenscale', layer: (url) => greenscale({ apiKey: 'gs-contract-key-5678', endpoint: url }), secrets: ['gs-contract-key-5678'], redactOn: [] })

  it('fails at construction naming GREENSCALE_API_KEY or GREENSCALE_ENDPOINT when missing or not a URL', () => {
    expect(() => greenscale({ env: { GREENSCALE_ENDPOINT: 'https://greenscale.example/log' } })).toThrow(/GREENSCALE_API_KEY/)
    expect(() => greenscale({ env: { GREENSCALE_API_KEY: 'gs-key-1234' } })).toThrow(/GREENSCALE_ENDPOINT/)
    expect(() => greenscale({ env: { GREENSCALE_API_KEY: 'gs-key-1234', GREENSCALE_ENDPOINT: 'greenscale-endpoint' } })).toThrow(/GREENSCALE_ENDPOINT is not a URL/)
  })
})
