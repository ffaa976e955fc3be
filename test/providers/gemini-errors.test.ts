import { GoogleGenerativeAIFetchError } from '@google/generative-ai'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  APIConnectionError,
  AuthenticationError,
  BadRequestError,
  ContextWindowExceededError,
  createClient,
  gemini,
  InternalServerError,
  isLlmError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  ServiceUnavailableError,
  type ChatChunk,
  type Client,
  type LlmError,
} from '../../src/index'
import { startGeminiFake, type GeminiFake } from '../../src/testing/gemini-server'

const request = { model: 'gemini/gemini-2.5-flash', messages: [{ role: 'user' as const, content: 'Say hello' }] }
let fake: GeminiFake
let client: Client

beforeEach(async () => {
  fake = await startGeminiFake()
  client = createClient({ providers: { gemini: gemini({ apiKey: 'gm-test', baseUrl: fake.url }) } })
})
afterEach(async () => {
  await client.close()
  await fake.close()
})

async function failureOf(call: Promise<unknown>): Promise<LlmError> {
  try {
    await call
  } catch (error) {
    expect(isLlmError(error), `not an LlmError: ${String(error)}`).toBe(true)
    return error as LlmError
  }
  throw new Error('the call succeeded')
}

async function drain(stream: AsyncIterable<ChatChunk>, into: ChatChunk[] = []): Promise<void> {
  for await (const chunk of stream) into.push(chunk)
}

describe('gemini provider: errors', () => {
  it.each([
    [400, BadRequestError, false],
    [401, AuthenticationError, false],
    [403, PermissionDeniedError, false],
    [404, NotFoundError, false],
    [429, RateLimitError, true],
    [500, InternalServerError, true],
    [503, ServiceUnavailableError, true],
  ])('maps a %i answer to %o with status, provider, model, retryable and the SDK error as cause', async (status, errorClass, retryable) => {
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
    expect(await failureOf(drain(client.stream(request)))).toBeInstanceOf(ServiceUnavailableError)
  })
})

describe('gemini provider: a stream that dies half-way is a failure, never a success', () => {
  it.each([
    ['the connection closes mid-body', 'destroy' as const],
    ['the body ends before the event with the finish reason', 'end' as const],
  ])('when %s, the caller’s loop throws APIConnectionError and await next() rejects in a layer', async (_name, how) => {
    fake.enqueue({ kind: 'cut', text: 'this reply will never finish properly', afterEvents: 2, how })
    let layerOutcome: unknown = 'next() resolved'
    client.use(async (_ctx, next) => {
      try {
        await next()
      } catch (error) {
        layerOutcome = error
        throw error
      }
    })
    const chunks: ChatChunk[] = []
    const error = await failureOf(drain(client.stream(request), chunks))
    expect(error).toBeInstanceOf(APIConnectionError)
    expect(chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('')).toBe('this reply')
    expect(layerOutcome).toBe(error)
  })
})
