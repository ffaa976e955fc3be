/**
 * Anthropic's error family, as the real `@anthropic-ai/sdk` reports it from a local fake of the
 * Messages API, mapped onto llm-onion's: class, status, retryability, Anthropic's error type as
 * `code`, the wait of a 429, errors inside a stream, cut streams, timeouts, and no key in any message.
 */
import { APIError } from '@anthropic-ai/sdk'
import { describe, expect, it } from 'vitest'
import {
  anthropic,
  APIConnectionError,
  BadRequestError,
  ContentPolicyViolationError,
  ContextWindowExceededError,
  createClient,
  InternalServerError,
  isAbortError,
  isTimeoutError,
  RateLimitError,
  ServiceUnavailableError,
} from '../../src/index'
import { startAnthropicFake } from '../../src/testing/anthropic-server'
import { collect, expectCutStreamToFail, failureOf, fakePerTest, statusErrors } from './provider-test-kit'

const request = { model: 'anthropic/claude-sonnet-4-5', messages: [{ role: 'user' as const, content: 'Say hello' }] }
const { fake, client } = fakePerTest(startAnthropicFake, (started) => createClient({ providers: { anthropic: anthropic({ apiKey: 'sk-ant-secret-key', apiBase: started.url }, {}) } }))

/** Anthropic's own statuses besides the ones every provider shares: 413 request_too_large and 529 overloaded_error. */
const anthropicStatuses: Array<[status: number, errorClass: new (...args: never[]) => Error, retryable: boolean, type: string]> = [
  [413, BadRequestError, false, 'request_too_large'],
  [529, InternalServerError, true, 'overloaded_error'],
]

describe('anthropic provider: errors', () => {
  it.each(statusErrors)('maps a %i answer to %o with status, provider, model, retryable and the SDK error as cause, without retrying', async (status, errorClass, retryable) => {
    fake.enqueue({ kind: 'error', status, message: `Anthropic said ${status}` })
    const error = await failureOf(client.chat(request))
    expect(error).toBeInstanceOf(errorClass)
    expect(error).toMatchObject({ status, provider: 'anthropic', model: 'claude-sonnet-4-5', retryable })
    expect(error.message).toContain(`Anthropic said ${status}`)
    expect(error.cause).toBeInstanceOf(APIError)
    expect(fake.requests).toHaveLength(1)
  })

  it.each(anthropicStatuses)('maps a %i answer to %o, keeping the status, retryable %s, with the error type %s as code', async (status, errorClass, retryable, type) => {
    fake.enqueue({ kind: 'error', status, message: status === 529 ? 'Overloaded' : 'Request exceeds the maximum allowed number of bytes.' })
    const error = await failureOf(client.chat(request))
    expect(error).toBeInstanceOf(errorClass)
    expect(error).toMatchObject({ status, retryable, code: type, provider: 'anthropic' })
    expect(fake.requests).toHaveLength(1)
  })

  it('tells how to fix a rejected key, and never shows the key, even when the body echoes it', async () => {
    fake.enqueue({ kind: 'error', status: 401, type: 'authentication_error', message: 'invalid x-api-key: sk-ant-secret-key' })
    const error = await failureOf(client.chat(request))
    expect(error.message).toMatch(/ANTHROPIC_API_KEY/)
    expect(error.message).not.toContain('sk-ant-secret-key')
    expect(String((error.cause as Error).message)).not.toContain('sk-ant-secret-key')
    expect(JSON.stringify(error)).not.toContain('sk-ant-secret-key')
  })

  it('reads the wait of a 429 from retry-after', async () => {
    fake.enqueue({ kind: 'error', status: 429, message: 'Number of request tokens has exceeded your per-minute rate limit', headers: { 'retry-after': '7' } })
    const error = (await failureOf(client.chat(request))) as RateLimitError
    expect(error).toBeInstanceOf(RateLimitError)
    expect(error.retryAfterMs).toBe(7000)
    expect(error.code).toBe('rate_limit_error')
  })

  it('maps "prompt is too long" to ContextWindowExceededError, and a content-filter refusal to ContentPolicyViolationError', async () => {
    fake.enqueue(
      { kind: 'error', status: 400, message: 'prompt is too long: 210000 tokens > 200000 maximum' },
      { kind: 'error', status: 400, message: 'Output blocked by content filtering policy' },
    )
    expect(await failureOf(client.chat(request))).toBeInstanceOf(ContextWindowExceededError)
    expect(await failureOf(client.chat(request))).toBeInstanceOf(ContentPolicyViolationError)
  })

  it('maps a dropped connection to APIConnectionError, retryable', async () => {
    fake.enqueue({ kind: 'drop' })
    const error = await failureOf(client.chat(request))
    expect(error).toBeInstanceOf(APIConnectionError)
    expect(error).toMatchObject({ provider: 'anthropic', retryable: true })
  })

  it('maps the timeout option to TimeoutError when no answer comes', async () => {
    const impatient = createClient({ providers: { anthropic: anthropic({ apiKey: 'k', apiBase: fake.url, timeout: 200 }, {}) } })
    fake.enqueue({ kind: 'hang' })
    const error = await failureOf(impatient.chat(request))
    await impatient.close()
    expect(isTimeoutError(error)).toBe(true)
    expect(error.message).toMatch(/anthropic\(\{ timeout \}\)/)
  })

  it('maps the caller’s abort to AbortError', async () => {
    fake.enqueue({ kind: 'hang' })
    const controller = new AbortController()
    const call = client.chat(request, { signal: controller.signal })
    await fake.waitForRequests(1)
    controller.abort()
    expect(isAbortError(await failureOf(call))).toBe(true)
  })

  it('maps a refused stream the same way', async () => {
    fake.enqueue({ kind: 'error', status: 503, message: 'Service unavailable' })
    expect(await failureOf(collect(client.stream(request)))).toBeInstanceOf(ServiceUnavailableError)
  })
})

describe('anthropic provider: a stream that fails half-way is a failure, never a success', () => {
  it('raises an error event inside the stream as the error of its type, after the chunks that came before it', async () => {
    fake.enqueue({ kind: 'stream-error', text: 'partial answer here', afterEvents: 5, type: 'overloaded_error', message: 'Overloaded' })
    const chunks: Awaited<ReturnType<typeof collect>> = []
    const error = await failureOf(collect(client.stream(request), chunks))
    expect(error).toBeInstanceOf(InternalServerError)
    expect(error).toMatchObject({ status: 529, retryable: true, code: 'overloaded_error' })
    expect(error.message).toContain('Overloaded')
    expect(chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('')).toBe('partial answer')
  })

  it.each([
    ['the connection closes mid-body', 'destroy' as const],
    ['the body ends before message_delta with the stop reason', 'end' as const],
  ])('when %s, the caller’s loop throws APIConnectionError and await next() rejects in a layer', async (_name, how) => {
    // message_start, ping, content_block_start, "this", " reply": then the cut.
    fake.enqueue({ kind: 'cut', text: 'this reply will never finish properly', afterEvents: 5, how })
    await expectCutStreamToFail(client, request)
  })
})
