/**
 * The bedrock/ provider through AWS's own `@aws-sdk/client-bedrock-runtime`, against the local
 * Bedrock fake: what Converse receives (signed with SigV4, checked by `aws4`), how its answers and
 * ConverseStream events come back, model-id forms and cancellation. Region, credentials, endpoint
 * and costs: bedrock-settings.test.ts.
 */
import { describe, expect, it } from 'vitest'
import { bedrock, createClient, isAbortError, isValidationError, type CallEvent, type ChatResponse } from '../../src/index'
import { startBedrockFake, type BedrockFake } from '../../src/testing/bedrock-server'
import { collect, failureOf, fakePerTest } from './provider-test-kit'

const messages = [{ role: 'user' as const, content: 'Say hello' }]
const model = 'bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0'
const providerOn = (fake: BedrockFake, options: Parameters<typeof bedrock>[0] = {}) =>
  bedrock({ endpoint: fake.url, region: 'us-east-1', ...fake.credentials, ...options }, {})
const { fake, client } = fakePerTest(
  () => startBedrockFake(),
  (started) => createClient({ providers: { bedrock: providerOn(started) } }),
)

describe('bedrock provider: the request Converse receives', () => {
  it('maps system, roles, images, tool calls and results, inference config and tools, signed for bedrock in the region', async () => {
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
            { id: 'tooluse_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'tooluse_b', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'tooluse_a', content: '{"celsius":21}' },
        { role: 'tool', tool_call_id: 'tooluse_b', content: 'sunny' },
        { role: 'user', content: [{ type: 'text', text: 'And this?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] },
      ],
      temperature: 0.3,
      top_p: 0.9,
      max_tokens: 200,
      stop: 'END',
      tools: [
        { type: 'function', function: { name: 'get_weather', description: 'Current weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } },
        { type: 'function', function: { name: 'now' } },
      ],
      tool_choice: 'required',
      metadata: { trace_id: 't-1' },
      tags: ['x'],
      user: 'user-1',
    })
    const received = fake.requests[0]!
    expect(received.method).toBe('POST')
    expect(received.path).toBe('/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse')
    expect(received.modelId).toBe('anthropic.claude-3-5-sonnet-20240620-v1:0')
    expect(received.auth).toEqual({ scheme: 'sigv4', accessKeyId: fake.credentials.accessKeyId, region: 'us-east-1', service: 'bedrock' })
    expect(received.body.system).toEqual([{ text: 'Be brief.' }, { text: 'Answer in French.' }])
    expect(received.body.messages).toEqual([
      { role: 'user', content: [{ text: 'Weather in Paris and Rome?' }] },
      {
        role: 'assistant',
        content: [
          { text: 'Let me look.' },
          { toolUse: { toolUseId: 'tooluse_a', name: 'get_weather', input: { city: 'Paris' } } },
          { toolUse: { toolUseId: 'tooluse_b', name: 'get_weather', input: { city: 'Rome' } } },
        ],
      },
      {
        role: 'user',
        content: [
          { toolResult: { toolUseId: 'tooluse_a', content: [{ json: { celsius: 21 } }] } },
          { toolResult: { toolUseId: 'tooluse_b', content: [{ text: 'sunny' }] } },
          { text: 'And this?' },
          { image: { format: 'png', source: { bytes: 'iVBORw0KGgo=' } } },
        ],
      },
    ])
    expect(received.body.inferenceConfig).toEqual({ maxTokens: 200, temperature: 0.3, topP: 0.9, stopSequences: ['END'] })
    expect(received.body.toolConfig).toEqual({
      tools: [
        { toolSpec: { name: 'get_weather', description: 'Current weather', inputSchema: { json: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } } },
        { toolSpec: { name: 'now', inputSchema: { json: { type: 'object', properties: {} } } } },
      ],
      toolChoice: { any: {} },
    })
    for (const field of ['metadata', 'tags', 'user', 'model', 'modelId']) expect(received.body).not.toHaveProperty(field)
  })

  it.each([
    ['auto', { auto: {} }],
    [{ type: 'function', function: { name: 'now' } }, { tool: { name: 'now' } }],
  ])('maps tool_choice %j to %j', async (toolChoice, expected) => {
    await client.chat({ model, messages, tools: [{ type: 'function', function: { name: 'now' } }], tool_choice: toolChoice })
    expect((fake.requests[0]!.body.toolConfig as { toolChoice: unknown }).toolChoice).toEqual(expected)
  })

  it('sends top_k beside the request for Anthropic models and a cache point after a message marked cache_control', async () => {
    await client.chat({
      model,
      messages: [{ role: 'system', content: 'A long, reused system prompt.', cache_control: { type: 'ephemeral' } }, ...messages],
      top_k: 40,
    })
    const body = fake.requests[0]!.body
    expect(body.additionalModelRequestFields).toEqual({ top_k: 40 })
    expect(body.system).toEqual([{ text: 'A long, reused system prompt.' }, { cachePoint: { type: 'default' } }])
  })

  it('lets the no-op values of fields Converse lacks through, as OpenAI clients send them by default', async () => {
    await client.chat({ model, messages, n: 1, presence_penalty: 0, frequency_penalty: 0, logprobs: false })
    expect(fake.requests).toHaveLength(1)
  })

  it.each([
    ['seed', { seed: 7 }, 'seed'],
    ['a presence_penalty', { presence_penalty: 0.5 }, 'presence_penalty'],
    ['n above 1', { n: 2 }, 'n'],
    ['tool_choice none', { tools: [{ type: 'function', function: { name: 'now' } }], tool_choice: 'none' }, 'tool_choice'],
    ['an image by URL', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] }] }, 'messages[0].content[0].image_url.url'],
    ['top_k for a Llama model', { model: 'bedrock/meta.llama3-1-8b-instruct-v1:0', top_k: 5 }, 'top_k'],
  ])('refuses %s, naming the field, without calling Bedrock', async (_name, change, path) => {
    const error = await failureOf(client.chat({ model, messages, ...change } as never))
    expect(isValidationError(error) && error.path).toBe(path)
    expect(fake.requests).toHaveLength(0)
  })
})

describe('bedrock provider: model names', () => {
  it.each([
    ['bedrock/us.meta.llama3-2-11b-instruct-v1:0', 'us.meta.llama3-2-11b-instruct-v1:0', 'us-east-1'],
    ['bedrock/converse/anthropic.claude-3-haiku-20240307-v1:0', 'anthropic.claude-3-haiku-20240307-v1:0', 'us-east-1'],
    ['bedrock/eu-west-1/anthropic.claude-3-haiku-20240307-v1:0', 'anthropic.claude-3-haiku-20240307-v1:0', 'eu-west-1'],
    [
      'bedrock/arn:aws:bedrock:ap-northeast-1:123456789012:inference-profile/apac.anthropic.claude-3-5-sonnet-20240620-v1:0',
      'arn:aws:bedrock:ap-northeast-1:123456789012:inference-profile/apac.anthropic.claude-3-5-sonnet-20240620-v1:0',
      'ap-northeast-1',
    ],
  ])('sends %s as model id %s, signed for %s', async (name, modelId, region) => {
    await client.chat({ model: name, messages })
    expect(fake.requests[0]!.modelId).toBe(modelId)
    expect(fake.requests[0]!.auth).toMatchObject({ scheme: 'sigv4', region })
  })
})

describe('bedrock provider: answers', () => {
  it('returns the text without reasoning, usage with cache reads and writes as input, and the AWS request id as its id', async () => {
    fake.enqueue({ kind: 'chat', text: 'Bonjour', reasoning: 'A greeting is wanted.', usage: { inputTokens: 10, outputTokens: 2, cacheReadInputTokens: 30, cacheWriteInputTokens: 5 } })
    let event: CallEvent | undefined
    client.use(async (ctx, next) => {
      await next()
      event = ctx.toEvent()
    })
    const reply = await client.chat({ model, messages })
    expect(reply.id).toBe('chatcmpl-fake-request-1')
    expect(reply.model).toBe('anthropic.claude-3-5-sonnet-20240620-v1:0')
    expect(reply.choices).toEqual([{ index: 0, message: { role: 'assistant', content: 'Bonjour' }, finish_reason: 'stop' }])
    expect(reply.usage).toEqual({
      prompt_tokens: 45,
      completion_tokens: 2,
      total_tokens: 47,
      prompt_tokens_details: { cached_tokens: 30 },
      cache_read_input_tokens: 30,
      cache_creation_input_tokens: 5,
    })
    expect(event).toMatchObject({ provider: 'bedrock', apiBase: fake.url, model, responseModel: 'anthropic.claude-3-5-sonnet-20240620-v1:0', usage: { inputTokens: 45, outputTokens: 2, totalTokens: 47, cachedInputTokens: 30 } })
    expect(JSON.stringify(event)).not.toContain(fake.credentials.secretAccessKey)
  })

  it('returns toolUse blocks as tool_calls with their ids and finish_reason tool_calls', async () => {
    fake.enqueue({ kind: 'chat', toolUses: [{ name: 'get_weather', input: { city: 'Paris' }, toolUseId: 'tooluse_1' }, { name: 'now', input: {}, toolUseId: 'tooluse_2' }] })
    const reply = await client.chat({ model, messages, tools: [{ type: 'function', function: { name: 'get_weather' } }, { type: 'function', function: { name: 'now' } }] })
    expect(reply.choices[0]).toEqual({
      index: 0,
      message: {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'tooluse_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          { id: 'tooluse_2', type: 'function', function: { name: 'now', arguments: '{}' } },
        ],
      },
      finish_reason: 'tool_calls',
    })
  })

  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['model_context_window_exceeded', 'length'],
    ['guardrail_intervened', 'content_filter'],
    ['content_filtered', 'content_filter'],
    ['malformed_model_output', 'stop'],
  ])('maps stopReason %s to finish_reason %s', async (stopReason, expected) => {
    fake.enqueue({ kind: 'chat', text: 'partial', stopReason })
    expect((await client.chat({ model, messages })).choices[0]!.finish_reason).toBe(expected)
  })

  it('answers response_format json_schema through a forced tool whose input is the content', async () => {
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }
    fake.enqueue({ kind: 'chat', toolUses: [{ name: 'place', input: { city: 'Paris' } }] })
    const reply = await client.chat({ model, messages, response_format: { type: 'json_schema', json_schema: { name: 'place', schema } } })
    expect(fake.requests[0]!.body.toolConfig).toEqual({ tools: [{ toolSpec: { name: 'place', inputSchema: { json: schema } } }], toolChoice: { tool: { name: 'place' } } })
    expect(reply.choices[0]).toEqual({ index: 0, message: { role: 'assistant', content: '{"city":"Paris"}' }, finish_reason: 'stop' })
  })

  it('refuses embeddings, which Converse does not serve, without a request', async () => {
    const error = await failureOf(client.embed({ model: 'bedrock/amazon.titan-embed-text-v2:0', input: 'x' }))
    expect(error).toMatchObject({ status: 400, provider: 'bedrock', retryable: false })
    expect(error.message).toMatch(/embeddings .* not supported/)
    expect(fake.requests).toHaveLength(0)
  })
})

describe('bedrock provider: streams', () => {
  it('streams text over the AWS event stream and ends with a usage chunk', async () => {
    fake.enqueue({ kind: 'chat', text: 'one two three', usage: { inputTokens: 3, outputTokens: 3 } })
    let usage: unknown
    client.use(async (ctx, next) => {
      await next()
      usage = ctx.usage
    })
    const chunks = await collect(client.stream({ model, messages }))
    expect(fake.requests[0]!.action).toBe('converse-stream')
    expect(fake.requests[0]!.auth.scheme).toBe('sigv4')
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: 'assistant' })
    expect(chunks.filter((chunk) => chunk.choices[0]?.delta?.content).map((chunk) => chunk.choices[0]!.delta.content)).toEqual(['one', ' two', ' three'])
    expect(chunks.map((chunk) => chunk.choices[0]?.finish_reason).filter(Boolean)).toEqual(['stop'])
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 } })
    expect(usage).toEqual({ inputTokens: 3, outputTokens: 3, totalTokens: 6 })
  })

  it('streams tool calls as a delta with id and name, then the input JSON in pieces, finishing with tool_calls', async () => {
    fake.enqueue({ kind: 'chat', text: 'Checking.', toolUses: [{ name: 'a', input: { x: 1 }, toolUseId: 'tooluse_a' }, { name: 'b', input: { y: 'two' }, toolUseId: 'tooluse_b' }] })
    const chunks = await collect(client.stream({ model, messages }))
    const deltas = chunks.flatMap((chunk) => chunk.choices[0]?.delta?.tool_calls ?? [])
    expect(deltas.filter((delta) => delta.id).map((delta) => [delta.index, delta.id, delta.function?.name])).toEqual([
      [0, 'tooluse_a', 'a'],
      [1, 'tooluse_b', 'b'],
    ])
    const argumentsOf = (index: number) => deltas.filter((delta) => delta.index === index).map((delta) => delta.function?.arguments ?? '')
    expect(argumentsOf(0).filter(Boolean).length).toBeGreaterThan(1)
    expect(argumentsOf(0).join('')).toBe('{"x":1}')
    expect(argumentsOf(1).join('')).toBe('{"y":"two"}')
    expect(chunks.map((chunk) => chunk.choices[0]?.finish_reason).filter(Boolean)).toEqual(['tool_calls'])
  })

  it.each([
    ['text', { text: 'The same words either way' }],
    ['tool calls', { text: 'Adding.', toolUses: [{ name: 'add', input: { a: 1, b: 2 }, toolUseId: 'tooluse_add' }] }],
    ['usage with cache reads', { text: 'Cached.', usage: { inputTokens: 4, outputTokens: 1, cacheReadInputTokens: 100 } }],
  ])('gives the same result streamed (after assembly) and not streamed, for %s', async (_name, script) => {
    fake.enqueue({ kind: 'chat', ...script }, { kind: 'chat', ...script })
    const plain = await client.chat({ model, messages })
    const stream = client.stream({ model, messages })
    await collect(stream)
    const comparable = (response: ChatResponse) => ({ ...response, id: '', created: 0 })
    expect(comparable(stream.context.response as ChatResponse)).toEqual(comparable(plain))
  })

  it('streams a response_format answer as content', async () => {
    fake.enqueue({ kind: 'chat', toolUses: [{ name: 'json_tool_call', input: { ok: true } }] })
    const chunks = await collect(client.stream({ model, messages, response_format: { type: 'json_object' } }))
    expect(chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('')).toBe('{"ok":true}')
    expect(chunks.some((chunk) => chunk.choices[0]?.delta?.tool_calls)).toBe(false)
    expect(chunks.map((chunk) => chunk.choices[0]?.finish_reason).filter(Boolean)).toEqual(['stop'])
  })

  it('closes the upstream connection when the caller breaks out of the loop', async () => {
    fake.enqueue({ kind: 'cut', text: 'a long answer that keeps coming', afterEvents: 3, how: 'hold' })
    const disconnected = fake.waitForDisconnect()
    for await (const chunk of client.stream({ model, messages })) {
      if (chunk.choices[0]?.delta?.content) break
    }
    await disconnected
  })

  it('passes the caller’s abort signal to the SDK: a streamed call fails with AbortError and the request is closed', async () => {
    fake.enqueue({ kind: 'cut', text: 'a long answer that keeps coming', afterEvents: 2, how: 'hold' })
    const controller = new AbortController()
    const disconnected = fake.waitForDisconnect()
    const run = (async () => {
      for await (const _chunk of client.stream({ model, messages }, { signal: controller.signal })) controller.abort()
    })()
    await expect(run).rejects.toSatisfy(isAbortError)
    await disconnected
  })

  it('aborts a call that has no answer yet when the caller cancels', async () => {
    fake.enqueue({ kind: 'hang' })
    const controller = new AbortController()
    const disconnected = fake.waitForDisconnect()
    const call = client.chat({ model, messages }, { signal: controller.signal })
    await fake.waitForRequests(1)
    controller.abort()
    await expect(call).rejects.toSatisfy(isAbortError)
    await disconnected
  })
})
