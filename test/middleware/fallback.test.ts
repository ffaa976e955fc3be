import { describe, expect, it } from 'vitest'
import {
  AuthenticationError,
  BadRequestError,
  ContextWindowExceededError,
  createClient,
  errorForStatus,
  isAbortError,
  ServiceUnavailableError,
  ValidationError,
  type Client,
  type Provider,
} from 'llm-onion'
import { fallback, retry } from 'llm-onion/middleware'
import { createRecorder } from 'llm-onion/testing'
import { closeAfterEach } from './layer-test-kit'
import { contextWindowOf } from '../../src/model-windows'

const messages = [{ role: 'user' as const, content: 'hello fallback' }]
let client: Client | undefined
closeAfterEach(() => client)

/** A provider whose every call fails with `error()`. */
function failing(name: string, error: () => Error): Provider & { models: string[] } {
  const models: string[] = []
  const fail = async (_request: unknown, call: { model: string }): Promise<never> => {
    models.push(call.model)
    throw error()
  }
  return {
    name,
    models,
    chat: fail,
    stream: async function* (request, call) {
      await fail(request, call)
    },
    embed: fail,
  }
}

const down = () => failing('down', () => new ServiceUnavailableError('overloaded', { provider: 'down' }))

describe('fallback()', () => {
  it('falls back to the second model on 503 and the event names the model that answered', async () => {
    const recorder = createRecorder()
    client = createClient({ providers: { down: down() } }).use(recorder.layer, fallback({ models: ['mock/backup'] }))
    const reply = await client.chat({ model: 'down/primary', messages, mock_response: 'from the backup' })
    expect(reply.choices[0]!.message.content).toBe('from the backup')
    const event = recorder.events[0]!
    expect(event.status).toBe('success')
    expect(event.model).toBe('down/primary')
    expect(event.provider).toBe('mock')
    expect(event.responseModel).toBe('backup')
    expect(event.attempts.map(({ attempt, model, status }) => ({ attempt, model, status }))).toEqual([
      { attempt: 1, model: 'down/primary', status: 'failure' },
      { attempt: 2, model: 'mock/backup', status: 'success' },
    ])
    expect(event.attempts[0]!.error!.status).toBe(503)
  })

  it('tries the models in order until one answers', async () => {
    const recorder = createRecorder()
    client = createClient({ providers: { down: down() } }).use(recorder.layer, fallback({ models: ['down/second', 'mock/third', 'mock/fourth'] }))
    await client.chat({ model: 'down/first', messages })
    expect(recorder.events[0]!.attempts.map((attempt) => attempt.model)).toEqual(['down/first', 'down/second', 'mock/third'])
  })

  for (const status of [429, 500, 503] as const) {
    it(`falls back on ${status}`, async () => {
      client = createClient({ providers: { broken: failing('broken', () => errorForStatus(status, 'broken')) } }).use(fallback({ models: ['mock/backup'] }))
      const reply = await client.chat({ model: 'broken/x', messages })
      expect(reply.model).toBe('backup')
    })
  }

  it('does not fall back on an authentication error', async () => {
    const provider = failing('locked', () => new AuthenticationError('bad key'))
    client = createClient({ providers: { locked: provider } }).use(fallback({ models: ['mock/backup'] }))
    await expect(client.chat({ model: 'locked/x', messages })).rejects.toBeInstanceOf(AuthenticationError)
    expect(provider.models).toEqual(['x'])
  })

  it('falls back on a context-window error only to a listed model with a larger window', async () => {
    const recorder = createRecorder()
    client = createClient({ providers: { small: failing('small', () => new ContextWindowExceededError('too long')) } }).use(
      recorder.layer,
      fallback({ models: ['mock/tiny', 'mock/large'], contextWindows: { 'small/model': 8000, 'mock/tiny': 4000, 'mock/large': 200_000 } }),
    )
    await client.chat({ model: 'small/model', messages })
    expect(recorder.events[0]!.attempts.map((attempt) => attempt.model)).toEqual(['small/model', 'mock/large'])
  })

  it('gives up on a context-window error when no listed model has a larger window', async () => {
    client = createClient({ providers: { small: failing('small', () => new ContextWindowExceededError('too long')) } }).use(
      fallback({ models: ['mock/tiny'], contextWindows: { 'small/model': 8000, 'mock/tiny': 4000 } }),
    )
    await expect(client.chat({ model: 'small/model', messages })).rejects.toBeInstanceOf(ContextWindowExceededError)
  })

  it('knows context windows of priced models from the bundled data', () => {
    expect(contextWindowOf('openai/gpt-4o-mini')).toBe(128_000)
    expect(contextWindowOf('gpt-4.1')).toBe(1_000_000)
    expect(contextWindowOf('gemini/gemini-2.5-pro')).toBe(1_048_576)
    expect(contextWindowOf('mock/anything')).toBeUndefined()
  })

  it('lets shouldFallback decide, with the failed model on ctx.request', async () => {
    const failedModels: string[] = []
    client = createClient({ providers: { strict: failing('strict', () => new BadRequestError('unsupported parameter')) } }).use(
      fallback({ models: ['mock/lenient'], shouldFallback: (error, ctx) => (failedModels.push(ctx.request.model), error.message.includes('unsupported')) }),
    )
    const reply = await client.chat({ model: 'strict/x', messages })
    expect(reply.model).toBe('lenient')
    expect(failedModels).toEqual(['strict/x'])
  })

  it('does not fall back once a stream chunk has reached the caller', async () => {
    const recorder = createRecorder()
    client = createClient().use(recorder.layer, fallback({ models: ['mock/backup'] }))
    const received: string[] = []
    const loop = (async () => {
      const request = { model: 'mock/primary', messages, mock_response: 'one two three', mock_error: { status: 503, after_chunks: 1 } }
      for await (const chunk of client!.stream(request)) received.push(chunk.choices[0]?.delta?.content ?? '')
    })()
    await expect(loop).rejects.toBeInstanceOf(ServiceUnavailableError)
    expect(received).toEqual(['one'])
    expect(recorder.events[0]!.attempts).toHaveLength(1)
  })

  it('falls back for a stream that fails before its first chunk, and streams the backup reply', async () => {
    client = createClient({ providers: { down: down() } }).use(fallback({ models: ['mock/backup'] }))
    let text = ''
    for await (const chunk of client.stream({ model: 'down/primary', messages, mock_response: 'backup streaming' })) {
      text += chunk.choices[0]?.delta?.content ?? ''
    }
    expect(text).toBe('backup streaming')
  })

  it('does not fall back when the caller cancelled', async () => {
    const controller = new AbortController()
    const cancelling = failing('cancelling', () => {
      controller.abort()
      return new ServiceUnavailableError('went down while cancelling')
    })
    client = createClient({ providers: { cancelling } }).use(fallback({ models: ['mock/backup'] }))
    const error = await client.chat({ model: 'cancelling/x', messages }, { signal: controller.signal }).catch((thrown: unknown) => thrown)
    expect(isAbortError(error)).toBe(true)
  })

  it('puts the primary model back on ctx.request after the call', async () => {
    let after: string | undefined
    client = createClient({ providers: { down: down() } }).use(async (ctx, next) => {
      await next()
      after = `${ctx.request.model} answered by ${ctx.provider}/${ctx.model}`
    }, fallback({ models: ['mock/backup'] }))
    await client.chat({ model: 'down/primary', messages })
    expect(after).toBe('down/primary answered by mock/backup')
  })

  it('outside retry: retries each model before moving to the next', async () => {
    const recorder = createRecorder()
    client = createClient({ providers: { down: down() } }).use(
      recorder.layer,
      fallback({ models: ['down/second'] }),
      retry({ retries: 1, minTimeoutMs: 0 }),
    )
    await expect(client.chat({ model: 'down/first', messages })).rejects.toBeInstanceOf(ServiceUnavailableError)
    expect(recorder.events[0]!.attempts.map(({ attempt, model }) => `${attempt}:${model}`)).toEqual([
      '1:down/first', '2:down/first', '3:down/second', '4:down/second',
    ])
  })

  it('inside retry: each retry runs the whole list again from the primary', async () => {
    const recorder = createRecorder()
    client = createClient({ providers: { down: down() } }).use(
      recorder.layer,
      retry({ retries: 1, minTimeoutMs: 0 }),
      fallback({ models: ['down/second'] }),
    )
    await expect(client.chat({ model: 'down/first', messages })).rejects.toBeInstanceOf(ServiceUnavailableError)
    expect(recorder.events[0]!.attempts.map(({ attempt, model }) => `${attempt}:${model}`)).toEqual([
      '1:down/first', '2:down/second', '3:down/first', '4:down/second',
    ])
  })

  it('rejects options without models, naming the field', () => {
    expect(() => fallback({ models: [] })).toThrow(ValidationError)
    expect(() => fallback({ models: [] })).toThrow(/fallback\(\) options: models/)
  })
})
