import { describe, expect, it, vi } from 'vitest'
import {
  ChunkAssembler,
  createClient,
  isAbortError,
  isTimeoutError,
  isValidationError,
  openai,
  type CallEvent,
  type ChatResponse,
  type Context,
} from '../../src/index'
import { timeout } from '../../middleware/timeout'
import { startOpenAIFake, vectorFor } from '../../src/testing/openai-server'
import { collect, fakePerTest, transports } from './provider-test-kit'

const messages = [{ role: 'user' as const, content: 'Say hello' }]

/** The parts of a chat completion a caller reads, whatever extra fields the API added. */
function essentials(response: ChatResponse) {
  return {
    id: response.id,
    model: response.model,
    choices: response.choices.map((choice) => ({
      index: choice.index,
      content: choice.message.content,
      tool_calls: choice.message.tool_calls,
      finish_reason: choice.finish_reason,
    })),
    usage: response.usage,
  }
}

// Every behaviour holds for both transports: the official SDK (the default) and undici ('http').
describe.each(transports)('openai provider over the %s transport', (transport) => {
  const { fake, client } = fakePerTest(startOpenAIFake, (started) => createClient({ providers: { openai: openai({ apiKey: 'sk-test', baseURL: started.url, transport }) } }))

  describe('chat', () => {
    it('never sends the request’s api_key upstream as a body field, for chat, stream and embeddings', async () => {
      await client.chat({ model: 'openai/gpt-4o-mini', messages, api_key: 'sk-request-key-123456' })
      for await (const _chunk of client.stream({ model: 'openai/gpt-4o-mini', messages, api_key: 'sk-request-key-123456' })) void _chunk
      await client.embed({ model: 'openai/text-embedding-3-small', input: ['a'], api_key: 'sk-request-key-123456' } as never)
      expect(fake.requests).toHaveLength(3)
      for (const received of fake.requests) expect(JSON.stringify(received.body)).not.toContain('sk-request-key-123456')
    })

    it('answers a chat call and sends the API only OpenAI fields, with the key as a bearer token', async () => {
      fake.enqueue({ kind: 'chat', content: 'Hello there', model: 'gpt-4o-mini-2024-07-18' })
      const reply = await client.chat({
        model: 'openai/gpt-4o-mini',
        messages,
        temperature: 0.2,
        user: 'user-7',
        response_format: { type: 'json_object' },
        metadata: { trace_id: 'trace-1' },
        tags: ['demo'],
        mock_response: 'never sent',
      })
      expect(reply.choices[0]!.message.content).toBe('Hello there')
      expect(reply.choices[0]!.finish_reason).toBe('stop')
      const received = fake.requests[0]!
      expect(received.path).toBe('/v1/chat/completions')
      expect(received.headers.authorization).toBe('Bearer sk-test')
      expect(received.body).toEqual({
        model: 'gpt-4o-mini',
        messages,
        temperature: 0.2,
        user: 'user-7',
        response_format: { type: 'json_object' },
      })
    })

    it('sends tools and returns the tool calls with finish_reason tool_calls', async () => {
      const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }]
      fake.enqueue({ kind: 'chat', toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }] })
      const reply = await client.chat({ model: 'openai/gpt-4o-mini', messages, tools, tool_choice: 'auto' })
      expect(fake.requests[0]!.body.tools).toEqual(tools)
      expect(fake.requests[0]!.body.tool_choice).toBe('auto')
      expect(reply.choices[0]!.message.tool_calls).toEqual([{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }])
      expect(reply.choices[0]!.finish_reason).toBe('tool_calls')
    })

    it('puts provider, api base, response model, response id and usage on the context for the event', async () => {
      fake.enqueue({ kind: 'chat', model: 'gpt-4o-mini-2024-07-18', id: 'chatcmpl-abc', usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12, prompt_tokens_details: { cached_tokens: 4 } } })
      let event: CallEvent | undefined
      client.use(async (ctx, next) => {
        await next()
        event = ctx.toEvent()
      })
      await client.chat({ model: 'openai/gpt-4o-mini', messages })
      expect(event).toMatchObject({
        status: 'success',
        model: 'openai/gpt-4o-mini',
        provider: 'openai',
        apiBase: fake.url,
        responseModel: 'gpt-4o-mini-2024-07-18',
        usage: { inputTokens: 9, outputTokens: 3, totalTokens: 12, cachedInputTokens: 4 },
      })
      expect(event!.response!.id).toBe('chatcmpl-abc')
    })

    it('never puts the API key in the event', async () => {
      let serialized = ''
      client.use(async (ctx, next) => {
        await next()
        serialized = JSON.stringify(ctx.toEvent())
      })
      await client.chat({ model: 'openai/gpt-4o-mini', messages })
      expect(serialized).toContain('openai')
      expect(serialized).not.toContain('sk-test')
    })

    it('routes a bare gpt- model name to openai, and a custom provider name shows in the context', async () => {
      await client.chat({ model: 'gpt-4o-mini', messages })
      expect(fake.requests[0]!.body.model).toBe('gpt-4o-mini')

      const local = createClient({ providers: { ollama: openai({ name: 'ollama', apiKey: 'ollama', baseURL: fake.url, transport }) } })
      let provider: string | undefined
      local.use(async (ctx, next) => {
        await next()
        provider = ctx.provider
      })
      await local.chat({ model: 'ollama/llama3.2', messages })
      await local.close()
      expect(fake.requests[1]!.body.model).toBe('llama3.2')
      expect(provider).toBe('ollama')
    })
  })

  describe('streams', () => {
    it('streams the reply word by word, asks for usage in the stream and fills ctx.usage from the final chunk', async () => {
      fake.enqueue({ kind: 'chat', content: 'one two three', usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } })
      let usage: unknown
      client.use(async (ctx, next) => {
        await next()
        usage = ctx.usage
      })
      const chunks = await collect(client.stream({ model: 'openai/gpt-4o-mini', messages }))
      expect(chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('')).toBe('one two three')
      expect(chunks.filter((chunk) => chunk.choices[0]?.delta?.content).length).toBe(3)
      expect(chunks.at(-1)!.usage).toEqual({ prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 })
      expect(fake.requests[0]!.body.stream).toBe(true)
      expect(fake.requests[0]!.body.stream_options).toEqual({ include_usage: true })
      expect(usage).toEqual({ inputTokens: 5, outputTokens: 3, totalTokens: 8 })
    })

    it('delivers tool-call deltas that assemble into the complete tool calls', async () => {
      fake.enqueue({ kind: 'chat', toolCalls: [{ id: 'call_9', name: 'lookup', arguments: '{"query":"weather in Paris"}' }] })
      const chunks = await collect(client.stream({ model: 'openai/gpt-4o-mini', messages }))
      const deltas = chunks.flatMap((chunk) => chunk.choices[0]?.delta?.tool_calls ?? [])
      expect(deltas.length).toBeGreaterThan(2)
      const assembler = new ChunkAssembler()
      chunks.forEach((chunk) => assembler.add(chunk))
      const message = assembler.response().choices[0]!
      expect(message.message.tool_calls).toEqual([{ id: 'call_9', type: 'function', function: { name: 'lookup', arguments: '{"query":"weather in Paris"}' } }])
      expect(message.finish_reason).toBe('tool_calls')
    })

    it.each([
      ['text', { content: 'The same words either way' }],
      ['tool calls', { toolCalls: [{ id: 'call_2', name: 'add', arguments: '{"a":1,"b":2}' }] }],
    ])('gives the same result streamed (after assembly) and not streamed, for %s', async (_name, script) => {
      const usage = { prompt_tokens: 4, completion_tokens: 5, total_tokens: 9 }
      fake.enqueue({ kind: 'chat', id: 'chatcmpl-same', model: 'gpt-4o-mini-2024-07-18', usage, ...script })
      fake.enqueue({ kind: 'chat', id: 'chatcmpl-same', model: 'gpt-4o-mini-2024-07-18', usage, ...script })
      const plain = await client.chat({ model: 'openai/gpt-4o-mini', messages })
      const stream = client.stream({ model: 'openai/gpt-4o-mini', messages })
      await collect(stream)
      expect(essentials(stream.context.response as ChatResponse)).toEqual(essentials(plain))
    })

    it('closes the upstream connection when the caller breaks out of the loop', async () => {
      fake.enqueue({ kind: 'cut', content: 'a long answer that keeps coming', afterChunks: 3, how: 'hold' })
      const disconnected = fake.waitForDisconnect()
      let outcome: unknown
      client.use(async (_ctx, next) => {
        try {
          await next()
        } catch (error) {
          outcome = error
          throw error
        }
      })
      for await (const chunk of client.stream({ model: 'openai/gpt-4o-mini', messages })) {
        if (chunk.choices[0]?.delta?.content) break
      }
      await disconnected
      expect(isAbortError(outcome)).toBe(true)
    })

    it('passes the caller’s abort signal on: the upstream request is closed and the call fails with AbortError', async () => {
      fake.enqueue({ kind: 'hang' })
      const controller = new AbortController()
      const disconnected = fake.waitForDisconnect()
      const call = client.chat({ model: 'openai/gpt-4o-mini', messages }, { signal: controller.signal })
      await fake.waitForRequests(1)
      controller.abort()
      await expect(call).rejects.toSatisfy(isAbortError)
      await disconnected
    })
    it('closes the upstream request when a timeout layer inside the call fires, and the call fails with TimeoutError', async () => {
      fake.enqueue({ kind: 'hang' })
      const disconnected = fake.waitForDisconnect()
      client.use(timeout({ ms: 50 }))
      await expect(client.chat({ model: 'openai/gpt-4o-mini', messages })).rejects.toSatisfy(isTimeoutError)
      await disconnected
    })
  })

  describe('embeddings', () => {
    it('embeds a batch of texts and the caller gets floats (the SDK asks for base64 and decodes it; http asks for floats)', async () => {
      const reply = await client.embed({ model: 'openai/text-embedding-3-small', input: ['alpha', 'be'], dimensions: 3, metadata: { a: 1 } })
      expect(fake.requests[0]!.path).toBe('/v1/embeddings')
      const asked = transport === 'sdk' ? { encoding_format: 'base64' } : {}
      expect(fake.requests[0]!.body).toEqual({ model: 'text-embedding-3-small', input: ['alpha', 'be'], dimensions: 3, ...asked })
      expect(reply.data.map((item) => item.embedding)).toEqual([vectorFor('alpha', 3), vectorFor('be', 3)])
      expect(reply.usage).toEqual({ prompt_tokens: 2, total_tokens: 2 })
    })

    it('returns the base64 strings as they came when the request asks for encoding_format base64', async () => {
      const reply = await client.embed({ model: 'openai/text-embedding-3-small', input: ['alpha'], dimensions: 2, encoding_format: 'base64' })
      expect(fake.requests[0]!.body.encoding_format).toBe('base64')
      expect(reply.data[0]!.embedding).toBe(Buffer.from(new Float32Array(vectorFor('alpha', 2)).buffer).toString('base64'))
    })

    it('routes a bare text-embedding-3 name to openai and returns the usage on the context', async () => {
      let usage: unknown
      client.use(async (ctx: Context, next) => {
        await next()
        usage = ctx.usage
      })
      await client.embed({ model: 'text-embedding-3-small', input: 'one two three' })
      expect(fake.requests[0]!.body.model).toBe('text-embedding-3-small')
      expect(usage).toEqual({ inputTokens: 3, outputTokens: 0, totalTokens: 3 })
    })
  })
})

describe('openai() options', () => {
  it('rejects a wrong option naming the field', () => {
    expect(() => openai({ apiKey: 'sk-test', baseURL: 'not a url' })).toThrow(/openai\(\) options: baseURL/)
  })

  it('without a key, says to set OPENAI_API_KEY or pass apiKey', () => {
    vi.stubEnv('OPENAI_API_KEY', '')
    try {
      let thrown: unknown
      try {
        openai()
      } catch (error) {
        thrown = error
      }
      expect(isValidationError(thrown)).toBe(true)
      expect((thrown as Error).message).toMatch(/OPENAI_API_KEY.*openai\(\{ apiKey \}\)/)
    } finally {
      vi.unstubAllEnvs()
    }
  })
})
