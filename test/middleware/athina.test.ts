import { describe, expect, it } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { athina, type AthinaInference } from 'llm-onion/middleware/athina'
import { exporterContract, prompt, receiverPerTest, runCalls as runSharedCalls } from './exporter-contract'

/** The shared calls, with Athina's metadata fields and a 400 failure. */
const runCalls = (client: Client) => runSharedCalls(client, { metadata: { environment: 'staging', prompt_slug: 'capitals' }, failure: { status: 400, message: 'Bad request' } })

describe('athina()', () => {
  let client: Client
  const receiver = receiverPerTest({ client: () => client })

  it('posts one inference per call to /api/v2/log/inference with the athina-api-key header', async () => {
    client = createClient().use(athina({ apiKey: 'athina-key', baseUrl: receiver.url }))
    await runCalls(client)

    expect(receiver.requests).toHaveLength(3)
    for (const request of receiver.requests) {
      expect(request.path).toBe('/api/v2/log/inference')
      expect(request.headers['athina-api-key']).toBe('athina-key')
      expect(request.headers['content-type']).toBe('application/json')
      expect(request.headers['content-encoding']).toBeUndefined()
    }
    const [success, streamed, failure] = receiver.requests.map((request) => request.json as AthinaInference)

    expect(success).toMatchObject({
      language_model_id: 'echo',
      prompt,
      response: { choices: [{ message: { content: 'Paris is the capital.' } }] },
      completion_tokens: 4,
      status_code: 200,
      customer_user_id: 'user-7',
      environment: 'staging',
      prompt_slug: 'capitals',
    })
    expect(success.total_tokens).toBe((success.prompt_tokens as number) + 4)
    expect(success.response_time).toEqual(expect.any(Number))
    expect(success.external_reference_id).toMatch(/^[0-9a-f-]{36}$/)

    expect(streamed.response).toMatchObject({ choices: [{ message: { content: 'Paris, streamed.' } }] })

    expect(failure).toMatchObject({ status_code: 400, error: 'BadRequestError: Bad request', response: null })
  })

  it('still delivers every inference when the receiver answers 500 once, then 200', async () => {
    receiver.answerWith(500)
    client = createClient().use(athina({ apiKey: 'athina-key', baseUrl: receiver.url }))
    await runCalls(client)

    const delivered = receiver.requests.slice(1).map((request) => (request.json as AthinaInference).status_code)
    expect(delivered.sort()).toEqual([200, 200, 400])
  })

  exporterContract({ name: 'athina', layer: (url, redact) => athina({ apiKey: 'athina-key', baseUrl: url, redact }), run: runCalls, requests: 3 })

  it('reads ATHINA_API_KEY and ATHINA_BASE_URL from the environment, and the environment option fills in', async () => {
    client = createClient().use(athina({ environment: 'production', env: { ATHINA_API_KEY: 'env-key', ATHINA_BASE_URL: receiver.url } }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()

    expect(receiver.requests[0]!.headers['athina-api-key']).toBe('env-key')
    expect((receiver.requests[0]!.json as AthinaInference).environment).toBe('production')
  })

  it('fails at construction naming ATHINA_API_KEY when no key is given', () => {
    expect(() => athina({ env: {} })).toThrow(/ATHINA_API_KEY/)
  })
})
