import { describe, expect, it } from 'vitest'
import { APIError } from 'openai'
import {
  APIConnectionError,
  ContentPolicyViolationError,
  ContextWindowExceededError,
  createClient,
  InternalServerError,
  isAPIConnectionError,
  isRateLimitError,
  isTimeoutError,
  openai,
  RateLimitError,
} from '../../src/index'
import { startOpenAIFake } from '../../src/testing/openai-server'
import { collect, expectCutStreamToFail, failureOf, fakePerTest, layerOutcome, statusErrors, transports } from './provider-test-kit'

const messages = [{ role: 'user' as const, content: 'Say hello' }]
const request = { model: 'openai/gpt-4o-mini', messages }

// Every failure maps the same on both transports: the official SDK (the default) and undici ('http').
describe.each(transports)('openai provider over the %s transport', (transport) => {
  const { fake, client } = fakePerTest(startOpenAIFake, (started) => createClient({ providers: { openai: openai({ apiKey: 'sk-test', baseURL: started.url, transport }) } }))

  describe('errors', () => {
    it.each(statusErrors)('maps a %i answer to %o with status, provider, model, retryable and the SDK’s error as cause, without retrying', async (status, errorClass, retryable) => {
      fake.enqueue({ kind: 'error', status, message: `upstream said ${status}` })
      const error = await failureOf(client.chat(request))
      expect(error).toBeInstanceOf(errorClass)
      expect(error).toMatchObject({ status, provider: 'openai', model: 'gpt-4o-mini', retryable })
      expect(error.message).toContain(`upstream said ${status}`)
      expect(error.cause).toBeInstanceOf(APIError)
      expect(fake.requests).toHaveLength(1)
    })

    it('tells how to fix a rejected key', async () => {
      fake.enqueue({ kind: 'error', status: 401, message: 'Incorrect API key provided.' })
      const error = await failureOf(client.chat(request))
      expect(error.message).toMatch(/OPENAI_API_KEY/)
      expect(error.message).not.toContain('sk-test')
    })

    it.each([
      [{ 'retry-after': '2' }, 2000],
      [{ 'retry-after-ms': '1500', 'retry-after': '2' }, 1500],
    ])('reads the wait of a 429 from %o', async (headers, expected) => {
      fake.enqueue({ kind: 'error', status: 429, headers })
      const error = await failureOf(client.chat(request))
      expect(isRateLimitError(error)).toBe(true)
      expect((error as RateLimitError).retryAfterMs).toBe(expected)
    })

    it('reads a retry-after given as an HTTP date', async () => {
      fake.enqueue({ kind: 'error', status: 429, headers: { 'retry-after': new Date(Date.now() + 60_000).toUTCString() } })
      const error = (await failureOf(client.chat(request))) as RateLimitError
      expect(error.retryAfterMs).toBeGreaterThan(50_000)
      expect(error.retryAfterMs).toBeLessThanOrEqual(60_000)
    })

    it('maps context_length_exceeded to ContextWindowExceededError', async () => {
      fake.enqueue({ kind: 'error', status: 400, code: 'context_length_exceeded', param: 'messages', message: "This model's maximum context length is 128000 tokens." })
      const error = await failureOf(client.chat(request))
      expect(error).toBeInstanceOf(ContextWindowExceededError)
      expect(error).toMatchObject({ status: 400, code: 'context_length_exceeded', param: 'messages', retryable: false })
    })

    it('maps content_policy_violation to ContentPolicyViolationError', async () => {
      fake.enqueue({ kind: 'error', status: 400, code: 'content_policy_violation', message: 'Your request was rejected as a result of our safety system.' })
      const error = await failureOf(client.chat(request))
      expect(error).toBeInstanceOf(ContentPolicyViolationError)
    })

    it('maps a dropped connection to APIConnectionError, retryable', async () => {
      fake.enqueue({ kind: 'drop' })
      const error = await failureOf(client.chat(request))
      expect(error).toBeInstanceOf(APIConnectionError)
      expect(error).toMatchObject({ provider: 'openai', retryable: true })
      expect(fake.requests).toHaveLength(1)
    })

    it('maps a refused connection to APIConnectionError naming the base URL', async () => {
      const closed = await startOpenAIFake()
      await closed.close()
      const offline = createClient({ providers: { openai: openai({ apiKey: 'sk-test', baseURL: closed.url, transport }) } })
      const error = await failureOf(offline.chat(request))
      await offline.close()
      expect(isAPIConnectionError(error)).toBe(true)
      expect(error.message).toContain(closed.url)
    })

    it('maps the timeout option to TimeoutError when no answer comes', async () => {
      fake.enqueue({ kind: 'hang' })
      const impatient = createClient({ providers: { openai: openai({ apiKey: 'sk-test', baseURL: fake.url, timeout: 50, transport }) } })
      const error = await failureOf(impatient.chat(request))
      await impatient.close()
      expect(isTimeoutError(error)).toBe(true)
    })

    it('raises the typed error from the caller’s loop when a stream is refused', async () => {
      fake.enqueue({ kind: 'error', status: 429, headers: { 'retry-after': '1' } })
      const error = await failureOf(collect(client.stream(request)))
      expect(error).toBeInstanceOf(RateLimitError)
      expect((error as RateLimitError).retryAfterMs).toBe(1000)
    })
  })

  describe('a stream that dies half-way is a failure, never a success', () => {
    it.each([
      ['the connection closes mid-body', 'destroy' as const],
      ['the body ends without [DONE] or a finish reason', 'end' as const],
    ])('when %s, the caller’s loop throws APIConnectionError and await next() rejects in a layer', async (_name, how) => {
      fake.enqueue({ kind: 'cut', content: 'this reply will never finish properly', afterChunks: 3, how })
      await expectCutStreamToFail(client, request)
    })

    it('an error event inside the stream surfaces as the provider error', async () => {
      fake.enqueue({ kind: 'stream-error', afterChunks: 2, message: 'The server had an error while processing your request.' })
      const layer = layerOutcome(client)
      const error = await failureOf(collect(client.stream(request)))
      expect(error).toBeInstanceOf(InternalServerError)
      expect(error.message).toContain('The server had an error')
      expect(layer.outcome).toBe(error)
    })
  })
})
