/**
 * `llm-onion serve` with a LiteLLM config whose deployment is `anthropic/claude-...`, its
 * `api_base` at a local fake of Anthropic's Messages API, driven by the official `openai` SDK: the
 * OpenAI-shaped request reaches Anthropic in Anthropic's shape through the real `@anthropic-ai/sdk`,
 * and the answer, the stream, tool calls, usage and errors come back in OpenAI's.
 */
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startAnthropicFake, type AnthropicFake } from '../../src/testing/anthropic-server'
import { spawnProxy, type SpawnedProxy } from './fixtures/spawn-proxy'

let fake: AnthropicFake
let proxy: SpawnedProxy
let client: OpenAI

beforeAll(async () => {
  fake = await startAnthropicFake()
  proxy = await spawnProxy(['--config', 'test/proxy/fixtures/anthropic-provider.yaml'], { ANTHROPIC_API_BASE: fake.url, ANTHROPIC_API_KEY: 'sk-ant-serve-secret' })
  client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'unused', maxRetries: 0 })
})

afterAll(async () => {
  await proxy?.stop()
  await fake?.close()
})

beforeEach(() => {
  fake.requests.length = 0
})

describe('an anthropic/ deployment behind llm-onion serve', () => {
  it('answers a chat completion: the system prompt as Anthropic’s system, the key as the SDK sends it, usage with cached tokens', async () => {
    fake.enqueue({ kind: 'message', text: 'Bonjour !', usage: { input_tokens: 12, cache_read_input_tokens: 30, output_tokens: 3 } })
    const reply = await client.chat.completions.create({
      model: 'claude-sonnet',
      messages: [
        { role: 'system', content: 'Answer in French.' },
        { role: 'user', content: 'Hello' },
      ],
    })
    expect(reply.choices[0]!.message.content).toBe('Bonjour !')
    expect(reply.choices[0]!.finish_reason).toBe('stop')
    expect(reply.usage).toMatchObject({ prompt_tokens: 42, completion_tokens: 3, total_tokens: 45, prompt_tokens_details: { cached_tokens: 30 } })
    const received = fake.requests[0]!
    expect(received.path).toBe('/v1/messages')
    expect(received.headers.authorization).toBe('Bearer sk-ant-serve-secret')
    expect(received.body).toMatchObject({
      model: 'claude-sonnet-4-5',
      max_tokens: 4096,
      system: [{ type: 'text', text: 'Answer in French.' }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello' }] }],
    })
  })

  it('streams the answer as chat completion chunks, ending with usage', async () => {
    fake.enqueue({ kind: 'message', text: 'one two three', usage: { input_tokens: 5, output_tokens: 3 } })
    const stream = await client.chat.completions.create({ model: 'claude-sonnet', messages: [{ role: 'user', content: 'Count' }], stream: true, stream_options: { include_usage: true } })
    let text = ''
    let usage: OpenAI.CompletionUsage | null | undefined
    const finishes: string[] = []
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? ''
      if (chunk.choices[0]?.finish_reason) finishes.push(chunk.choices[0].finish_reason)
      if (chunk.usage) usage = chunk.usage
    }
    expect(text).toBe('one two three')
    expect(finishes).toEqual(['stop'])
    expect(usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 })
    expect(fake.requests[0]!.body.stream).toBe(true)
  })

  it('passes tools to Anthropic and its tool_use back as tool_calls, then the tool result as a tool_result block', async () => {
    fake.enqueue({ kind: 'message', toolUses: [{ id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } }] }, { kind: 'message', text: 'It is 21 °C in Paris.' })
    const tools: OpenAI.ChatCompletionTool[] = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }]
    const ask: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in Paris?' }]
    const first = await client.chat.completions.create({ model: 'claude-sonnet', messages: ask, tools })
    const call = first.choices[0]!.message.tool_calls![0]!
    expect(first.choices[0]!.finish_reason).toBe('tool_calls')
    expect(call).toMatchObject({ id: 'toolu_01', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } })
    const second = await client.chat.completions.create({
      model: 'claude-sonnet',
      tools,
      messages: [...ask, first.choices[0]!.message, { role: 'tool', tool_call_id: call.id, content: '21 °C' }],
    })
    expect(second.choices[0]!.message.content).toBe('It is 21 °C in Paris.')
    expect(fake.requests[0]!.body.tools).toEqual([{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }])
    expect(fake.requests[1]!.body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }] },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01', content: '21 °C' }] },
    ])
  })

  it('answers Anthropic’s 429 as the openai SDK’s RateLimitError, without the upstream key', async () => {
    fake.enqueue({ kind: 'error', status: 429, message: 'Rate limited for sk-ant-serve-secret', headers: { 'retry-after': '3' } })
    const failure = await client.chat.completions.create({ model: 'claude-sonnet', messages: [{ role: 'user', content: 'Hi' }] }).catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(OpenAI.RateLimitError)
    expect((failure as InstanceType<typeof OpenAI.RateLimitError>).status).toBe(429)
    expect(String((failure as Error).message)).toContain('Rate limited')
    expect(String((failure as Error).message)).not.toContain('sk-ant-serve-secret')
    expect(proxy.output()).not.toContain('sk-ant-serve-secret')
  })
})
