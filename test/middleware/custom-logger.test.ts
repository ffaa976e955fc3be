import { afterEach, describe, expect, it } from 'vitest'
import { createClient, type Client } from '../../src/index'
import { customLogger } from '../../middleware/custom-logger'
import { CustomLogger, type LoggerKwargs, type LoggerResponse } from '../../src/litellm/custom-logger'
import type { ChatChunk, ChatResponse, Message } from '../../src/schema'
import { retryOnce } from './layer-test-kit'

const messages = [{ role: 'user' as const, content: 'hello logger' }]
let client: Client | undefined
afterEach(async () => {
  await client?.close()
  client = undefined
})

function newClient(options: Parameters<typeof createClient>[0] = {}) {
  const hookErrors: string[] = []
  client = createClient({ onHookError: (error, hook) => hookErrors.push(`${hook}: ${(error as Error).message}`), ...options })
  return { client, hookErrors }
}

/** Records every sync hook it gets, by name, with its arguments. */
class SyncRecorder extends CustomLogger {
  calls: Array<{ hook: string; args: unknown[] }> = []
  get names() {
    return this.calls.map((call) => call.hook)
  }
  override logPreApiCall(model: string, callMessages: Message[] | undefined, kwargs: LoggerKwargs) {
    this.calls.push({ hook: 'pre', args: [model, callMessages, kwargs] })
  }
  override logPostApiCall(kwargs: LoggerKwargs, response: LoggerResponse | undefined, start: Date, end: Date) {
    this.calls.push({ hook: 'post', args: [kwargs, response, start, end] })
  }
  override logSuccessEvent(kwargs: LoggerKwargs, response: LoggerResponse, start: Date, end: Date) {
    this.calls.push({ hook: 'success', args: [kwargs, response, start, end] })
  }
  override logFailureEvent(kwargs: LoggerKwargs, response: undefined, start: Date, end: Date) {
    this.calls.push({ hook: 'failure', args: [kwargs, response, start, end] })
  }
  override logStreamEvent(kwargs: LoggerKwargs, chunk: ChatChunk, start: Date, end: Date) {
    this.calls.push({ hook: 'stream', args: [kwargs, chunk, start, end] })
  }
}

/** Defines only the async twins. */
class AsyncRecorder extends CustomLogger {
  names: string[] = []
  override async asyncLogPreApiCall() {
    this.names.push('asyncPre')
  }
  override async asyncLogPostApiCall() {
    this.names.push('asyncPost')
  }
  override async asyncLogSuccessEvent() {
    this.names.push('asyncSuccess')
  }
  override async asyncLogFailureEvent() {
    this.names.push('asyncFailure')
  }
  override async asyncLogStreamEvent() {
    this.names.push('asyncStream')
  }
}

describe('customLogger', () => {
  it('fires pre → post → success once each for a chat call, with LiteLLM-shaped arguments', async () => {
    const handler = new SyncRecorder()
    const { client } = newClient({ cost: { prices: { 'mock/priced': { input: 1, output: 2 } } } })
    client.use(customLogger(handler))
    await client.chat({ model: 'mock/priced', messages, mock_response: 'hi', user: 'user-123', metadata: { customer_id: 'cust_abc' } })
    expect(handler.names).toEqual(['pre', 'post', 'success'])
    const [model, preMessages, preKwargs] = handler.calls[0]!.args as [string, Message[], LoggerKwargs]
    expect(model).toBe('mock/priced')
    expect(preMessages).toEqual(messages)
    expect(preKwargs.response_cost).toBeUndefined()
    const [kwargs, response, start, end] = handler.calls[2]!.args as [LoggerKwargs, ChatResponse, Date, Date]
    expect(kwargs).toMatchObject({
      model: 'mock/priced',
      messages,
      user: 'user-123',
      call_type: 'acompletion',
      stream: false,
      litellm_params: { metadata: { customer_id: 'cust_abc' } },
      standard_logging_object: { status: 'success', user: 'user-123' },
    })
    expect(kwargs.litellm_call_id).toBe(kwargs.standard_logging_object!.id)
    // usage: 3 prompt tokens at $1/M, 1 completion token at $2/M
    expect(kwargs.response_cost).toBeCloseTo(0.000005, 12)
    expect(response.choices[0]!.message.content).toBe('hi')
    expect(start).toBeInstanceOf(Date)
    expect(end.getTime()).toBeGreaterThanOrEqual(start.getTime())
  })

  it('leaves response_cost absent, never 0, when the price is unknown', async () => {
    const handler = new SyncRecorder()
    const { client } = newClient()
    client.use(customLogger(handler))
    await client.chat({ model: 'mock/unpriced', messages })
    const kwargs = handler.calls.find((call) => call.hook === 'success')!.args[0] as LoggerKwargs
    expect('response_cost' in kwargs).toBe(false)
  })

  it('for a stream fires pre, one stream event per chunk, post, then success once after the last chunk with the assembled response', async () => {
    const handler = new SyncRecorder()
    const { client } = newClient()
    client.use(customLogger(handler))
    let chunks = 0
    let successBeforeLoopEnded = false
    for await (const _chunk of client.stream({ model: 'mock/x', messages, mock_response: 'one two three' })) {
      chunks++
      successBeforeLoopEnded ||= handler.names.includes('success')
    }
    expect(successBeforeLoopEnded).toBe(false)
    expect(handler.names).toEqual(['pre', ...Array(chunks).fill('stream'), 'post', 'success'])
    const [kwargs, response] = handler.calls.at(-1)!.args as [LoggerKwargs, ChatResponse]
    expect(kwargs.stream).toBe(true)
    expect(response.choices[0]!.message.content).toBe('one two three')
  })

  it('for a failure fires pre → post → failure with the exception and its traceback', async () => {
    const handler = new SyncRecorder()
    const { client } = newClient()
    client.use(customLogger(handler))
    await expect(client.chat({ model: 'mock/x', messages, mock_error: { status: 429, message: 'rate limited' } })).rejects.toThrow()
    expect(handler.names).toEqual(['pre', 'post', 'failure'])
    const [kwargs, response] = handler.calls[2]!.args as [LoggerKwargs, undefined]
    expect(response).toBeUndefined()
    expect(kwargs.exception).toMatchObject({ name: 'RateLimitError', message: 'rate limited' })
    expect(kwargs.traceback_exception).toContain('RateLimitError')
    expect(kwargs.standard_logging_object).toMatchObject({ status: 'failure', error: { status: 429 } })
  })

  it('sends a stream that fails half-way to the failure hook, never the success hook', async () => {
    const handler = new SyncRecorder()
    const { client } = newClient()
    client.use(customLogger(handler))
    await expect(async () => {
      for await (const _chunk of client.stream({ model: 'mock/x', messages, mock_response: 'a b c d', mock_error: { status: 500, after_chunks: 2 } }));
    }).rejects.toThrow()
    expect(handler.names).toEqual(['pre', 'stream', 'stream', 'post', 'failure'])
  })

  it('sends a cancelled stream to the failure hook with status cancelled', async () => {
    const handler = new SyncRecorder()
    const { client } = newClient()
    client.use(customLogger(handler))
    for await (const _chunk of client.stream({ model: 'mock/x', messages, mock_response: 'a b c d' })) break
    const failure = handler.calls.find((call) => call.hook === 'failure')!
    expect((failure.args[0] as LoggerKwargs).standard_logging_object!.status).toBe('cancelled')
    expect(handler.names.filter((name) => name === 'success')).toEqual([])
  })

  it('works with a handler that defines only the async twins', async () => {
    const handler = new AsyncRecorder()
    const { client } = newClient()
    client.use(customLogger(handler))
    await client.chat({ model: 'mock/x', messages })
    for await (const _chunk of client.stream({ model: 'mock/x', messages, mock_response: 'a b' }));
    await expect(client.chat({ model: 'mock/x', messages, mock_error: { status: 500 } })).rejects.toThrow()
    await client.flush()
    expect(handler.names).toEqual([
      'asyncPre', 'asyncPost', 'asyncSuccess',
      'asyncPre', 'asyncStream', 'asyncStream', 'asyncStream', 'asyncStream', 'asyncPost', 'asyncSuccess',
      'asyncPre', 'asyncPost', 'asyncFailure',
    ])
  })

  it('calls only the async twin when a handler defines both, never both', async () => {
    const called: string[] = []
    class Both extends CustomLogger {
      override logSuccessEvent() {
        called.push('sync')
      }
      override async asyncLogSuccessEvent() {
        called.push('async')
      }
      override logFailureEvent() {
        called.push('sync failure')
      }
    }
    const { client } = newClient()
    client.use(customLogger(new Both()))
    for await (const _chunk of client.stream({ model: 'mock/x', messages }));
    await client.chat({ model: 'mock/x', messages })
    await expect(client.chat({ model: 'mock/x', messages, mock_error: { status: 500 } })).rejects.toThrow()
    await client.flush()
    expect(called).toEqual(['async', 'async', 'sync failure'])
  })

  it('accepts a plain object with camelCased methods', async () => {
    const seen: string[] = []
    const { client } = newClient()
    client.use(customLogger({ logSuccessEvent: (kwargs: LoggerKwargs) => void seen.push(kwargs.model) }))
    await client.chat({ model: 'mock/plain', messages })
    expect(seen).toEqual(['mock/plain'])
  })

  it('outside a retry fires success once; with logger.attempts inside it, pre and post fire per attempt', async () => {
    const handler = new SyncRecorder()
    const { client } = newClient()
    const logger = customLogger(handler)
    client.use(logger, retryOnce, logger.attempts)
    await client.chat({ model: 'mock/x', messages, mock_error: { status: 503 } })
    expect(handler.names).toEqual(['pre', 'post', 'pre', 'post', 'success'])
    const firstPost = handler.calls[1]!.args[0] as LoggerKwargs
    expect(firstPost.exception).toMatchObject({ name: 'ServiceUnavailableError' })
    expect(handler.calls[3]!.args[1]).toMatchObject({ object: 'chat.completion' })
  })

  it('outside a retry without logger.attempts, pre and post wrap the whole call once', async () => {
    const handler = new SyncRecorder()
    const { client } = newClient()
    client.use(customLogger(handler), retryOnce)
    await client.chat({ model: 'mock/x', messages, mock_error: { status: 503 } })
    expect(handler.names).toEqual(['pre', 'post', 'success'])
  })

  it('isolates a handler whose every hook throws: the call is unaffected and each error is reported by method name', async () => {
    class Broken extends CustomLogger {
      override logPreApiCall() {
        throw new Error('pre bug')
      }
      override logStreamEvent() {
        throw new Error('stream bug')
      }
      override async asyncLogSuccessEvent() {
        throw new Error('success bug')
      }
    }
    const { client, hookErrors } = newClient()
    client.use(customLogger(new Broken()))
    let text = ''
    for await (const chunk of client.stream({ model: 'mock/x', messages, mock_response: 'fine' })) text += chunk.choices[0]?.delta?.content ?? ''
    await client.flush()
    expect(text).toBe('fine')
    expect(new Set(hookErrors)).toEqual(new Set(['Broken.logPreApiCall: pre bug', 'Broken.logStreamEvent: stream bug', 'Broken.asyncLogSuccessEvent: success bug']))
  })

  it('passes proxy request info and model_info through kwargs, credentials removed', async () => {
    const handler = new SyncRecorder()
    const { client } = newClient()
    client.use(customLogger(handler))
    await client.chat(
      { model: 'mock/x', messages },
      {
        http: {
          method: 'POST',
          url: '/chat/completions',
          headers: { authorization: 'Bearer sk-master-1234', 'content-type': 'application/json' },
          body: { model: 'mock/x', messages, api_key: 'sk-body-5678' },
        },
        modelInfo: { id: 'model-1', tier: 'cheap' },
      },
    )
    const kwargs = handler.calls.at(-1)!.args[0] as LoggerKwargs
    expect(kwargs.litellm_params.proxy_server_request).toEqual({
      url: '/chat/completions',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: { model: 'mock/x', messages },
    })
    expect(kwargs.litellm_params.model_info).toEqual({ id: 'model-1', tier: 'cheap' })
    expect(JSON.stringify(handler.calls.map((call) => call.args))).not.toMatch(/sk-master-1234|sk-body-5678/)
  })

  it('under client-wide redaction gives hooks no prompt or reply content, chunks included', async () => {
    const handler = new SyncRecorder()
    const { client } = newClient({ redact: { messages: true } })
    client.use(customLogger(handler))
    for await (const _chunk of client.stream({ model: 'mock/x', messages, mock_response: 'private answer' }));
    const everything = JSON.stringify(handler.calls.map((call) => call.args))
    expect(everything).not.toContain('hello logger')
    expect(everything).not.toContain('private')
    expect(everything).toContain('[redacted]')
  })

  it('tells a handler that kept LiteLLM snake_case names how to rename them', () => {
    expect(() => customLogger({ async_log_success_event: () => {} })).toThrow(/rename them to asyncLogSuccessEvent/)
  })
})

describe('handlers from another copy of llm-onion', () => {
  it('calls only the hooks the handler overrides, even when its base class comes from another copy', async () => {
    // A second copy's base class: same methods, marked the same way through Symbol.for.
    const marker = Symbol.for('llm-onion.custom-logger.base-method')
    class ForeignBase {
      logSuccessEvent(): void {}
      async asyncLogSuccessEvent(): Promise<void> {}
    }
    for (const name of ['logSuccessEvent', 'asyncLogSuccessEvent'] as const) {
      ;(ForeignBase.prototype[name] as unknown as Record<symbol, boolean>)[marker] = true
    }
    const seen: string[] = []
    class Handler extends ForeignBase {
      override logSuccessEvent(): void {
        seen.push('sync success')
      }
    }
    const client = createClient().use(customLogger(new Handler()))
    await client.chat({ model: 'mock/x', messages: [{ role: 'user', content: 'hi' }] })
    await client.flush()
    await client.close()
    expect(seen).toEqual(['sync success'])
  })
})
