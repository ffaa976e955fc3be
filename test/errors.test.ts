import { afterEach, describe, expect, it } from 'vitest'
import {
  AuthenticationError, BadRequestError, createClient, InternalServerError, isLlmError, isRateLimitError,
  isValidationError, LlmError, NotFoundError, PermissionDeniedError, RateLimitError, ServiceUnavailableError,
  TimeoutError, UnprocessableEntityError, ValidationError, mock, resolveRoute, type Client,
} from '../src/index'

const messages = [{ role: 'user' as const, content: 'hi' }]
let client: Client
afterEach(async () => client?.close())

describe('mock errors map to the error family', () => {
  const cases: Array<[number, new (...args: never[]) => LlmError, boolean]> = [
    [400, BadRequestError, false],
    [401, AuthenticationError, false],
    [403, PermissionDeniedError, false],
    [404, NotFoundError, false],
    [408, TimeoutError, true],
    [422, UnprocessableEntityError, false],
    [429, RateLimitError, true],
    [500, InternalServerError, true],
    [503, ServiceUnavailableError, true],
  ]
  for (const [status, errorClass, retryable] of cases) {
    it(`raises ${errorClass.name} (retryable: ${retryable}) for mock_error status ${status}`, async () => {
      client = createClient()
      const error = await client.chat({ model: 'mock/x', messages, mock_error: { status, message: 'boom' } }).catch((thrown) => thrown)
      expect(error).toBeInstanceOf(errorClass)
      expect(error).toMatchObject({ status, provider: 'mock', model: 'x', retryable, message: 'boom' })
    })
  }

  it('carries retryAfterMs on a rate-limit error', async () => {
    client = createClient()
    const error = await client.chat({ model: 'mock/x', messages, mock_error: { status: 429, retry_after_ms: 1500 } }).catch((thrown) => thrown)
    expect(isRateLimitError(error)).toBe(true)
    expect(error.retryAfterMs).toBe(1500)
  })

  it('raises errors for embeddings too', async () => {
    client = createClient()
    await expect(client.embed({ model: 'mock/x', input: 'a', mock_error: { status: 401 } })).rejects.toBeInstanceOf(AuthenticationError)
  })

  it('recognises errors from another copy of the package by their marker, not their class', () => {
    const foreign = Object.assign(new Error('from another copy'), { [Symbol.for('llm-onion.error')]: true })
    expect(isLlmError(foreign)).toBe(true)
    expect(isLlmError(new Error('plain'))).toBe(false)
  })
})

describe('request validation', () => {
  it('names the missing field and sends nothing', async () => {
    let reached = false
    client = createClient().use(async (_ctx, next) => { reached = true; await next() })
    const error = await client.chat({ model: 'mock/x' } as never).catch((thrown) => thrown)
    expect(isValidationError(error)).toBe(true)
    expect(error.path).toBe('messages')
    expect(error.message).toMatch(/messages/)
    expect(reached).toBe(false)
  })

  it('names a nested field: messages[1].role', async () => {
    client = createClient()
    const error = await client
      .chat({ model: 'mock/x', messages: [{ role: 'user', content: 'a' }, { role: 'robot', content: 'b' }] } as never)
      .catch((thrown) => thrown)
    expect(error).toBeInstanceOf(ValidationError)
    expect(error.path).toBe('messages[1].role')
  })

  it('names an out-of-range parameter', async () => {
    client = createClient()
    const error = await client.chat({ model: 'mock/x', messages, temperature: 9 }).catch((thrown) => thrown)
    expect(error.path).toBe('temperature')
  })

  it('validates streamed requests before returning the iterator', () => {
    client = createClient()
    expect(() => client.stream({ model: '', messages })).toThrow(ValidationError)
  })

  it('validates embedding input', async () => {
    client = createClient()
    const error = await client.embed({ model: 'mock/x', input: [] as string[] }).catch((thrown) => thrown)
    expect(error.path).toBe('input')
  })

  it('validates createClient options and names the field', () => {
    expect(() => createClient({ providers: { broken: {} as never } })).toThrow(/providers\.broken/)
  })
})

describe('model routing', () => {
  it('fails with NotFoundError listing the configured providers for an unknown provider', async () => {
    client = createClient()
    const error = await client.chat({ model: 'acme/model-1', messages }).catch((thrown) => thrown)
    expect(error).toBeInstanceOf(NotFoundError)
    expect(error.message).toContain('Configured providers: mock')
  })

  it('resolves bare names through aliases', async () => {
    client = createClient({ aliases: { fast: 'mock/fast-model' } })
    const reply = await client.chat({ model: 'fast', messages })
    expect(reply.model).toBe('fast-model')
  })

  it('tells how to configure openai when a gpt- model is asked for without an openai provider', () => {
    expect(() => resolveRoute('gpt-4o-mini', { mock: mock() }, {})).toThrow(/OPENAI_API_KEY/)
  })
})

describe('the mock provider', () => {
  it('replies deterministically from the last user message', async () => {
    client = createClient()
    const first = await client.chat({ model: 'mock/x', messages: [{ role: 'user', content: 'what is up' }] })
    const second = await client.chat({ model: 'mock/x', messages: [{ role: 'user', content: 'what is up' }] })
    expect(first.choices[0]!.message.content).toBe('This is a mock reply to: what is up')
    expect(second.choices[0]!.message.content).toBe(first.choices[0]!.message.content)
    expect(second.usage).toEqual(first.usage)
  })

  it('returns deterministic unit vectors of a fixed dimension', async () => {
    client = createClient()
    const one = await client.embed({ model: 'mock/e', input: ['alpha', 'beta'] })
    const two = await client.embed({ model: 'mock/e', input: ['alpha'] })
    expect(one.data).toHaveLength(2)
    expect(one.data[0]!.embedding).toEqual(two.data[0]!.embedding)
    expect(one.data[0]!.embedding).not.toEqual(one.data[1]!.embedding)
    const vector = one.data[0]!.embedding as number[]
    expect(vector).toHaveLength(8)
    expect(Math.hypot(...vector)).toBeCloseTo(1, 10)
  })
})
