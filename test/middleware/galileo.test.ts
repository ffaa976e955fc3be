import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { galileo } from 'llm-onion/middleware/galileo'
import { startGalileoFake, type GalileoFake, type GalileoFakeOptions } from '../fakes/galileo'
import { exporterContract, prompt, runCalls } from './exporter-contract'

const galileoAccount = {
  projectId: '7d9b0c3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e',
  username: 'observer@example.com',
  password: 'plant-galileo-password-3c4d',
  apiKey: 'plant-galileo-api-key-5e6f',
} satisfies GalileoFakeOptions

/** The login flow's settings, pointed at the fake. */
function loginOptions(url: string) {
  return { baseUrl: url, projectId: galileoAccount.projectId, username: galileoAccount.username, password: galileoAccount.password }
}

const fastRetries = { queue: { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 5, onDrop: () => undefined } }

describe('galileo()', () => {
  let client: Client | undefined
  let fake: GalileoFake
  beforeEach(async () => {
    fake = await startGalileoFake(galileoAccount)
  })
  afterEach(async () => {
    await client?.close()
    client = undefined
    await fake.close()
  })

  it('logs in with the username and password, then ingests each successful call as an Observe record with the bearer token', async () => {
    client = createClient().use(galileo(loginOptions(fake.url)))
    const started = Date.now()
    await runCalls(client)

    expect(fake.refused).toEqual([])
    // One login, as a form, before the first batch; its token on every batch.
    const logins = fake.requests.filter((request) => request.path === '/login')
    expect(logins).toHaveLength(1)
    expect(logins[0]!.headers['content-type']).toBe('application/x-www-form-urlencoded')
    expect(Object.fromEntries(new URLSearchParams(logins[0]!.text))).toEqual({ username: galileoAccount.username, password: galileoAccount.password })
    const ingests = fake.requests.filter((request) => request.path !== '/login')
    expect(ingests.length).toBeGreaterThanOrEqual(1)
    for (const request of ingests) {
      expect(request.path).toBe(`/projects/${galileoAccount.projectId}/observe/ingest`)
      expect(request.headers.authorization).toBe(`Bearer ${fake.tokens[0]}`)
      expect(request.headers['content-type']).toBe('application/json')
      expect(request.headers.accept).toBe('application/json')
    }
    // The failure is not logged (LiteLLM logs successes only): the plain call and the streamed one.
    expect(fake.records).toHaveLength(2)
    const [plain, streamed] = fake.records
    expect(plain).toEqual({
      latency_ms: expect.any(Number),
      status_code: 200,
      input_text: 'What is the capital of France?',
      output_text: 'Paris is the capital.',
      node_type: 'acompletion',
      model: 'mock/echo',
      num_input_tokens: expect.any(Number),
      num_output_tokens: expect.any(Number),
      output_logprobs: null,
      created_at: expect.any(String),
      tags: null,
      user_metadata: null,
      messages: prompt,
    })
    expect(plain!.num_input_tokens).toBeGreaterThan(0)
    expect(plain!.num_output_tokens).toBeGreaterThan(0)
    // The start of the call, in UTC, to the second.
    const createdAt = Date.parse(`${plain!.created_at as string}Z`)
    expect(createdAt).toBeGreaterThanOrEqual(Math.floor(started / 1000) * 1000)
    expect(createdAt).toBeLessThanOrEqual(Date.now())
    expect(streamed).toMatchObject({ output_text: 'Paris, streamed.', status_code: 200, input_text: 'What is the capital of France?' })
  })

  it('reuses the token while it is valid and logs in again once it is about to expire', async () => {
    client = createClient().use(galileo(loginOptions(fake.url)))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    expect(fake.tokens).toHaveLength(1)
    await client.close()

    await fake.close()
    // Within the minute before expiry from the start: every batch needs a fresh token.
    fake = await startGalileoFake({ ...galileoAccount, expiresIn: 60 })
    client = createClient().use(galileo(loginOptions(fake.url)))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    expect(fake.tokens).toHaveLength(2)
    const ingests = fake.requests.filter((request) => request.path !== '/login')
    expect(ingests.map((request) => request.headers.authorization)).toEqual(fake.tokens.map((token) => `Bearer ${token}`))
  })

  it("without expires_in, keeps a JWT token until a minute before its exp claim", async () => {
    for (const [jwtExpiresIn, logins] of [[30, 2], [3600, 1]] as const) {
      await fake.close()
      fake = await startGalileoFake({ ...galileoAccount, jwtExpiresIn })
      client = createClient().use(galileo(loginOptions(fake.url)))
      for (let call = 0; call < 2; call++) {
        await client.chat({ model: 'mock/echo', messages: prompt })
        await client.flush()
      }
      await client.close()
      expect({ jwtExpiresIn, logins: fake.tokens.length }).toEqual({ jwtExpiresIn, logins })
      expect(fake.records).toHaveLength(2)
    }
  })

  it('drops the batch when the login is refused, without failing the call or quoting the password', async () => {
    const drops: Error[] = []
    client = createClient({ queue: { ...fastRetries.queue, onDrop: (drop) => void drops.push(drop.error as Error) } }).use(
      galileo({ ...loginOptions(fake.url), password: 'plant-wrong-galileo-password-9a8b' }),
    )
    const reply = await client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'fine' })
    await client.flush()

    expect(reply.choices[0]!.message.content).toBe('fine')
    expect(fake.records).toEqual([])
    expect(fake.refused).toEqual([{ path: '/login', reason: 'wrong username or password' }])
    expect(client.services.queue.stats().sinks.galileo!.dropped.rejected).toBe(1)
    expect(drops[0]!.message).toMatch(/login answered 401; check GALILEO_USERNAME and GALILEO_PASSWORD/)
    expect(drops[0]!.message).not.toContain('plant-wrong-galileo-password-9a8b')
  })

  it('sends LLM spans to the v2 spans API with the Galileo-API-Key header when an API key is set, and no login', async () => {
    client = createClient().use(galileo({ baseUrl: fake.url, projectId: galileoAccount.projectId, apiKey: galileoAccount.apiKey, logStreamId: 'stream-42' }))
    await runCalls(client, { success: { tags: ['search', 'beta'] } })

    expect(fake.refused).toEqual([])
    expect(fake.tokens).toEqual([])
    for (const request of fake.requests) {
      expect(request.path).toBe(`/v2/projects/${galileoAccount.projectId}/spans`)
      expect(request.headers['galileo-api-key']).toBe(galileoAccount.apiKey)
      expect(request.headers.authorization).toBeUndefined()
    }
    for (const batch of fake.spanBatches) expect(batch).toMatchObject({ reliable: false, log_stream_id: 'stream-42' })
    expect(fake.spans).toHaveLength(2)
    const [plain, streamed] = fake.spans
    expect(plain).toEqual({
      type: 'llm',
      name: 'acompletion',
      created_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
      input: [{ role: 'user', content: 'What is the capital of France?' }],
      output: { role: 'assistant', content: 'Paris is the capital.' },
      status_code: 200,
      model: 'mock/echo',
      metrics: { duration_ns: expect.any(Number), num_input_tokens: expect.any(Number), num_output_tokens: expect.any(Number) },
      tags: ['search', 'beta'],
    })
    const metrics = plain!.metrics as { duration_ns: number; num_output_tokens: number }
    expect(metrics.duration_ns % 1_000_000).toBe(0)
    expect(metrics.num_output_tokens).toBeGreaterThan(0)
    expect(streamed).toMatchObject({ output: { role: 'assistant', content: 'Paris, streamed.' } })
    expect(streamed).not.toHaveProperty('tags')
  })

  it('keeps every role and the text parts of a multi-part message, and logs no embedding', async () => {
    client = createClient().use(galileo({ baseUrl: fake.url, projectId: galileoAccount.projectId, apiKey: galileoAccount.apiKey }))
    await client.chat({
      model: 'mock/echo',
      mock_response: 'A cat.',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'What is this? ' }, { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }, { type: 'text', text: 'One word.' }] },
      ],
    })
    await client.embed({ model: 'mock/embed', input: 'not logged' })
    await client.flush()

    expect(fake.refused).toEqual([])
    expect(fake.spans).toHaveLength(1)
    expect(fake.spans[0]!.input).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'What is this? One word.' },
    ])
  })

  it("reads LiteLLM's variables: GALILEO_API_KEY picks the spans API, else GALILEO_USERNAME and GALILEO_PASSWORD log in at GALILEO_BASE_URL", async () => {
    const loginEnv = { GALILEO_BASE_URL: `${fake.url}/`, GALILEO_PROJECT_ID: galileoAccount.projectId, GALILEO_USERNAME: galileoAccount.username, GALILEO_PASSWORD: galileoAccount.password }
    client = createClient().use(galileo({ env: loginEnv }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    expect(fake.records).toHaveLength(1)
    await client.close()

    client = createClient().use(galileo({ env: { ...loginEnv, GALILEO_API_KEY: galileoAccount.apiKey, GALILEO_LOG_STREAM_ID: 'env-stream' } }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    expect(fake.spans).toHaveLength(1)
    expect(fake.spanBatches[0]).toMatchObject({ reliable: false, log_stream_id: 'env-stream' })
    expect(fake.tokens).toHaveLength(1)
    expect(fake.refused).toEqual([])
  })

  it('fails at construction naming the variable that is missing', () => {
    expect(() => galileo({ env: { GALILEO_API_KEY: 'key-1234567890' } })).toThrow(/GALILEO_PROJECT_ID/)
    expect(() => galileo({ env: { GALILEO_PROJECT_ID: 'p' } })).toThrow(/GALILEO_BASE_URL/)
    expect(() => galileo({ env: { GALILEO_PROJECT_ID: 'p', GALILEO_BASE_URL: 'https://api.galileo.example.com' } })).toThrow(/GALILEO_API_KEY .*GALILEO_USERNAME is missing/)
    expect(() => galileo({ env: { GALILEO_PROJECT_ID: 'p', GALILEO_BASE_URL: 'https://api.galileo.example.com', GALILEO_USERNAME: 'me' } })).toThrow(/GALILEO_PASSWORD is missing/)
    expect(() => galileo({ env: { GALILEO_PROJECT_ID: 'p', GALILEO_API_KEY: 'key-1234567890', GALILEO_BASE_URL: 'not a url' } })).toThrow(/GALILEO_BASE_URL is not a URL/)
    expect(() => galileo({ projectId: 'p', apiKey: 'key-1234567890', maxBatchSize: 0 })).toThrow(/maxBatchSize/)
  })

  // The shared contract against the fake itself, in both flows: the password, the key and the token stay out of every payload.
  const contractFake = () => startGalileoFake(galileoAccount)
  exporterContract({
    name: 'galileo (login, observe/ingest)',
    layer: (url, redact) => galileo({ ...loginOptions(url), redact }),
    startReceiver: contractFake,
    isPayload: (request) => request.path !== '/login',
    secrets: [galileoAccount.password, 'galileo-token-'],
  })
  exporterContract({
    name: 'galileo (API key, v2 spans)',
    layer: (url, redact) => galileo({ baseUrl: url, projectId: galileoAccount.projectId, apiKey: galileoAccount.apiKey, redact }),
    startReceiver: contractFake,
    secrets: [galileoAccount.apiKey],
  })
})
