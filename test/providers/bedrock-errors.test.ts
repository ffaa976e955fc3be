/**
 * AWS's errors, as the Bedrock fake sends them (status, `x-amzn-ErrorType`, a `{ message }` body, and
 * exception frames inside an event stream), mapped by the real SDK path onto the llm-onion error
 * family; a request signed with the wrong secret refused by the fake's independent SigV4 check; no
 * credential in any error.
 */
import { describe, expect, it } from 'vitest'
import {
  APIConnectionError,
  AuthenticationError,
  BadRequestError,
  bedrock,
  ContextWindowExceededError,
  createClient,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  ServiceUnavailableError,
  TimeoutError,
  type LlmError,
} from '../../src/index'
import { fromBedrockError } from '../../src/providers/bedrock/errors'
import { startBedrockFake } from '../../src/testing/bedrock-server'
import { collect, expectCutStreamToFail, failureOf, fakePerTest } from './provider-test-kit'

const request = { model: 'bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0', messages: [{ role: 'user' as const, content: 'Say hello' }] }
const { fake, client } = fakePerTest(
  () => startBedrockFake(),
  (started) => createClient({ providers: { bedrock: bedrock({ endpoint: started.url, region: 'us-east-1', ...started.credentials }, {}) } }),
)

/** Error type, HTTP status, the class it maps to, retryable. */
const awsErrors: Array<[type: string, status: number, errorClass: new (...args: never[]) => LlmError, retryable: boolean]> = [
  ['ValidationException', 400, BadRequestError, false],
  ['ServiceQuotaExceededException', 400, BadRequestError, false],
  ['AccessDeniedException', 403, PermissionDeniedError, false],
  ['ResourceNotFoundException', 404, NotFoundError, false],
  ['ModelTimeoutException', 408, TimeoutError, true],
  ['ModelErrorException', 424, InternalServerError, true],
  ['ThrottlingException', 429, RateLimitError, true],
  ['ModelNotReadyException', 429, RateLimitError, true],
  ['InternalServerException', 500, InternalServerError, true],
  ['ServiceUnavailableException', 503, ServiceUnavailableError, true],
]

describe('bedrock provider: AWS errors', () => {
  it.each(awsErrors)('maps %s (%i) to %o with status, code, provider, model, retryable and the SDK error as cause', async (type, status, errorClass, retryable) => {
    fake.enqueue({ kind: 'error', status, type, message: `AWS said ${type}` })
    const error = await failureOf(client.chat(request))
    expect(error).toBeInstanceOf(errorClass)
    expect(error).toMatchObject({ status, code: type, provider: 'bedrock', model: 'anthropic.claude-3-5-sonnet-20240620-v1:0', retryable })
    expect(error.message).toContain(`AWS said ${type}`)
    expect((error.cause as Error).name).toBe(type)
    expect(fake.requests).toHaveLength(1)
  })

  it('names the model and region in a ResourceNotFoundException, and the permission in an AccessDeniedException', async () => {
    fake.enqueue({ kind: 'error', status: 404, type: 'ResourceNotFoundException', message: 'Model not found.' })
    expect((await failureOf(client.chat(request))).message).toMatch(/model id "anthropic\.claude-3-5-sonnet-20240620-v1:0" .* us-east-1/)
    fake.enqueue({ kind: 'error', status: 403, type: 'AccessDeniedException', message: 'You don’t have access to the model with the specified model ID.' })
    expect((await failureOf(client.chat(request))).message).toMatch(/bedrock:InvokeModel/)
  })

  it('maps a ValidationException about the input length to ContextWindowExceededError', async () => {
    fake.enqueue({ kind: 'error', status: 400, type: 'ValidationException', message: 'Input is too long for requested model.' })
    await expect(client.chat(request)).rejects.toBeInstanceOf(ContextWindowExceededError)
  })

  it('maps a dropped connection to APIConnectionError, retryable', async () => {
    fake.enqueue({ kind: 'drop' })
    const error = await failureOf(client.chat(request))
    expect(error).toBeInstanceOf(APIConnectionError)
    expect(error).toMatchObject({ provider: 'bedrock', retryable: true })
  })

  it('maps a refused stream the same way', async () => {
    fake.enqueue({ kind: 'error', status: 503, type: 'ServiceUnavailableException' })
    expect(await failureOf(collect(client.stream(request)))).toBeInstanceOf(ServiceUnavailableError)
  })

  it('times out a request without an answer after bedrock({ timeout }) with TimeoutError', async () => {
    fake.enqueue({ kind: 'hang' })
    const impatient = createClient({ providers: { bedrock: bedrock({ endpoint: fake.url, region: 'us-east-1', timeout: 200, ...fake.credentials }, {}) } })
    try {
      const error = await failureOf(impatient.chat(request))
      expect(error).toBeInstanceOf(TimeoutError)
      expect(error.message).toMatch(/bedrock\(\{ timeout \}\)/)
    } finally {
      await impatient.close()
    }
  })
})

describe('bedrock provider: credentials the service refuses', () => {
  it('is refused with 403 InvalidSignatureException when signed with the wrong secret, mapped to AuthenticationError without the secret', async () => {
    const wrongSecret = 'wrong-secret-planted-7c1e93ab55d2'
    const impostor = createClient({
      providers: { bedrock: bedrock({ endpoint: fake.url, region: 'us-east-1', accessKeyId: fake.credentials.accessKeyId, secretAccessKey: wrongSecret }, {}) },
    })
    try {
      const error = await failureOf(impostor.chat(request))
      expect(fake.requests[0]!.auth).toEqual({ scheme: 'refused', reason: 'InvalidSignatureException' })
      expect(error).toBeInstanceOf(AuthenticationError)
      expect(error).toMatchObject({ status: 403, code: 'InvalidSignatureException', retryable: false })
      expect(error.message).toMatch(/aws_secret_access_key/)
      for (const text of [error.message, error.stack ?? '', JSON.stringify(error), String((error.cause as Error).message)]) expect(text).not.toContain(wrongSecret)
    } finally {
      await impostor.close()
    }
  })

  it('is refused with UnrecognizedClientException for an access key the service does not know', async () => {
    const stranger = createClient({ providers: { bedrock: bedrock({ endpoint: fake.url, region: 'us-east-1', accessKeyId: 'AKIAUNKNOWNKEY000001', secretAccessKey: fake.credentials.secretAccessKey }, {}) } })
    try {
      const error = await failureOf(stranger.chat(request))
      expect(error).toBeInstanceOf(AuthenticationError)
      expect(error.code).toBe('UnrecognizedClientException')
    } finally {
      await stranger.close()
    }
  })

  it('maps the credential chain finding nothing to AuthenticationError naming where credentials go', () => {
    const chainError = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' })
    const error = fromBedrockError(chainError, { provider: 'bedrock', model: 'm', region: 'us-east-1', endpoint: 'https://bedrock-runtime.us-east-1.amazonaws.com', signal: new AbortController().signal, scrub: (text) => text })
    expect(error).toBeInstanceOf(AuthenticationError)
    expect(error).toMatchObject({ retryable: false, code: 'CredentialsProviderError' })
    expect(error.message).toMatch(/AWS_ACCESS_KEY_ID/)
  })
})

describe('bedrock provider: a stream that fails or dies half-way is a failure, never a success', () => {
  it.each([
    ['throttlingException', RateLimitError, 429],
    ['modelStreamErrorException', InternalServerError, 424],
    ['validationException', BadRequestError, 400],
    ['internalServerException', InternalServerError, 500],
    ['serviceUnavailableException', ServiceUnavailableError, 503],
  ])('maps an exception frame %s after some chunks to %o out of the caller’s loop', async (exceptionType, errorClass, status) => {
    fake.enqueue({ kind: 'stream-error', text: 'partial words here', afterEvents: 2, exceptionType, message: `mid-stream ${exceptionType}` })
    const chunks: unknown[] = []
    const error = await failureOf(collect(client.stream(request), chunks as never))
    expect(error).toBeInstanceOf(errorClass)
    expect(error).toMatchObject({ status, provider: 'bedrock' })
    expect(error.message).toContain(`mid-stream ${exceptionType}`)
    expect(chunks.length).toBeGreaterThan(0)
  })

  it.each([
    ['the connection closes mid-body', 'destroy' as const],
    ['the body ends before messageStop', 'end' as const],
  ])('when %s, the caller’s loop throws APIConnectionError and await next() rejects in a layer', async (_name, how) => {
    // messageStart, then "this" and " reply": the kit expects exactly "this reply" before the cut.
    fake.enqueue({ kind: 'cut', text: 'this reply will never finish properly', afterEvents: 3, how })
    await expectCutStreamToFail(client, request)
  })
})
