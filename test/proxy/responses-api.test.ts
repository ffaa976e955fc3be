/**
 * OpenAI's Responses API served by the proxy (`POST /v1/responses`), driven by the clients that call
 * it: the Vercel AI SDK's default `createOpenAI()(model)` provider and LangChain's `ChatOpenAI` with
 * `useResponsesApi`. Text comes from the mock provider; tool calls and structured output from the
 * fake OpenAI upstream, so the translation runs for a real provider too. A recorder layer shows
 * that each call ran through the onion.
 */
import { createOpenAI } from '@ai-sdk/openai'
import type { AIMessageChunk } from '@langchain/core/messages'
import { ChatOpenAI } from '@langchain/openai'
import { APICallError, generateText, jsonSchema, Output, streamText, tool } from 'ai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createProxyServer, parseConfig, type ProxyServer } from 'llm-onion/proxy'
import { createRecorder, startOpenAIFake, type OpenAIFake } from 'llm-onion/testing'

const masterKey = 'sk-responses-test-key'
const recorder = createRecorder()
let upstream: OpenAIFake
let proxy: ProxyServer
let baseURL: string

beforeAll(async () => {
  upstream = await startOpenAIFake()
  proxy = await createProxyServer({
    config: parseConfig({
      model_list: [
        { model_name: 'mock-model', litellm_params: { model: 'mock/echo' } },
        { model_name: 'upstream-model', litellm_params: { model: 'openai/gpt-4o-mini', api_base: upstream.url, api_key: 'sk-upstream' } },
      ],
      general_settings: { master_key: masterKey },
    }),
    middleware: [recorder.layer],
  })
  baseURL = `${(await proxy.listen({ port: 0 })).url}/v1`
})

afterAll(async () => {
  await proxy?.close()
  await upstream?.close()
})

beforeEach(() => recorder.clear())

const aiSdk = () => createOpenAI({ baseURL, apiKey: masterKey })
const weather = tool({ description: 'The weather in a city', inputSchema: jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }) })

describe('POST /v1/responses with the Vercel AI SDK default provider', () => {
  it('answers generateText through the onion, instructions as the system message, usage mapped', async () => {
    const result = await generateText({ model: aiSdk()('mock-model'), system: 'Be brief.', prompt: 'Hello responses', maxRetries: 0 })
    expect(result.text).toBe('This is a mock reply to: Hello responses')
    expect(result.finishReason).toBe('stop')
    expect(result.usage.inputTokens).toBeGreaterThan(0)
    expect(result.usage.outputTokens).toBe(8)
    expect(result.usage.totalTokens).toBe(result.usage.inputTokens! + 8)
    expect(recorder.events).toHaveLength(1)
    expect(recorder.events[0]).toMatchObject({ status: 'success', model: 'mock-model', streaming: false })
    const metrics = await (await fetch(baseURL.replace('/v1', '/metrics'))).text()
    expect(metrics).toMatch(/llm_onion_proxy_http_requests_total\{route="\/v1\/responses",status="200"\} [1-9]/)
    expect(recorder.events[0]!.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: [{ type: 'text', text: 'Hello responses' }] },
    ])
  })

  it('streams text with streamText, the usage arriving with response.completed', async () => {
    const result = streamText({ model: aiSdk()('mock-model'), prompt: 'Stream responses', maxRetries: 0 })
    let text = ''
    for await (const delta of result.textStream) text += delta
    expect(text).toBe('This is a mock reply to: Stream responses')
    expect((await result.usage).outputTokens).toBe(8)
    expect(await result.finishReason).toBe('stop')
    expect(recorder.events[0]).toMatchObject({ status: 'success', streaming: true })
  })

  it('gets a tool call from the upstream, then sends its result back as function_call_output', async () => {
    upstream.enqueue({ kind: 'chat', toolCalls: [{ id: 'call_weather1', name: 'weather', arguments: '{"city":"Paris"}' }] })
    const first = await generateText({ model: aiSdk()('upstream-model'), tools: { weather }, prompt: 'Weather in Paris?', maxRetries: 0 })
    expect(first.finishReason).toBe('tool-calls')
    expect(first.toolCalls).toMatchObject([{ toolCallId: 'call_weather1', toolName: 'weather', input: { city: 'Paris' } }])
    const sent = upstream.requests.at(-1)!.body
    expect(sent.tools).toEqual([{ type: 'function', function: { name: 'weather', description: 'The weather in a city', parameters: expect.objectContaining({ properties: { city: { type: 'string' } } }) } }])

    upstream.enqueue({ kind: 'chat', content: 'Sunny in Paris.' })
    const second = await generateText({
      model: aiSdk()('upstream-model'),
      tools: { weather },
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: [{ type: 'tool-call', toolCallId: 'call_weather1', toolName: 'weather', input: { city: 'Paris' } }] },
        { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_weather1', toolName: 'weather', output: { type: 'text', value: 'sunny, 24°C' } }] },
      ],
      maxRetries: 0,
    })
    expect(second.text).toBe('Sunny in Paris.')
    expect(upstream.requests.at(-1)!.body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }] },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_weather1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_weather1', content: 'sunny, 24°C' },
    ])
  })

  it('continues a conversation from response.messages when store is false, and says to set it when not', async () => {
    const first = await generateText({ model: aiSdk()('mock-model'), prompt: 'First turn', maxRetries: 0 })
    const messages = [{ role: 'user' as const, content: 'First turn' }, ...first.response.messages, { role: 'user' as const, content: 'Second turn' }]
    const second = await generateText({ model: aiSdk()('mock-model'), messages, providerOptions: { openai: { store: false } }, maxRetries: 0 })
    expect(second.text).toBe('This is a mock reply to: Second turn')
    expect(recorder.events.at(-1)!.messages).toContainEqual({ role: 'assistant', content: 'This is a mock reply to: First turn' })

    // By default the SDK refers to the earlier reply by its id, which only a server that stores replies can resolve.
    const error = await generateText({ model: aiSdk()('mock-model'), messages, maxRetries: 0 }).catch((caught: unknown) => caught)
    expect((error as APICallError).statusCode).toBe(400)
    expect((error as APICallError).message).toContain('store: false')
  })

  it('streams a tool call with its argument deltas', async () => {
    upstream.enqueue({ kind: 'chat', toolCalls: [{ id: 'call_stream1', name: 'weather', arguments: '{"city":"San Francisco"}' }] })
    const result = streamText({ model: aiSdk()('upstream-model'), tools: { weather }, prompt: 'Weather in SF?', maxRetries: 0 })
    const deltas: string[] = []
    for await (const part of result.fullStream) if (part.type === 'tool-input-delta') deltas.push(part.delta)
    expect(deltas.length).toBeGreaterThan(1)
    expect(deltas.join('')).toBe('{"city":"San Francisco"}')
    expect(await result.toolCalls).toMatchObject([{ toolCallId: 'call_stream1', toolName: 'weather', input: { city: 'San Francisco' } }])
    expect(await result.finishReason).toBe('tool-calls')
  })

  it('turns structured output (text.format json_schema) into response_format for the upstream', async () => {
    upstream.enqueue({ kind: 'chat', content: '{"name":"Ada","age":36}' })
    const result = await generateText({
      model: aiSdk()('upstream-model'),
      output: Output.object({ schema: jsonSchema<{ name: string; age: number }>({ type: 'object', properties: { name: { type: 'string' }, age: { type: 'number' } }, required: ['name', 'age'], additionalProperties: false }) }),
      prompt: 'Who?',
      maxOutputTokens: 100,
      temperature: 0.5,
      maxRetries: 0,
    })
    expect(result.output).toEqual({ name: 'Ada', age: 36 })
    const sent = upstream.requests.at(-1)!.body
    expect(sent.response_format).toMatchObject({ type: 'json_schema', json_schema: { name: 'response', strict: true, schema: expect.objectContaining({ required: ['name', 'age'] }) } })
    expect(sent).toMatchObject({ max_completion_tokens: 100, temperature: 0.5 })
  })

  it('raises an APICallError with status 404 for a model the proxy does not serve', async () => {
    const error = await generateText({ model: aiSdk()('no-such-model'), prompt: 'Hi', maxRetries: 0 }).catch((caught: unknown) => caught)
    expect(APICallError.isInstance(error)).toBe(true)
    expect((error as APICallError).statusCode).toBe(404)
    expect((error as APICallError).message).toContain('no-such-model')
  })

  it('ends a stream that fails after its first event with an error event, and records the failure', async () => {
    const response = await fetch(`${baseURL}/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock-model', input: 'Hi', stream: true, mock_error: { status: 503, message: 'Upstream went away.', after_chunks: 2 } }),
    })
    expect(response.status).toBe(200)
    const last = (await response.text()).trim().split('\n\n').at(-1)!
    expect(last.split('\n')[0]).toBe('event: error')
    expect(JSON.parse(last.split('\n')[1]!.slice('data: '.length))).toMatchObject({ type: 'error', message: expect.stringContaining('Upstream went away.') })
    expect(recorder.events[0]).toMatchObject({ status: 'failure', streaming: true })
  })

  it('answers previous_response_id with a 400 in OpenAI error shape: no state is kept', async () => {
    const error = await generateText({ model: aiSdk()('mock-model'), prompt: 'Hi', providerOptions: { openai: { previousResponseId: 'resp_123' } }, maxRetries: 0 }).catch((caught: unknown) => caught)
    expect((error as APICallError).statusCode).toBe(400)
    expect(JSON.parse((error as APICallError).responseBody!)).toMatchObject({ error: { type: 'invalid_request_error', param: 'previous_response_id', message: expect.stringContaining('keeps no responses') } })
    expect(recorder.events).toHaveLength(0)
  })
})

describe('POST /v1/responses with LangChain ChatOpenAI({ useResponsesApi: true })', () => {
  const chatModel = () => new ChatOpenAI({ model: 'mock-model', apiKey: masterKey, configuration: { baseURL }, useResponsesApi: true, maxRetries: 0 })

  it('invokes and reads the text and the token usage', async () => {
    const message = await chatModel().invoke('Hello LangChain')
    expect(message.text).toBe('This is a mock reply to: Hello LangChain')
    expect(message.usage_metadata).toMatchObject({ output_tokens: 8, total_tokens: expect.any(Number) })
    expect(recorder.events[0]).toMatchObject({ status: 'success', streaming: false })
  })

  it('streams chunks that concatenate to the reply', async () => {
    let text = ''
    for await (const chunk of await chatModel().stream('Stream LangChain')) text += chunk.text
    expect(text).toBe('This is a mock reply to: Stream LangChain')
    expect(recorder.events[0]).toMatchObject({ status: 'success', streaming: true })
  })

  it('reads tool calls the upstream made, from bindTools, invoked and streamed', async () => {
    upstream.enqueue({ kind: 'chat', toolCalls: [{ id: 'call_lc1', name: 'weather', arguments: '{"city":"Oslo"}' }] })
    const model = new ChatOpenAI({ model: 'upstream-model', apiKey: masterKey, configuration: { baseURL }, useResponsesApi: true, maxRetries: 0 })
    const weatherTool = { type: 'function' as const, function: { name: 'weather', description: 'The weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }
    const message = await model.bindTools([weatherTool]).invoke('Weather in Oslo?')
    expect(message.tool_calls).toMatchObject([{ id: 'call_lc1', name: 'weather', args: { city: 'Oslo' } }])
    expect(upstream.requests.at(-1)!.body.tools).toMatchObject([{ type: 'function', function: { name: 'weather' } }])

    upstream.enqueue({ kind: 'chat', toolCalls: [{ id: 'call_lc2', name: 'weather', arguments: '{"city":"Bergen"}' }] })
    let streamed: AIMessageChunk | undefined
    for await (const chunk of await model.bindTools([weatherTool]).stream('Weather in Bergen?')) streamed = streamed ? streamed.concat(chunk) : chunk
    expect(streamed?.tool_calls).toMatchObject([{ id: 'call_lc2', name: 'weather', args: { city: 'Bergen' } }])
  })
})
