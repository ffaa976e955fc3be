/**
 * What the provider tests (OpenAI, Gemini) share: a fake server and a client on it for each test, the
 * typed error a call fails with, reading a stream to the end, the HTTP statuses every provider maps
 * to the same error classes, and the check that a stream cut half-way fails in the loop and in a layer.
 */
import { afterEach, beforeEach, expect } from 'vitest'
import {
  APIConnectionError,
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  isLlmError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  ServiceUnavailableError,
  type ChatChunk,
  type ChatRequest,
  type Client,
  type LlmError,
} from '../../src/index'

/** An object that stands for whatever `current()` returns at the moment it is used. */
function standIn<T extends object>(current: () => T): T {
  return new Proxy({} as T, {
    get(_target, key) {
      const target = current()
      const value: unknown = Reflect.get(target, key, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

/**
 * Starts a fake and a client on it before each test, and closes both after it. The returned `fake`
 * and `client` always stand for the current test's, so they can be destructured once at the top.
 */
export function fakePerTest<Fake extends { close(): Promise<void> }>(start: () => Promise<Fake>, clientFor: (fake: Fake) => Client): { fake: Fake; client: Client } {
  let fake: Fake | undefined
  let client: Client | undefined
  beforeEach(async () => {
    fake = await start()
    client = clientFor(fake)
  })
  afterEach(async () => {
    await client?.close()
    await fake?.close()
  })
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the fake and its client are started before each test; use them inside a test')
    return value
  }
  return { fake: standIn(() => started(fake)), client: standIn(() => started(client)) }
}

/** The error `call` fails with, checked to be an LlmError; fails the test when the call succeeds. */
export async function failureOf(call: Promise<unknown>): Promise<LlmError> {
  try {
    await call
  } catch (error) {
    expect(isLlmError(error), `not an LlmError: ${String(error)}`).toBe(true)
    return error as LlmError
  }
  throw new Error('the call succeeded')
}

/** Reads a stream to its end, keeping its chunks in `into` (so they survive a stream that throws). */
export async function collect(stream: AsyncIterable<ChatChunk>, into: ChatChunk[] = []): Promise<ChatChunk[]> {
  for await (const chunk of stream) into.push(chunk)
  return into
}

/** The transports of `openai()`: every OpenAI provider test runs on both. */
export const transports = ['sdk', 'http'] as const

/** HTTP statuses, the error class each maps to, and whether it is retryable: the same for every provider. */
export const statusErrors: Array<[status: number, errorClass: new (...args: never[]) => LlmError, retryable: boolean]> = [
  [400, BadRequestError, false],
  [401, AuthenticationError, false],
  [403, PermissionDeniedError, false],
  [404, NotFoundError, false],
  [429, RateLimitError, true],
  [500, InternalServerError, true],
  [503, ServiceUnavailableError, true],
]

/** Adds a layer to `client` that remembers what its `await next()` ended with. */
export function layerOutcome(client: Client): { outcome: unknown } {
  const seen: { outcome: unknown } = { outcome: 'next() resolved' }
  client.use(async (_ctx, next) => {
    try {
      await next()
    } catch (error) {
      seen.outcome = error
      throw error
    }
  })
  return seen
}

/**
 * Streams `request` from a fake that cuts the reply "this reply will never finish properly" after
 * "this reply": the caller's loop throws APIConnectionError after those chunks, and a layer's
 * `await next()` rejects with the same error.
 */
export async function expectCutStreamToFail(client: Client, request: ChatRequest): Promise<void> {
  const layer = layerOutcome(client)
  const chunks: ChatChunk[] = []
  const error = await failureOf(collect(client.stream(request), chunks))
  expect(error).toBeInstanceOf(APIConnectionError)
  expect(chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('')).toBe('this reply')
  expect(layer.outcome).toBe(error)
}
