import { afterEach, describe, expect, it } from 'vitest'
import { createClient, type Client } from '../../src/index'
import { asMiddleware } from '../../middleware/callbacks'
import { customLogger, CustomLogger, HTTPException, type HookCache, type HookRequestData, type LoggerKwargs, type LoggerResponse, type UserApiKeyAuth } from '../../middleware/custom-logger'
import { mock } from '../../src/providers/mock/provider'
import type { ChatChunk, ChatResponse } from '../../src/schema'
import type { Provider } from '../../src/types'

const messages = [{ role: 'user' as const, content: 'hello hooks' }]
let client: Client | undefined
afterEach(async () => {
  await client?.close()
  client = undefined
})

function newClient(handler: object, providers?: Record<string, Provider>) {
  const hookErrors: string[] = []
  client = createClient({ providers, onHookError: (error, hook) => hookErrors.push(`${hook}: ${(error as Error).message}`) })
  client.use(customLogger(handler))
  return { client, hookErrors }
}

/** A provider whose calls never answer until aborted; records what it saw. */
function hangingProvider() {
  const seen = { calls: 0, aborted: 0 }
  const wait = (signal: AbortSignal) =>
    new Promise<never>((_resolve, reject) => {
      seen.calls++
      signal.addEventListener('abort', () => {
        seen.aborted++
        reject(signal.reason)
      })
    })
  const provider: Provider = {
    name: 'hanging',
    chat: (_request, call) => wait(call.signal),
    async *stream(_request, call) {
      yield* [] as ChatChunk[]
      await wait(call.signal)
    },
    embed: (_request, call) => wait(call.signal),
  }
  return { provider, seen }
}

describe('customLogger proxy hooks (LiteLLM async_*_hook, camelCased)', () => {
  it('a pre-call hook changes the request the provider gets', async () => {
    class Rewriter extends CustomLogger {
      override async asyncPreCallHook(_auth: UserApiKeyAuth, _cache: HookCache, data: HookRequestData) {
        return { ...data, mock_response: `rewritten for ${data.litellm_call_id.length > 0 ? 'a call' : 'nothing'}` }
      }
    }
    const { client } = newClient(new Rewriter())
    const reply = await client.chat({ model: 'mock/x', messages })
    expect(reply.choices[0]!.message.content).toBe('rewritten for a call')
  })

  it('a pre-call hook that throws an HTTPException rejects the call with its status and detail, and the failure hook sees it', async () => {
    const failures: string[] = []
    class Blocker extends CustomLogger {
      override async asyncPreCallHook() {
        throw new HTTPException({ status_code: 403, detail: 'Blocked by policy.' })
      }
      override async asyncPostCallFailureHook(_data: HookRequestData, error: Error) {
        failures.push(error.message)
      }
    }
    const { client } = newClient(new Blocker())
    const error = await client.chat({ model: 'mock/x', messages }).catch((thrown: unknown) => thrown as { status: number; message: string })
    expect(error).toMatchObject({ status: 403, message: 'Blocked by policy.' })
    expect(failures).toEqual(['Blocked by policy.'])
  })

  it('a pre-call hook that throws a plain Error rejects with 500, as LiteLLM answers', async () => {
    const { client } = newClient({ asyncPreCallHook: () => Promise.reject(new Error('no')) })
    await expect(client.chat({ model: 'mock/x', messages })).rejects.toMatchObject({ status: 500, message: 'no' })
  })

  it('a pre-call hook that returns a string answers the chat call with it, without calling the model', async () => {
    const { provider, seen } = hangingProvider()
    const { client } = newClient({ asyncPreCallHook: () => 'I cannot help with that.' }, { hanging: provider })
    const reply = await client.chat({ model: 'hanging/x', messages })
    expect(reply.choices[0]!.message.content).toBe('I cannot help with that.')
    expect(seen.calls).toBe(0)
  })

  it('a moderation rejection cancels the provider call beside it and fails the call with its status', async () => {
    const { provider, seen } = hangingProvider()
    class Moderator extends CustomLogger {
      override async asyncModerationHook(data: HookRequestData) {
        if (JSON.stringify(data.messages).includes('hooks')) throw new HTTPException({ status_code: 400, detail: 'Flagged by moderation.' })
      }
    }
    const { client } = newClient(new Moderator(), { hanging: provider })
    await expect(client.chat({ model: 'hanging/x', messages })).rejects.toMatchObject({ status: 400, message: 'Flagged by moderation.' })
    expect(seen).toEqual({ calls: 1, aborted: 1 })
  })

  it('a moderation rejection of a stream arrives before any chunk and cancels the provider stream', async () => {
    const { provider, seen } = hangingProvider()
    const { client } = newClient({ asyncModerationHook: async () => Promise.reject(new HTTPException({ status_code: 400, detail: 'Flagged.' })) }, { hanging: provider })
    const chunks: ChatChunk[] = []
    const reading = (async () => {
      for await (const chunk of client.stream({ model: 'hanging/x', messages })) chunks.push(chunk)
    })()
    await expect(reading).rejects.toMatchObject({ status: 400, message: 'Flagged.' })
    expect(chunks).toEqual([])
    expect(seen.aborted).toBe(1)
  })

  it('a moderation hook that passes lets the reply through', async () => {
    const { client } = newClient({ asyncModerationHook: async () => undefined })
    const reply = await client.chat({ model: 'mock/x', messages, mock_response: 'fine' })
    expect(reply.choices[0]!.message.content).toBe('fine')
  })

  it('the post-call success hook replaces the reply, and the log success hook sees the replaced one', async () => {
    const logged: string[] = []
    class Editor extends CustomLogger {
      override async asyncPostCallSuccessHook(_data: HookRequestData, _auth: UserApiKeyAuth, response: LoggerResponse) {
        const chat = response as ChatResponse
        return { ...chat, choices: [{ ...chat.choices[0]!, message: { role: 'assistant' as const, content: chat.choices[0]!.message.content!.toUpperCase() } }] }
      }
      override async asyncLogSuccessEvent(_kwargs: LoggerKwargs, response: LoggerResponse) {
        logged.push(String((response as ChatResponse).choices[0]!.message.content))
      }
    }
    const { client } = newClient(new Editor())
    const reply = await client.chat({ model: 'mock/x', messages, mock_response: 'quiet words' })
    expect(reply.choices[0]!.message.content).toBe('QUIET WORDS')
    await client.flush()
    expect(logged).toEqual(['QUIET WORDS'])
  })

  it('the streaming hook sees the text so far and may replace each chunk', async () => {
    const seenText: string[] = []
    class Censor extends CustomLogger {
      override async asyncPostCallStreamingHook(_auth: UserApiKeyAuth, response: string, chunk: ChatChunk) {
        seenText.push(response)
        const content = chunk.choices[0]?.delta?.content
        if (content?.includes('secret')) return { ...chunk, choices: [{ ...chunk.choices[0]!, delta: { content: content.replace('secret', '******') } }] }
        return chunk
      }
    }
    const { client } = newClient(new Censor())
    let text = ''
    for await (const chunk of client.stream({ model: 'mock/x', messages, mock_response: 'the secret word' })) text += chunk.choices[0]?.delta?.content ?? ''
    expect(text).toBe('the ****** word')
    expect(seenText.at(-1)).toBe('the secret word')
  })

  it('the streaming iterator hook wraps the stream: it may buffer, drop and add chunks', async () => {
    class Shouter extends CustomLogger {
      override async *asyncPostCallStreamingIteratorHook(_auth: UserApiKeyAuth, response: AsyncIterable<ChatChunk>) {
        let text = ''
        let last: ChatChunk | undefined
        for await (const chunk of response) {
          text += chunk.choices[0]?.delta?.content ?? ''
          last = chunk
        }
        yield { ...last!, choices: [{ index: 0, delta: { role: 'assistant' as const, content: text.toUpperCase() }, finish_reason: null }] }
        yield { ...last!, choices: [{ index: 0, delta: { content: '!' }, finish_reason: 'stop' }] }
      }
    }
    const { client } = newClient(new Shouter())
    const contents: string[] = []
    for await (const chunk of client.stream({ model: 'mock/x', messages, mock_response: 'one two three' })) contents.push(chunk.choices[0]?.delta?.content ?? '')
    expect(contents).toEqual(['ONE TWO THREE', '!'])
  })

  it('a handler with only proxy hooks is a layer, through customLogger() and asMiddleware()', async () => {
    class OnlyPreCall extends CustomLogger {
      override asyncPreCallHook(_auth: UserApiKeyAuth, _cache: HookCache, data: HookRequestData) {
        data.mock_response = 'changed in place'
        return Promise.resolve(undefined)
      }
    }
    client = createClient()
    client.use(asMiddleware(new OnlyPreCall(), 'litellm_settings.callbacks[0]'))
    const reply = await client.chat({ model: 'mock/x', messages })
    expect(reply.choices[0]!.message.content).toBe('changed in place')
  })

  it("a handler with LiteLLM's snake_case proxy hook names is told to rename them", () => {
    expect(() => customLogger({ async_pre_call_hook: () => undefined })).toThrow(/rename them to asyncPreCallHook/)
  })

  it('the cache is shared by the calls of one handler', async () => {
    class Counter extends CustomLogger {
      override async asyncPreCallHook(_auth: UserApiKeyAuth, cache: HookCache, data: HookRequestData) {
        const count = Number((await cache.asyncGetCache('count')) ?? 0) + 1
        await cache.asyncSetCache('count', count)
        return { ...data, mock_response: `call ${count}` }
      }
    }
    const { client } = newClient(new Counter(), { mock: mock() })
    await client.chat({ model: 'mock/x', messages })
    const second = await client.chat({ model: 'mock/x', messages })
    expect(second.choices[0]!.message.content).toBe('call 2')
  })
})
