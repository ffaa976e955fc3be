/**
 * Anthropic's Messages API served by the proxy (`POST /v1/messages`), driven by the official
 * `@anthropic-ai/sdk`: `messages.create` and `messages.stream`, system prompts, tools, images,
 * stop reasons, and errors raised as the SDK's own classes. Text comes from the mock provider;
 * tool calls from the fake OpenAI and Gemini upstreams. A recorder layer shows each call ran through the onion.
 */
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createProxyServer, parseConfig, type ProxyServer } from 'llm-onion/proxy'
import { createRecorder, startGeminiFake, startOpenAIFake, type GeminiFake, type OpenAIFake } from 'llm-onion/testing'
import { eventually } from './fixtures/spawn-proxy'

const masterKey = 'sk-messages-test-key'
const recorder = createRecorder()
let upstream: OpenAIFake
let geminiUpstream: GeminiFake
let proxy: ProxyServer
let url: string
let anthropic: Anthropic

beforeAll(async () => {
  upstream = await startOpenAIFake()
  geminiUpstream = await startGeminiFake()
  proxy = await createProxyServer({
    config: parseConfig({
      model_list: [
        { model_name: 'claude-mock', litellm_params: { model: 'mock/echo' } },
        { model_name: 'upstream-model', litellm_params: { model: 'openai/gpt-4o-mini', api_base: upstream.url, api_key: 'sk-upstream' } },
        { model_name: 'gemini-model', litellm_params: { model: 'gemini/gemini-2.5-flash', api_base: geminiUpstream.url, api_key: 'gm-test' } },
      ],
      general_settings: { master_key: masterKey },
    }),
    middleware: [recorder.layer],
  })
  url = (await proxy.listen({ port: 0 })).url
  anthropic = new Anthropic({ baseURL: url, apiKey: masterKey, maxRetries: 0 })
})

afterAll(async () => {
  await proxy?.close()
  await upstream?.close()
  await geminiUpstream?.close()
})

beforeEach(() => recorder.clear())

const weatherTool = { name: 'get_weather', description: 'The weather in a city', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] } }

describe('POST /v1/messages with the Anthropic SDK', () => {
  it('answers messages.create with the x-api-key as master key, the system prompt first, usage and end_turn', async () => {
    const message = await anthropic.messages.create({ model: 'claude-mock', max_tokens: 256, system: 'Be brief.', messages: [{ role: 'user', content: 'Hello Claude' }] })
    expect(message.type).toBe('message')
    expect(message.role).toBe('assistant')
    expect(message.content).toEqual([{ type: 'text', text: 'This is a mock reply to: Hello Claude' }])
    expect(message.stop_reason).toBe('end_turn')
    expect(message.usage.output_tokens).toBe(8)
    expect(message.usage.input_tokens).toBeGreaterThan(0)
    expect(recorder.events).toHaveLength(1)
    expect(recorder.events[0]).toMatchObject({ status: 'success', model: 'claude-mock', streaming: false })
    expect(recorder.events[0]!.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hello Claude' },
    ])
    // The key the SDK sent never reaches a layer.
    expect(recorder.events[0]!.http?.headers).not.toHaveProperty('x-api-key')
    expect(JSON.stringify(recorder.events[0])).not.toContain(masterKey)
  })

  it('streams with messages.stream: text deltas, then message_delta with the stop reason and usage', async () => {
    const stream = anthropic.messages.stream({ model: 'claude-mock', max_tokens: 256, system: [{ type: 'text', text: 'Be brief.' }], messages: [{ role: 'user', content: 'Stream Claude' }] })
    let text = ''
    stream.on('text', (delta) => (text += delta))
    const final = await stream.finalMessage()
    expect(text).toBe('This is a mock reply to: Stream Claude')
    expect(final.content).toMatchObject([{ type: 'text', text: 'This is a mock reply to: Stream Claude' }])
    expect(final.stop_reason).toBe('end_turn')
    expect(final.usage.output_tokens).toBe(8)
    expect(final.usage.input_tokens).toBeGreaterThan(0)
    expect(recorder.events[0]).toMatchObject({ status: 'success', streaming: true })
  })

  it('frames the stream with Anthropic event names in order (at /v1/messages?beta=true, where Claude Code posts)', async () => {
    const response = await fetch(`${url}/v1/messages?beta=true`, {
      method: 'POST',
      headers: { 'x-api-key': masterKey, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-mock', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'frame' }] }),
    })
    expect(response.headers.get('content-type')).toContain('text/event-stream')
    const names = [...(await response.text()).matchAll(/^event: (\S+)$/gm)].map((match) => match[1])
    expect(names[0]).toBe('message_start')
    expect(names[1]).toBe('content_block_start')
    expect(new Set(names.slice(2, -3))).toEqual(new Set(['content_block_delta']))
    expect(names.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop'])
  })

  it('gets tool_use blocks from the upstream and sends tool_result back as a tool message', async () => {
    upstream.enqueue({ kind: 'chat', content: 'Let me look.', toolCalls: [{ id: 'toolu_01', name: 'get_weather', arguments: '{"city":"Paris"}' }] })
    const first = await anthropic.messages.create({ model: 'upstream-model', max_tokens: 256, tools: [weatherTool], tool_choice: { type: 'any' }, messages: [{ role: 'user', content: 'Weather in Paris?' }] })
    expect(first.stop_reason).toBe('tool_use')
    expect(first.content).toEqual([
      { type: 'text', text: 'Let me look.' },
      { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } },
    ])
    expect(upstream.requests.at(-1)!.body).toMatchObject({
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'The weather in a city', parameters: weatherTool.input_schema } }],
      tool_choice: 'required',
      max_tokens: 256,
    })

    upstream.enqueue({ kind: 'chat', content: 'Sunny.' })
    const second = await anthropic.messages.create({
      model: 'upstream-model',
      max_tokens: 256,
      tools: [weatherTool],
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01', content: 'sunny, 24°C' }, { type: 'text', text: 'Thanks' }] },
      ],
    })
    expect(second.content).toEqual([{ type: 'text', text: 'Sunny.' }])
    expect(upstream.requests.at(-1)!.body.messages).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: 'Let me look.', tool_calls: [{ id: 'toolu_01', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'toolu_01', content: 'sunny, 24°C' },
      { role: 'user', content: 'Thanks' },
    ])
  })

  it('streams a tool call as a tool_use block with input_json_delta pieces', async () => {
    upstream.enqueue({ kind: 'chat', toolCalls: [{ id: 'toolu_02', name: 'get_weather', arguments: '{"city":"San Francisco"}' }] })
    const stream = anthropic.messages.stream({ model: 'upstream-model', max_tokens: 256, tools: [weatherTool], messages: [{ role: 'user', content: 'Weather in SF?' }] })
    const pieces: string[] = []
    stream.on('inputJson', (piece) => pieces.push(piece))
    const final = await stream.finalMessage()
    expect(pieces.length).toBeGreaterThan(1)
    expect(pieces.join('')).toBe('{"city":"San Francisco"}')
    expect(final.content).toEqual([{ type: 'tool_use', id: 'toolu_02', name: 'get_weather', input: { city: 'San Francisco' } }])
    expect(final.stop_reason).toBe('tool_use')
  })

  it('passes stop_sequences, output_config and a base64 image (as a data URL) to the provider', async () => {
    upstream.enqueue({ kind: 'chat', content: 'A red pixel.', finishReason: 'length' })
    const message = await anthropic.messages.create({
      model: 'upstream-model',
      max_tokens: 5,
      stop_sequences: ['END'],
      output_config: { effort: 'low', format: { type: 'json_schema', schema: { type: 'object', properties: { colour: { type: 'string' } } } } },
      messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } }, { type: 'text', text: 'What is this?' }] }],
    })
    expect(message.stop_reason).toBe('max_tokens')
    expect(upstream.requests.at(-1)!.body).toMatchObject({
      stop: ['END'],
      reasoning_effort: 'low',
      response_format: { type: 'json_schema', json_schema: { name: 'response', strict: true, schema: { type: 'object', properties: { colour: { type: 'string' } } } } },
      max_tokens: 5,
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }, { type: 'text', text: 'What is this?' }] }],
    })
  })

  it('reaches a Gemini deployment too: a function call comes back as a tool_use block, plain and streamed', async () => {
    geminiUpstream.enqueue({ kind: 'chat', functionCalls: [{ name: 'get_weather', args: { city: 'Rome' } }] }, { kind: 'chat', functionCalls: [{ name: 'get_weather', args: { city: 'Rome' } }] })
    const message = await anthropic.messages.create({ model: 'gemini-model', max_tokens: 64, system: 'Use tools.', tools: [weatherTool], messages: [{ role: 'user', content: 'Weather in Rome?' }] })
    expect(message.stop_reason).toBe('tool_use')
    expect(message.content).toMatchObject([{ type: 'tool_use', name: 'get_weather', input: { city: 'Rome' } }])
    const streamed = await anthropic.messages.stream({ model: 'gemini-model', max_tokens: 64, tools: [weatherTool], messages: [{ role: 'user', content: 'Weather in Rome?' }] }).finalMessage()
    expect(streamed.content).toMatchObject([{ type: 'tool_use', name: 'get_weather', input: { city: 'Rome' } }])
    expect(recorder.events.map((event) => event.provider)).toEqual(['gemini', 'gemini'])
  })

  it('raises the SDK NotFoundError, in Anthropic error shape, for a model the proxy does not serve', async () => {
    const error = await anthropic.messages.create({ model: 'claude-nowhere', max_tokens: 16, messages: [{ role: 'user', content: 'Hi' }] }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(Anthropic.NotFoundError)
    expect((error as InstanceType<typeof Anthropic.NotFoundError>).status).toBe(404)
    expect((error as InstanceType<typeof Anthropic.NotFoundError>).error).toMatchObject({ type: 'error', error: { type: 'not_found_error', message: expect.stringContaining('claude-nowhere') } })
  })

  it('raises AuthenticationError for a wrong key and BadRequestError naming the field for a bad request', async () => {
    const stranger = new Anthropic({ baseURL: url, apiKey: 'sk-wrong', maxRetries: 0 })
    await expect(stranger.messages.create({ model: 'claude-mock', max_tokens: 16, messages: [{ role: 'user', content: 'Hi' }] })).rejects.toBeInstanceOf(Anthropic.AuthenticationError)
    const error = await anthropic.messages
      .create({ model: 'claude-mock', max_tokens: 16, tools: [{ type: 'web_search_20250305', name: 'web_search' }], messages: [{ role: 'user', content: 'Hi' }] })
      .catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(Anthropic.BadRequestError)
    expect((error as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining('tools[0]') } })
  })

  it('raises the upstream status as the SDK error class, and a mid-stream failure as an APIError', async () => {
    upstream.enqueue({ kind: 'error', status: 429, message: 'Slow down.' })
    await expect(anthropic.messages.create({ model: 'upstream-model', max_tokens: 16, messages: [{ role: 'user', content: 'Hi' }] })).rejects.toBeInstanceOf(Anthropic.RateLimitError)

    const stream = anthropic.messages.stream({ model: 'claude-mock', max_tokens: 16, messages: [{ role: 'user', content: 'Hi' }], mock_error: { status: 500, after_chunks: 2 } } as Anthropic.MessageStreamParams)
    const error = await stream.finalMessage().catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(Anthropic.APIError)
    expect(recorder.events.at(-1)).toMatchObject({ status: 'failure', streaming: true })
  })

  it('cancels the upstream call when the client leaves a stream early, and records the call as cancelled', async () => {
    upstream.enqueue({ kind: 'cut', afterChunks: 3, how: 'hold', content: 'one two three four five' })
    const stream = anthropic.messages.stream({ model: 'upstream-model', max_tokens: 64, messages: [{ role: 'user', content: 'Count' }] })
    const disconnected = upstream.waitForDisconnect()
    for await (const event of stream) if (event.type === 'content_block_delta') break
    await disconnected
    await eventually(() => recorder.events.at(-1)?.status === 'cancelled')
  })
})
