/**
 * `kwargs.completion_start_time` as LiteLLM sets it (litellm/litellm_core_utils/litellm_logging.py:
 * `_update_completion_start_time`, stamped by the stream wrapper at the first chunk, and
 * `_success_handler_helper_fn`, which falls back on the end time), seen by a ported CustomLogger
 * over the openai SDK and a local fake OpenAI server.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { setTimeout as sleep } from 'node:timers/promises'
import { createClient, openai, type Client } from '../../src/index'
import { customLogger } from '../../middleware/custom-logger'
import { CustomLogger, type LoggerKwargs, type LoggerResponse } from '../../src/litellm/custom-logger'
import type { ChatChunk, Message } from '../../src/schema'
import { startOpenAIFake, type OpenAIFake } from '../../src/testing/openai-server'

const messages = [{ role: 'user' as const, content: 'When did the reply start?' }]

/** A LiteLLM handler ported by renaming its methods: keeps what each hook received. */
class TimingHandler extends CustomLogger {
  pre: LoggerKwargs[] = []
  post: LoggerKwargs[] = []
  stream: LoggerKwargs[] = []
  success: Array<{ kwargs: LoggerKwargs; start: Date; end: Date }> = []
  failure: LoggerKwargs[] = []
  override logPreApiCall(_model: string, _messages: Message[] | undefined, kwargs: LoggerKwargs) {
    this.pre.push({ ...kwargs })
  }
  override logPostApiCall(kwargs: LoggerKwargs) {
    this.post.push(kwargs)
  }
  override logStreamEvent(kwargs: LoggerKwargs, _chunk: ChatChunk) {
    this.stream.push(kwargs)
  }
  override logSuccessEvent(kwargs: LoggerKwargs, _response: LoggerResponse, start: Date, end: Date) {
    this.success.push({ kwargs, start, end })
  }
  override logFailureEvent(kwargs: LoggerKwargs) {
    this.failure.push(kwargs)
  }
}

let fake: OpenAIFake
let client: Client
let handler: TimingHandler
beforeEach(async () => {
  fake = await startOpenAIFake()
  handler = new TimingHandler()
  client = createClient({ providers: { openai: openai({ apiKey: 'sk-test', baseURL: fake.url }) } }).use(customLogger(handler))
})
afterEach(async () => {
  await client.close()
  await fake.close()
})

describe('kwargs.completion_start_time', () => {
  it('is the end time of a chat call that succeeded, as a Date, and absent before the call', async () => {
    fake.enqueue({ kind: 'chat', content: 'Just now.' })
    await client.chat({ model: 'openai/gpt-4o-mini', messages })
    const [{ kwargs, end }] = handler.success
    expect(kwargs.completion_start_time).toBeInstanceOf(Date)
    expect(kwargs.completion_start_time!.getTime()).toBe(end.getTime())
    expect(kwargs.completion_start_time!.getTime()).toBe(kwargs.end_time!.getTime())
    expect(handler.post[0]!.completion_start_time!.getTime()).toBe(kwargs.end_time!.getTime())
    expect('completion_start_time' in handler.pre[0]!).toBe(false)
  })

  it('is the first chunk’s time for a stream, in the stream hooks and the success hook, before the rest of the reply', async () => {
    fake.enqueue({ kind: 'chat', content: 'one two three four' })
    const before = Date.now()
    let firstReceivedAt: number | undefined
    for await (const _chunk of client.stream({ model: 'openai/gpt-4o-mini', messages })) {
      if (firstReceivedAt !== undefined) continue
      firstReceivedAt = Date.now()
      // The caller holds the stream: the provider is read no faster, so the reply ends later than it began.
      await sleep(25)
    }
    const [{ kwargs, start, end }] = handler.success
    const began = kwargs.completion_start_time!
    expect(began).toBeInstanceOf(Date)
    expect(began.getTime()).toBeGreaterThanOrEqual(before)
    expect(began.getTime()).toBeGreaterThanOrEqual(start.getTime())
    expect(began.getTime()).toBeLessThanOrEqual(firstReceivedAt!)
    expect(began.getTime()).toBeLessThan(end.getTime())
    // Every stream event (the first included) already carries it, as LiteLLM's model_call_details do.
    expect(handler.stream.length).toBeGreaterThan(2)
    for (const streamed of handler.stream) expect(streamed.completion_start_time?.getTime()).toBe(began.getTime())
    expect(kwargs.standard_logging_object!.firstChunkTime).toBe(began.getTime())
  })

  it('is absent from a failure that came before any chunk, and the first chunk’s time for a stream that failed half-way', async () => {
    fake.enqueue({ kind: 'error', status: 400, message: 'Bad request.' })
    await expect(client.chat({ model: 'openai/gpt-4o-mini', messages })).rejects.toThrow()
    expect(handler.failure).toHaveLength(1)
    expect('completion_start_time' in handler.failure[0]!).toBe(false)

    fake.enqueue({ kind: 'stream-error', afterChunks: 2, message: 'The server had an error.' })
    let firstReceivedAt: number | undefined
    await expect(async () => {
      for await (const _chunk of client.stream({ model: 'openai/gpt-4o-mini', messages })) firstReceivedAt ??= Date.now()
    }).rejects.toThrow()
    const halfWay = handler.failure[1]!
    expect(firstReceivedAt).toBeDefined()
    expect(halfWay.completion_start_time).toBeInstanceOf(Date)
    expect(halfWay.completion_start_time!.getTime()).toBeLessThanOrEqual(firstReceivedAt!)
    expect(halfWay.completion_start_time!.getTime()).toBeGreaterThanOrEqual(halfWay.start_time.getTime())
  })

  it('is stamped at the first chunk of a stream a layer answers by itself (no provider call)', async () => {
    const answered = createClient()
      .use(customLogger(handler))
      .use(async (ctx) => {
        ctx.response = { id: 'chatcmpl-own', object: 'chat.completion', created: 0, model: 'mock/own', choices: [{ index: 0, message: { role: 'assistant', content: 'from a layer' }, finish_reason: 'stop' }] }
      })
    for await (const _chunk of answered.stream({ model: 'mock/own', messages })) void _chunk
    await answered.close()
    expect(handler.stream.length).toBeGreaterThan(0)
    const began = handler.success[0]!.kwargs.completion_start_time!
    for (const streamed of handler.stream) expect(streamed.completion_start_time?.getTime()).toBe(began.getTime())
    expect(fake.requests).toHaveLength(0)
  })
})
