/**
 * The `anthropic/` provider on the real `@anthropic-ai/sdk`, pointed at a local fake of Anthropic's
 * Messages API: what Anthropic receives, what comes back (text, tool calls, usage with cache reads
 * and writes, stop reasons), streams, cost from the price data, and the options and variables.
 */
import { calcPrice, extractUsage, findProvider } from '@pydantic/genai-prices'
import { describe, expect, it } from 'vitest'
import { anthropic, createClient, isAbortError, isValidationError, type CallEvent, type ChatResponse } from '../../src/index'
import { genAiAttributes } from '../../src/integrations/otel/attributes'
import { defaultProviders } from '../../src/providers/defaults'
import { startAnthropicFake } from '../../src/testing/anthropic-server'
import { collect, fakePerTest } from './provider-test-kit'

const messages = [{ role: 'user' as const, content: 'Say hello' }]
const model = 'anthropic/claude-sonnet-4-5'
const { fake, client } = fakePerTest(startAnthropicFake, (started) => createClient({ providers: { anthropic: anthropic({ apiKey: 'sk-ant-test', apiBase: started.url }, {}) } }))

/** The ValidationError path a call is refused with. */
const refusedAt = (path: string) => (error: unknown) => isValidationError(error) && (error as { path: string }).path === path

describe('anthropic provider: the request Anthropic receives', () => {
  it('maps system prompts, a multi-turn conversation with tool calls, tool results and images, and the parameters', async () => {
    await client.chat({
      model,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'developer', content: 'Answer in French.' },
        { role: 'user', content: 'Weather in Paris and Rome?' },
        {
          role: 'assistant',
          content: 'Let me look.',
          tool_calls: [
            { id: 'toolu_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'toolu_b', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'toolu_a', content: '{"celsius":21}' },
        { role: 'tool', tool_call_id: 'toolu_b', content: 'sunny' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'And these?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0K' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
          ],
        },
      ],
      temperature: 0.3,
      top_p: 0.9,
      stop: 'END',
      user: 'user-1',
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'Current weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }],
      tool_choice: 'required',
      parallel_tool_calls: false,
      response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object', properties: { text: { type: 'string' } } } } },
      metadata: { trace_id: 't-1' },
      tags: ['x'],
    })
    const received = fake.requests[0]!
    expect(received.method).toBe('POST')
    expect(received.path).toBe('/v1/messages')
    expect(received.headers.authorization).toBe('Bearer sk-ant-test')
    expect(received.headers['anthropic-version']).toBeTruthy()
    expect(received.body).toEqual({
      model: 'claude-sonnet-4-5',
      max_tokens: 4096,
      system: [
        { type: 'text', text: 'Be brief.' },
        { type: 'text', text: 'Answer in French.' },
      ],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Weather in Paris and Rome?' }] },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Let me look.' },
            { type: 'tool_use', id: 'toolu_a', name: 'get_weather', input: { city: 'Paris' } },
            { type: 'tool_use', id: 'toolu_b', name: 'get_weather', input: { city: 'Rome' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_a', content: '{"celsius":21}' },
            { type: 'tool_result', tool_use_id: 'toolu_b', content: 'sunny' },
            { type: 'text', text: 'And these?' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0K' } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
          ],
        },
      ],
      temperature: 0.3,
      top_p: 0.9,
      stop_sequences: ['END'],
      metadata: { user_id: 'user-1' },
      tools: [{ name: 'get_weather', description: 'Current weather', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      output_config: { format: { type: 'json_schema', schema: { type: 'object', properties: { text: { type: 'string' } } } } },
    })
  })

  it.each([
    ['auto', { type: 'auto' }],
    ['none', { type: 'none' }],
    [{ type: 'function', function: { name: 'now' } }, { type: 'tool', name: 'now' }],
  ])('maps tool_choice %j to %j', async (choice, expected) => {
    await client.chat({ model, messages, tools: [{ type: 'function', function: { name: 'now' } }], tool_choice: choice })
    expect(fake.requests[0]!.body.tool_choice).toEqual(expected)
    expect(fake.requests[0]!.body.tools).toEqual([{ name: 'now', input_schema: { type: 'object', properties: {} } }])
  })

  it('sends max_completion_tokens, else max_tokens, as max_tokens; reasoning_effort as output_config.effort; a message’s cache_control on its last block', async () => {
    await client.chat({ model, messages, max_tokens: 100, max_completion_tokens: 200 })
    await client.chat({ model, messages, max_tokens: 100, reasoning_effort: 'minimal' })
    await client.chat({ model, messages: [{ role: 'system', content: 'A long, cached preamble.', cache_control: { type: 'ephemeral' } }, ...messages] })
    expect(fake.requests.map((request) => request.body.max_tokens)).toEqual([200, 100, 4096])
    expect(fake.requests[1]!.body.output_config).toEqual({ effort: 'low' })
    expect(fake.requests[2]!.body.system).toEqual([{ type: 'text', text: 'A long, cached preamble.', cache_control: { type: 'ephemeral' } }])
  })

  it('leaves out a user id that is an email address, which Anthropic refuses', async () => {
    await client.chat({ model, messages, user: 'someone@example.com' })
    expect(fake.requests[0]!.body).not.toHaveProperty('metadata')
  })

  it.each([
    ['n above 1', { n: 2 }, 'n'],
    ['json_object, which needs a schema for Anthropic', { response_format: { type: 'json_object' } }, 'response_format.type'],
  ])('refuses %s naming the field, before sending anything', async (_name, extra, path) => {
    await expect(client.chat({ model, messages, ...extra })).rejects.toSatisfy(refusedAt(path))
    expect(fake.requests).toHaveLength(0)
  })

  it('refuses tool-call arguments that are not a JSON object, and content parts Anthropic cannot take, naming the field', async () => {
    const badArguments = [
      { role: 'user' as const, content: 'x' },
      { role: 'assistant' as const, content: null, tool_calls: [{ id: 'a', type: 'function' as const, function: { name: 'f', arguments: '[1]' } }] },
    ]
    await expect(client.chat({ model, messages: badArguments })).rejects.toSatisfy(refusedAt('messages[1].tool_calls[0].function.arguments'))
    await expect(client.chat({ model, messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: {} }] }] })).rejects.toSatisfy(refusedAt('messages[0].content[0].type'))
    expect(fake.requests).toHaveLength(0)
  })
})

describe('anthropic provider: answers', () => {
  it('returns the text without thinking, and usage with cache reads and writes counted in prompt_tokens, as LiteLLM counts them', async () => {
    fake.enqueue({
      kind: 'message',
      text: 'Bonjour',
      thinking: 'The user wants a greeting.',
      usage: { input_tokens: 10, cache_read_input_tokens: 80, cache_creation_input_tokens: 20, output_tokens: 4 },
    })
    let usage: unknown
    client.use(async (ctx, next) => {
      await next()
      usage = ctx.usage
    })
    const reply = await client.chat({ model, messages })
    expect(reply.choices[0]).toEqual({ index: 0, message: { role: 'assistant', content: 'Bonjour' }, finish_reason: 'stop' })
    expect(reply.usage).toEqual({
      prompt_tokens: 110,
      completion_tokens: 4,
      total_tokens: 114,
      prompt_tokens_details: { cached_tokens: 80, cache_creation_tokens: 20 },
      cache_read_input_tokens: 80,
      cache_creation_input_tokens: 20,
    })
    expect(usage).toEqual({ inputTokens: 110, outputTokens: 4, totalTokens: 114, cachedInputTokens: 80, cacheCreationInputTokens: 20 })
  })

  it('returns tool_use blocks as tool_calls with Anthropic’s ids and finish_reason tool_calls', async () => {
    fake.enqueue({ kind: 'message', toolUses: [{ id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } }, { id: 'toolu_2', name: 'now', input: {} }] })
    const choice = (await client.chat({ model, messages })).choices[0]!
    expect(choice.finish_reason).toBe('tool_calls')
    expect(choice.message).toEqual({
      role: 'assistant',
      content: null,
      tool_calls: [
        { id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        { id: 'toolu_2', type: 'function', function: { name: 'now', arguments: '{}' } },
      ],
    })
  })

  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['tool_use', 'tool_calls'],
    ['refusal', 'content_filter'],
    ['pause_turn', 'stop'],
    ['model_context_window_exceeded', 'length'],
  ])('maps stop reason %s to finish reason %s', async (stopReason, expected) => {
    fake.enqueue({ kind: 'message', text: 'partial', stopReason })
    expect((await client.chat({ model, messages })).choices[0]!.finish_reason).toBe(expected)
  })

  it('puts provider, api base, response model and message id on the context, and never the key in the event', async () => {
    fake.enqueue({ kind: 'message', id: 'msg_42', model: 'claude-sonnet-4-5-20250929' })
    let event: CallEvent | undefined
    client.use(async (ctx, next) => {
      await next()
      event = ctx.toEvent()
    })
    await client.chat({ model: 'claude-sonnet-4-5', messages })
    expect(fake.requests[0]!.body.model).toBe('claude-sonnet-4-5')
    expect(event).toMatchObject({ provider: 'anthropic', apiBase: fake.url, model: 'claude-sonnet-4-5', responseModel: 'claude-sonnet-4-5-20250929' })
    expect(event!.response!.id).toBe('msg_42')
    expect(JSON.stringify(event)).not.toContain('sk-ant-test')
  })

  it('names the call and its cache tokens in OpenTelemetry’s GenAI attributes', async () => {
    fake.enqueue({ kind: 'message', text: 'ok', usage: { input_tokens: 10, cache_read_input_tokens: 80, cache_creation_input_tokens: 20, output_tokens: 2 } })
    let event: CallEvent | undefined
    client.use(async (ctx, next) => {
      await next()
      event = ctx.toEvent()
    })
    await client.chat({ model, messages })
    expect(genAiAttributes(event!, { captureContent: false })).toMatchObject({
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.request.model': 'claude-sonnet-4-5',
      'gen_ai.usage.input_tokens': 110,
      'gen_ai.usage.cache_read.input_tokens': 80,
      'gen_ai.usage.cache_creation.input_tokens': 20,
      'gen_ai.usage.output_tokens': 2,
    })
  })

  it('prices a claude model from the price data, cache reads and writes included, as genai-prices prices Anthropic’s own usage block', async () => {
    const usage = { input_tokens: 1000, cache_read_input_tokens: 8000, cache_creation_input_tokens: 2000, output_tokens: 500 }
    fake.enqueue({ kind: 'message', text: 'cached', usage })
    let cost: { input: number; output: number; total: number } | undefined
    client.use(async (ctx, next) => {
      await next()
      cost = ctx.cost
    })
    await client.chat({ model, messages })
    const anthropicPrices = findProvider({ providerId: 'anthropic' })!
    const expected = calcPrice(extractUsage(anthropicPrices, { model: 'claude-sonnet-4-5', usage }).usage, 'claude-sonnet-4-5', { provider: anthropicPrices })!
    expect(cost!.input).toBeCloseTo(expected.input_price, 12)
    expect(cost!.output).toBeCloseTo(expected.output_price, 12)
    // The cache reads are cheaper and the writes dearer than plain input: the rates were applied, not the input rate to all.
    expect(cost!.input).not.toBeCloseTo((11_000 * 3) / 1e6, 6)
  })

  it('refuses embeddings, which Anthropic does not serve, saying so', async () => {
    await expect(client.embed({ model: 'anthropic/claude-sonnet-4-5', input: 'x' })).rejects.toThrow(/no embeddings API/)
  })
})

describe('anthropic provider: streams', () => {
  it('maps the SSE events to chunks: role first, text deltas, the finish reason, then usage with cache tokens', async () => {
    fake.enqueue({ kind: 'message', text: 'one two three', thinking: 'hmm', usage: { input_tokens: 3, cache_read_input_tokens: 6, output_tokens: 3 } })
    let usage: unknown
    client.use(async (ctx, next) => {
      await next()
      usage = ctx.usage
    })
    const chunks = await collect(client.stream({ model, messages }))
    expect(fake.requests[0]!.body.stream).toBe(true)
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: 'assistant', content: '' })
    expect(chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('')).toBe('one two three')
    expect(chunks.filter((chunk) => chunk.choices[0]?.delta?.content).length).toBe(3)
    expect(chunks.map((chunk) => chunk.choices[0]?.finish_reason).filter(Boolean)).toEqual(['stop'])
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12, prompt_tokens_details: { cached_tokens: 6 } } })
    expect(usage).toMatchObject({ inputTokens: 9, outputTokens: 3, cachedInputTokens: 6 })
  })

  it('streams tool_use blocks as tool-call deltas: id and name first, then the input JSON in pieces', async () => {
    fake.enqueue({ kind: 'message', text: 'Checking.', toolUses: [{ id: 'toolu_a', name: 'a', input: { city: 'Paris', days: 3 } }, { id: 'toolu_b', name: 'b', input: {} }] })
    const chunks = await collect(client.stream({ model, messages }))
    const deltas = chunks.flatMap((chunk) => chunk.choices[0]?.delta?.tool_calls ?? [])
    expect(deltas.filter((delta) => delta.id).map((delta) => [delta.index, delta.id, delta.function?.name])).toEqual([
      [0, 'toolu_a', 'a'],
      [1, 'toolu_b', 'b'],
    ])
    expect(deltas.filter((delta) => delta.index === 0 && !delta.id).length).toBeGreaterThan(1)
    const argumentsOf = (index: number) => deltas.filter((delta) => delta.index === index).map((delta) => delta.function?.arguments ?? '').join('')
    expect(JSON.parse(argumentsOf(0))).toEqual({ city: 'Paris', days: 3 })
    expect(JSON.parse(argumentsOf(1))).toEqual({})
    expect(chunks.map((chunk) => chunk.choices[0]?.finish_reason).filter(Boolean)).toEqual(['tool_calls'])
  })

  it.each([
    ['text', { text: 'The same words either way', thinking: 'thinking' }],
    ['tool calls', { text: 'Adding.', toolUses: [{ id: 'toolu_add', name: 'add', input: { a: 1, b: 2 } }] }],
  ])('gives the same result streamed (after assembly) and not streamed, for %s', async (_name, script) => {
    const usage = { input_tokens: 4, cache_creation_input_tokens: 2, output_tokens: 5 }
    fake.enqueue({ kind: 'message', id: 'msg_same', usage, ...script }, { kind: 'message', id: 'msg_same', usage, ...script })
    const plain = await client.chat({ model, messages })
    const stream = client.stream({ model, messages })
    await collect(stream)
    expect({ ...(stream.context.response as ChatResponse), created: 0 }).toEqual({ ...plain, created: 0 })
  })

  it('closes the upstream connection when the caller breaks out of the loop', async () => {
    fake.enqueue({ kind: 'cut', text: 'a long answer that keeps coming', afterEvents: 5, how: 'hold' })
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

describe('anthropic() options and variables', () => {
  it('reads ANTHROPIC_API_KEY, then ANTHROPIC_AUTH_TOKEN, and ANTHROPIC_API_BASE, then ANTHROPIC_BASE_URL, as LiteLLM does', async () => {
    const fromKey = createClient({ providers: { anthropic: anthropic({}, { ANTHROPIC_API_KEY: 'sk-ant-env', ANTHROPIC_API_BASE: fake.url, ANTHROPIC_BASE_URL: 'http://127.0.0.1:9' }) } })
    const fromToken = createClient({ providers: { anthropic: anthropic({}, { ANTHROPIC_AUTH_TOKEN: 'token-env', ANTHROPIC_BASE_URL: `${fake.url}/v1` }) } })
    await fromKey.chat({ model, messages })
    await fromToken.chat({ model, messages })
    await Promise.all([fromKey.close(), fromToken.close()])
    expect(fake.requests.map((request) => request.headers.authorization)).toEqual(['Bearer sk-ant-env', 'Bearer token-env'])
    expect(() => anthropic({}, {})).toThrow(/ANTHROPIC_API_KEY.*anthropic\(\{ apiKey \}\)/)
  })

  it('takes the default max_tokens from maxTokens, else DEFAULT_ANTHROPIC_CHAT_MAX_TOKENS, else 4096', async () => {
    const fromOption = createClient({ providers: { anthropic: anthropic({ apiKey: 'k', apiBase: fake.url, maxTokens: 1000 }, { DEFAULT_ANTHROPIC_CHAT_MAX_TOKENS: '2000' }) } })
    const fromVariable = createClient({ providers: { anthropic: anthropic({ apiKey: 'k', apiBase: fake.url }, { DEFAULT_ANTHROPIC_CHAT_MAX_TOKENS: '2000' }) } })
    await fromOption.chat({ model, messages })
    await fromVariable.chat({ model, messages })
    await Promise.all([fromOption.close(), fromVariable.close()])
    expect(fake.requests.map((request) => request.body.max_tokens)).toEqual([1000, 2000])
  })

  it('is a default provider when ANTHROPIC_API_KEY is set, serving bare claude-* names', async () => {
    expect(Object.keys(defaultProviders({})).sort()).toEqual(['mock'])
    const providers = defaultProviders({ ANTHROPIC_API_KEY: 'sk-ant-env', ANTHROPIC_API_BASE: fake.url })
    expect(Object.keys(providers).sort()).toEqual(['anthropic', 'mock'])
    expect(defaultProviders({ ANTHROPIC_API_KEY: 'sk-ant-env' }).anthropic!.apiBase).toBe('https://api.anthropic.com')
    const served = createClient({ providers })
    await served.chat({ model: 'claude-haiku-4-5', messages })
    await served.close()
    expect(fake.requests[0]!.body.model).toBe('claude-haiku-4-5')
  })

  it('rejects a wrong option naming the field', () => {
    expect(() => anthropic({ apiKey: 'k', apiBase: 'nope' })).toThrow(/anthropic\(\) options: apiBase/)
  })
})
