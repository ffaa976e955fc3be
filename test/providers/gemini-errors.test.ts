import { GoogleGenerativeAIFetchError } from '@google/generative-ai'
import { describe, expect, it } from 'vitest'
import {
  APIConnectionError,
  AuthenticationError,
  ContextWindowExceededError,
  createClient,
  gemini,
  NotFoundError,
  RateLimitError,
  ServiceUnavailableError,
} from '../../src/index'
import { startGeminiFake } from '../../src/testing/gemini-server'
import { collect, expectCutStreamToFail, failureOf, fakePerTest, statusErrors } from './provider-test-kit'

const request = { model: 'gemini/gemini-2.5-flash', messages: [{ role: 'user' as const, content: 'Say hello' }] }
const { fake, client } = fakePerTest(startGeminiFake, (started) => createClient({ providers: { gemini: gemini({ apiKey: 'gm-test', baseUrl: started.url }) } }))

describe('gemini provider: errors', () => {
  it.each(statusErrors)('maps a %i answer to %o with status, provider, model, retryable and the SDK error as cause', async (status, errorClass, retryable) => {
    fake.enqueue({ kind: 'error', status, message: `Google said ${status}` })
    const error = await failureOf(client.chat(request))
    expect(error).toBeInstanceOf(errorClass)
    expect(error).toMatchObject({ status, provider: 'gemini', model: 'gemini-2.5-flash', retryable })
    expect(error.message).toContain(`Google said ${status}`)
    expect(error.message).not.toContain('GoogleGenerativeAI Error')
    expect(error.cause).toBeInstanceOf(GoogleGenerativeAIFetchError)
    expect(fake.requests).toHaveLength(1)
  })

  it('takes the wait of a 429 from Google’s RetryInfo', async () => {
    fake.enqueue({
      kind: 'error',
      status: 429,
      message: 'Resource has been exhausted (e.g. check quota).',
      details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '2.5s' }],
    })
    const error = (await failureOf(client.chat(request))) as RateLimitError
    expect(error).toBeInstanceOf(RateLimitError)
    expect(error.retryAfterMs).toBe(2500)
    expect(error.message).toContain('Resource has been exhausted')
    expect(error.message).not.toContain('RetryInfo')
  })

  it('maps Google’s 400 API_KEY_INVALID to AuthenticationError that names GEMINI_API_KEY', async () => {
    fake.enqueue({
      kind: 'error',
      status: 400,
      message: 'API key not valid. Please pass a valid API key.',
      details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' }],
    })
    const error = await failureOf(client.chat(request))
    expect(error).toBeInstanceOf(AuthenticationError)
    expect(error).toMatchObject({ status: 400, retryable: false })
    expect(error.message).toMatch(/GEMINI_API_KEY/)
    expect(error.message).not.toContain('gm-test')
  })

  it('maps a prompt over the token limit to ContextWindowExceededError', async () => {
    fake.enqueue({ kind: 'error', status: 400, message: 'The input token count (1048577) exceeds the maximum number of tokens allowed (1048576).' })
    await expect(client.chat(request)).rejects.toBeInstanceOf(ContextWindowExceededError)
  })

  it('maps a dropped connection to APIConnectionError, retryable', async () => {
    fake.enqueue({ kind: 'drop' })
    const error = await failureOf(client.chat(request))
    expect(error).toBeInstanceOf(APIConnectionError)
    expect(error).toMatchObject({ provider: 'gemini', retryable: true })
  })

  it('maps errors of embeddings and of a refused stream the same way', async () => {
    fake.enqueue({ kind: 'error', status: 404, message: 'models/nope is not found' }, { kind: 'error', status: 503 })
    expect(await failureOf(client.embed({ model: 'gemini/nope', input: 'x' }))).toBeInstanceOf(NotFoundError)
    expect(await failureOf(collect(client.stream(request)))).toBeInstanceOf(ServiceUnavailableError)
  })
})

describe('gemini provider: a stream that dies half-way is a failure, never a success', () => {
  it.each([
    ['the connection closes mid-body', 'destroy' as const],
    ['the body ends before the event with the finish reason', 'end' as const],
  ])('when %s, the caller’s loop throws APIConnectionError and await next() rejects in a layer', async (_name, how) => {
    fake.enqueue({ kind: 'cut', text: 'this reply will never finish properly', afterEvents: 2, how })
    await expectCutStreamToFail(client, request)
  })
})
