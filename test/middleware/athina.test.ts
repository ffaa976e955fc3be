import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { athina, type AthinaInference } from 'llm-onion/middleware/athina'
import { startReceiver, type Receiver } from '../../src/testing/receiver'

const http = { method: 'POST', url: '/v1/chat/completions', headers: { authorization: 'Bearer sk-secret' } }
const metadata = { api_key: 'sk-secret', authorization: 'Bearer sk-secret', environment: 'staging', prompt_slug: 'capitals' }
const prompt = [{ role: 'user' as const, content: 'What is the capital of France?' }]

/** A success, a streamed success and a failure, then a flush. */
async function runCalls(client: Client): Promise<void> {
  await client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'Paris is the capital.', user: 'user-7', metadata, api_key: 'sk-provider-secret' }, { http })
  for await (const _chunk of client.stream({ model: 'mock/echo', messages: prompt, mock_response: 'Paris, streamed.', metadata })) void _chunk
  await expect(client.chat({ model: 'mock/echo', messages: prompt, mock_error: { status: 400, message: 'Bad request' }, metadata }, { http })).rejects.toThrow('Bad request')
  await client.flush()
}

describe('athina()', () => {
  let receiver: Receiver
  let client: Client
  beforeEach(async () => {
    receiver = await startReceiver()
  })
  afterEach(async () => {
    await client?.close()
    await receiver.close()
  })

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

  it('never sends the provider API key or an authorization header in a payload', async () => {
    client = createClient().use(athina({ apiKey: 'athina-key', baseUrl: receiver.url }))
    await runCalls(client)

    for (const request of receiver.requests) {
      expect(request.text).not.toContain('sk-secret')
      expect(request.text).not.toContain('sk-provider-secret')
      expect(request.text.toLowerCase()).not.toContain('authorization')
    }
  })

  it.each([
    ['on the client', { client: { messages: true }, layer: undefined }],
    ['on the layer', { client: undefined, layer: { messages: true } }],
  ])('redact: { messages: true } %s removes prompt and completion content', async (_where, redact) => {
    client = createClient({ redact: redact.client }).use(athina({ apiKey: 'athina-key', baseUrl: receiver.url, redact: redact.layer }))
    await runCalls(client)

    expect(receiver.requests).toHaveLength(3)
    for (const request of receiver.requests) {
      expect(request.text).not.toContain('capital of France')
      expect(request.text).not.toContain('Paris')
      expect(request.text).toContain('[redacted]')
    }
  })

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
