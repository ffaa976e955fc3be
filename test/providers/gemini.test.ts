import { describe, expect, it, vi } from 'vitest'
import {
  ContentPolicyViolationError,
  createClient,
  gemini,
  isAbortError,
  isValidationError,
  type CallEvent,
  type ChatResponse,
} from '../../src/index'
import { geminiVectorFor, startGeminiFake } from '../../src/testing/gemini-server'
import { collect, fakePerTest } from './provider-test-kit'

const messages = [{ role: 'user' as const, content: 'Say hello' }]
const model = 'gemini/gemini-2.5-flash'
const { fake, client } = fakePerTest(startGeminiFake, (started) => createClient({ providers: { gemini: gemini({ apiKey: 'gm-test', baseUrl: started.url }) } }))

/** Tool-call ids are generated per call; compare everything else. */
function withoutToolIds(response: ChatResponse) {
  return {
    ...response,
    created: 0,
    choices: response.choices.map((choice) => ({
      ...choice,
      message: { ...choice.message, tool_calls: choice.message.tool_calls?.map((call) => ({ ...call, id: 'id' })) },
    })),
  }
}

describe('gemini provider: the request Gemini receives', () => {
  it('maps roles, system messages, generation config, tools and tool results, and drops llm-onion fields', async () => {
    await client.chat({
      model,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'developer', content: 'Answer in French.' },
        { role: 'user', content: 'Weather in Paris and Rome?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_b', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_a', content: '{"celsius":21}' },
        { role: 'tool', tool_call_id: 'call_b', content: 'sunny' },
        { role: 'user', content: [{ type: 'text', text: 'And this?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0K' } }] },
      ],
      temperature: 0.3,
      top_p: 0.9,
      max_tokens: 200,
      stop: 'END',
      seed: 7,
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'Current weather',
            parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
          },
        },
        { type: 'function', function: { name: 'now', parameters: { type: 'object', properties: {} } } },
      ],
      tool_choice: 'required',
      response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object', properties: { text: { type: 'string' } } } } },
      metadata: { trace_id: 't-1' },
      tags: ['x'],
      user: 'user-1',
    })
    const received = fake.requests[0]!
    expect(received.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent')
    expect(received.headers['x-goog-api-key']).toBe('gm-test')
    expect(received.body.systemInstruction).toEqual({ role: 'system', parts: [{ text: 'Be brief.' }, { text: 'Answer in French.' }] })
    expect(received.body.contents).toEqual([
      { role: 'user', parts: [{ text: 'Weather in Paris and Rome?' }] },
      {
        role: 'model',
        parts: [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } } }, { functionCall: { name: 'get_weather', args: { city: 'Rome' } } }],
      },
      {
        role: 'user',
        parts: [
          { functionResponse: { name: 'get_weather', response: { celsius: 21 } } },
          { functionResponse: { name: 'get_weather', response: { content: 'sunny' } } },
        ],
      },
      { role: 'user', parts: [{ text: 'And this?' }, { inlineData: { mimeType: 'image/png', data: 'iVBORw0K' } }] },
    ])
    expect(received.body.generationConfig).toEqual({
      temperature: 0.3,
      topP: 0.9,
      maxOutputTokens: 200,
      stopSequences: ['END'],
      seed: 7,
      responseMimeType: 'application/json',
      responseSchema: { type: 'object', properties: { text: { type: 'string' } } },
    })
    expect(received.body.tools).toEqual([
      {
        functionDeclarations: [
          { name: 'get_weather', description: 'Current weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
          { name: 'now' },
        ],
      },
    ])
    expect(received.body.toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY' } })
    for (const field of ['metadata', 'tags', 'user', 'model', 'messages']) expect(received.body).not.toHaveProperty(field)
  })

  it('maps assistant text to the model role and a named tool_choice to allowed function names', async () => {
    await client.chat({
      model,
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello!' },
        { role: 'user', content: 'Time?' },
      ],
      tools: [{ type: 'function', function: { name: 'now' } }],
      tool_choice: { type: 'function', function: { name: 'now' } },
    })
    const body = fake.requests[0]!.body
    expect(body.contents).toEqual([
      { role: 'user', parts: [{ text: 'Hi' }] },
      { role: 'model', parts: [{ text: 'Hello!' }] },
      { role: 'user', parts: [{ text: 'Time?' }] },
    ])
    expect(body.toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['now'] } })
    expect(body).not.toHaveProperty('systemInstruction')
  })

  it('rejects a tool result whose tool_call_id matches no earlier tool call, naming the field', async () => {
    const call = client.chat({ model, messages: [{ role: 'user', content: 'x' }, { role: 'tool', tool_call_id: 'call_missing', content: '1' }] })
    await expect(call).rejects.toSatisfy((error) => isValidationError(error) && (error as { path: string }).path === 'messages[1].tool_call_id')
    expect(fake.requests).toHaveLength(0)
  })
})

describe('gemini provider: answers', () => {
  it('returns the text without thought summaries, and usage with cached and reasoning tokens', async () => {
    fake.enqueue({
      kind: 'chat',
      text: 'Bonjour',
      thought: 'The user wants a greeting.',
      usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 2, thoughtsTokenCount: 5, cachedContentTokenCount: 4, totalTokenCount: 17 },
    })
    let usage: unknown
    client.use(async (ctx, next) => {
      await next()
      usage = ctx.usage
    })
    const reply = await client.chat({ model, messages })
    expect(reply.choices[0]!.message).toEqual({ role: 'assistant', content: 'Bonjour' })
    expect(reply.choices[0]!.finish_reason).toBe('stop')
    expect(reply.usage).toEqual({
      prompt_tokens: 10,
      completion_tokens: 7,
      total_tokens: 17,
      prompt_tokens_details: { cached_tokens: 4 },
      completion_tokens_details: { reasoning_tokens: 5 },
    })
    expect(usage).toEqual({ inputTokens: 10, outputTokens: 7, totalTokens: 17, cachedInputTokens: 4, reasoningTokens: 5 })
  })

  it('returns function calls as tool_calls with generated ids and finish_reason tool_calls', async () => {
    fake.enqueue({ kind: 'chat', functionCalls: [{ name: 'get_weather', args: { city: 'Paris' } }, { name: 'get_weather', args: { city: 'Rome' } }] })
    const reply = await client.chat({ model, messages })
    const choice = reply.choices[0]!
    expect(choice.finish_reason).toBe('tool_calls')
    expect(choice.message.content).toBeNull()
    expect(choice.message.tool_calls!.map((call) => call.function)).toEqual([
      { name: 'get_weather', arguments: '{"city":"Paris"}' },
      { name: 'get_weather', arguments: '{"city":"Rome"}' },
    ])
    const ids = choice.message.tool_calls!.map((call) => call.id)
    expect(ids.every((id) => /^call_\w+$/.test(id))).toBe(true)
    expect(new Set(ids).size).toBe(2)
  })

  it.each([
    ['STOP', 'stop'],
    ['MAX_TOKENS', 'length'],
    ['SAFETY', 'content_filter'],
    ['RECITATION', 'content_filter'],
    ['PROHIBITED_CONTENT', 'content_filter'],
  ])('maps finish reason %s to %s', async (finishReason, expected) => {
    fake.enqueue({ kind: 'chat', text: 'partial', finishReason })
    const reply = await client.chat({ model, messages })
    expect(reply.choices[0]!.finish_reason).toBe(expected)
  })

  it('refuses a blocked prompt with ContentPolicyViolationError', async () => {
    fake.enqueue({ kind: 'chat', blockReason: 'SAFETY' })
    await expect(client.chat({ model, messages })).rejects.toBeInstanceOf(ContentPolicyViolationError)
  })

  it('puts provider, api base, response model and response id on the context, and never the key in the event', async () => {
    fake.enqueue({ kind: 'chat', modelVersion: 'gemini-2.5-flash-001', responseId: 'resp-42' })
    let event: CallEvent | undefined
    client.use(async (ctx, next) => {
      await next()
      event = ctx.toEvent()
    })
    await client.chat({ model: 'gemini-2.5-flash', messages })
    expect(fake.requests[0]!.model).toBe('gemini-2.5-flash')
    expect(event).toMatchObject({ provider: 'gemini', apiBase: fake.url, model: 'gemini-2.5-flash', responseModel: 'gemini-2.5-flash-001' })
    expect(event!.response!.id).toBe('resp-42')
    expect(JSON.stringify(event)).not.toContain('gm-test')
  })
})

describe('gemini provider: streams', () => {
  it('streams text piece by piece over SSE and ends with a usage chunk', async () => {
    fake.enqueue({ kind: 'chat', text: 'one two three', usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 3, totalTokenCount: 6 } })
    let usage: unknown
    client.use(async (ctx, next) => {
      await next()
      usage = ctx.usage
    })
    const chunks = await collect(client.stream({ model, messages }))
    expect(fake.requests[0]!.action).toBe('streamGenerateContent')
    expect(fake.requests[0]!.query).toBe('alt=sse')
    expect(chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('')).toBe('one two three')
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant')
    expect(chunks.filter((chunk) => chunk.choices[0]?.delta?.content).length).toBe(3)
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 } })
    expect(usage).toEqual({ inputTokens: 3, outputTokens: 3, totalTokens: 6 })
  })

  it('streams function calls as tool-call deltas with indexes and ids, finishing with tool_calls', async () => {
    fake.enqueue({ kind: 'chat', functionCalls: [{ name: 'a', args: { x: 1 } }, { name: 'b', args: {} }] })
    const chunks = await collect(client.stream({ model, messages }))
    const deltas = chunks.flatMap((chunk) => chunk.choices[0]?.delta?.tool_calls ?? [])
    expect(deltas.map((delta) => [delta.index, delta.function])).toEqual([
      [0, { name: 'a', arguments: '{"x":1}' }],
      [1, { name: 'b', arguments: '{}' }],
    ])
    expect(deltas.every((delta) => delta.id?.startsWith('call_'))).toBe(true)
    expect(chunks.map((chunk) => chunk.choices[0]?.finish_reason).filter(Boolean)).toEqual(['tool_calls'])
  })

  it.each([
    ['text', { text: 'The same words either way', thought: 'thinking' }],
    ['function calls', { functionCalls: [{ name: 'add', args: { a: 1, b: 2 } }] }],
  ])('gives the same result streamed (after assembly) and not streamed, for %s', async (_name, script) => {
    const usageMetadata = { promptTokenCount: 4, candidatesTokenCount: 5, totalTokenCount: 9 }
    fake.enqueue({ kind: 'chat', responseId: 'same', modelVersion: 'gemini-2.5-flash-001', usageMetadata, ...script })
    fake.enqueue({ kind: 'chat', responseId: 'same', modelVersion: 'gemini-2.5-flash-001', usageMetadata, ...script })
    const plain = await client.chat({ model, messages })
    const stream = client.stream({ model, messages })
    await collect(stream)
    expect(withoutToolIds(stream.context.response as ChatResponse)).toEqual(withoutToolIds(plain))
  })

  it('closes the upstream connection when the caller breaks out of the loop', async () => {
    fake.enqueue({ kind: 'cut', text: 'a long answer that keeps coming', afterEvents: 2, how: 'hold' })
    const disconnected = fake.waitForDisconnect()
    for await (const chunk of client.stream({ model, messages })) {
      if (chunk.choices[0]?.delta?.content) break
    }
    await disconnected
  })

  it('passes the caller’s abort signal to the SDK: a streamed call fails with AbortError and the request is closed', async () => {
    fake.enqueue({ kind: 'cut', text: 'a long answer that keeps coming', afterEvents: 1, how: 'hold' })
    const controller = new AbortController()
    const disconnected = fake.waitForDisconnect()
    const run = (async () => {
      for await (const _chunk of client.stream({ model, messages }, { signal: controller.signal })) controller.abort()
    })()
    await expect(run).rejects.toSatisfy(isAbortError)
    await disconnected
  })
})

describe('gemini provider: embeddings', () => {
  it('embeds one text with embedContent', async () => {
    const reply = await client.embed({ model: 'gemini/text-embedding-004', input: 'hello', dimensions: 3 })
    expect(fake.requests[0]!.path).toBe('/v1beta/models/text-embedding-004:embedContent')
    expect(fake.requests[0]!.body).toEqual({ content: { role: 'user', parts: [{ text: 'hello' }] }, outputDimensionality: 3 })
    expect(reply.data).toEqual([{ object: 'embedding', index: 0, embedding: geminiVectorFor('hello', 3) }])
    expect(reply.model).toBe('text-embedding-004')
  })

  it('embeds a batch with batchEmbedContents, in order', async () => {
    const reply = await client.embed({ model: 'text-embedding-004', input: ['a', 'bb', 'ccc'] })
    expect(fake.requests[0]!.action).toBe('batchEmbedContents')
    expect((fake.requests[0]!.body.requests as unknown[]).length).toBe(3)
    expect(reply.data.map((item) => item.embedding)).toEqual(['a', 'bb', 'ccc'].map((text) => geminiVectorFor(text, 4)))
  })

  it('rejects token arrays, which Gemini cannot embed, naming the field', async () => {
    await expect(client.embed({ model: 'gemini/text-embedding-004', input: [1, 2, 3] })).rejects.toSatisfy(
      (error) => isValidationError(error) && (error as { path: string }).path === 'input',
    )
  })
})

describe('gemini() options', () => {
  it('takes GOOGLE_API_KEY when GEMINI_API_KEY is not set, and without either says what to set', async () => {
    vi.stubEnv('GEMINI_API_KEY', '')
    vi.stubEnv('GOOGLE_API_KEY', 'google-key')
    try {
      const fromGoogle = createClient({ providers: { gemini: gemini({ baseUrl: fake.url }) } })
      await fromGoogle.chat({ model, messages })
      await fromGoogle.close()
      expect(fake.requests[0]!.headers['x-goog-api-key']).toBe('google-key')
      vi.stubEnv('GOOGLE_API_KEY', '')
      expect(() => gemini()).toThrow(/GEMINI_API_KEY.*GOOGLE_API_KEY.*gemini\(\{ apiKey \}\)/)
    } finally {
      vi.unstubAllEnvs()
    }
  })

  it('rejects a wrong option naming the field', () => {
    expect(() => gemini({ apiKey: 'k', baseUrl: 'nope' })).toThrow(/gemini\(\) options: baseUrl/)
  })
})
