import { describe, expect, it } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { helicone, type HeliconeLog } from 'llm-onion/middleware/helicone'
import { exporterContract, prompt, receiverPerTest, runCalls } from './exporter-contract'

describe('helicone()', () => {
  let client: Client
  const receiver = receiverPerTest({ client: () => client })

  it('posts a success, a streamed success and a failure to /custom/v1/log with the bearer key', async () => {
    client = createClient().use(helicone({ apiKey: 'hc-key', baseUrl: receiver.url }))
    await runCalls(client)

    expect(receiver.requests).toHaveLength(3)
    for (const request of receiver.requests) {
      expect(request.method).toBe('POST')
      expect(request.path).toBe('/custom/v1/log')
      expect(request.headers.authorization).toBe('Bearer hc-key')
      expect(request.headers['content-type']).toBe('application/json')
      expect(request.headers['content-encoding']).toBeUndefined()
    }
    const [success, streamed, failure] = receiver.requests.map((request) => request.json as HeliconeLog)

    expect(success.providerRequest.url).toBe('mock://local/chat/completions')
    expect(success.providerRequest.json).toMatchObject({ model: 'echo', messages: prompt, user: 'user-7' })
    expect(success.providerRequest.meta).toMatchObject({ 'Helicone-User-Id': 'user-7', 'Helicone-Property-team': 'search' })
    expect(success.providerResponse.status).toBe(200)
    expect(success.providerResponse.json).toMatchObject({ object: 'chat.completion', choices: [{ message: { content: 'Paris is the capital.' } }] })
    expect(success.timing.startTime.seconds).toBeGreaterThan(1_600_000_000)
    expect(success.timing.startTime.milliseconds).toBeLessThan(1000)
    const start = success.timing.startTime.seconds * 1000 + success.timing.startTime.milliseconds
    const end = success.timing.endTime.seconds * 1000 + success.timing.endTime.milliseconds
    expect(end).toBeGreaterThanOrEqual(start)

    expect(streamed.providerRequest.json.stream).toBe(true)
    expect(streamed.providerResponse.json).toMatchObject({ choices: [{ message: { content: 'Paris, streamed.' } }] })
    expect(streamed.timing.timeToFirstToken).toBeGreaterThanOrEqual(0)

    expect(failure.providerResponse.status).toBe(429)
    expect(failure.providerResponse.json).toEqual({ error: { message: 'Slow down', type: 'RateLimitError' } })
  })

  it('still delivers every log when the receiver answers 500 once, then 200', async () => {
    receiver.answerWith(500)
    client = createClient().use(helicone({ apiKey: 'hc-key', baseUrl: receiver.url }))
    await runCalls(client)

    const delivered = receiver.requests.filter((_, index) => index > 0).map((request) => request.json as HeliconeLog)
    expect(delivered.map((log) => log.providerResponse.status).sort()).toEqual([200, 200, 429])
  })

  exporterContract({ name: 'helicone', layer: (url, redact) => helicone({ apiKey: 'hc-key', baseUrl: url, redact }), requests: 3 })

  it('reads HELICONE_API_KEY and HELICONE_API_BASE from the environment', async () => {
    client = createClient().use(helicone({ env: { HELICONE_API_KEY: 'env-key', HELICONE_API_BASE: `${receiver.url}/` } }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()

    expect(receiver.requests[0]!.path).toBe('/custom/v1/log')
    expect(receiver.requests[0]!.headers.authorization).toBe('Bearer env-key')
  })

  it('fails at construction naming HELICONE_API_KEY when no key is given', () => {
    expect(() => helicone({ env: {} })).toThrow(/HELICONE_API_KEY/)
  })

  it('rejects an unknown option naming it', () => {
    expect(() => helicone({ apiKey: 'k', apikey: 'x' } as never)).toThrow(/helicone\(\) options/)
  })
})
