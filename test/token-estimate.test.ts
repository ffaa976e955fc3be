import { countTokens } from 'gpt-tokenizer/encoding/o200k_base'
import { afterEach, describe, expect, it } from 'vitest'
import { createClient, type ChatChunk, type Client, type Provider } from 'llm-onion'
import { createRecorder } from 'llm-onion/testing'
import { estimateInputTokens, estimateUsage } from '../src/token-estimate'

const messages = [
  { role: 'system' as const, content: 'You answer briefly.' },
  { role: 'user' as const, content: 'What is the capital of France?' },
]
let client: Client | undefined
afterEach(async () => {
  await client?.close()
  client = undefined
})

/** An OpenAI-compatible server that ignores `stream_options.include_usage`: chunks, no usage. */
const noUsageStream: Provider = {
  name: 'quiet',
  chat: () => { throw new Error('not used') },
  async *stream(_request, call) {
    const base = { id: 'quiet', object: 'chat.completion.chunk' as const, created: 1, model: call.model }
    for (const content of ['The capital', ' of France', ' is Paris.']) {
      yield { ...base, choices: [{ index: 0, delta: { content }, finish_reason: null }] } satisfies ChatChunk
    }
    yield { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] } satisfies ChatChunk
  },
  embed: () => { throw new Error('not used') },
}

describe('token estimate', () => {
  it('counts usage for a stream whose provider sent none, flagged as estimated in the event', async () => {
    const recorder = createRecorder()
    client = createClient({ providers: { quiet: noUsageStream } }).use(recorder.layer)
    for await (const _chunk of client.stream({ model: 'quiet/model', messages })) void _chunk
    const usage = recorder.events[0]!.usage!
    expect(usage.estimated).toBe(true)
    expect(usage.outputTokens).toBe(countTokens('The capital of France is Paris.'))
    // Each message: its role, its content and 3 tokens of chat framing; then 3 to prime the reply.
    const expectedInput = messages.reduce((sum, message) => sum + 3 + countTokens(message.role) + countTokens(message.content), 3)
    expect(usage.inputTokens).toBe(expectedInput)
    expect(usage.totalTokens).toBe(usage.inputTokens + usage.outputTokens)
  })

  it('keeps the usage the provider sent, not flagged as estimated', async () => {
    const recorder = createRecorder()
    client = createClient().use(recorder.layer)
    for await (const _chunk of client.stream({ model: 'mock/x', messages, mock_response: 'a b c' })) void _chunk
    expect(recorder.events[0]!.usage!.outputTokens).toBe(3)
    expect(recorder.events[0]!.usage!.estimated).toBeUndefined()
  })

  it('counts text that looks like a special token instead of throwing', async () => {
    const usage = await estimateUsage(
      { model: 'quiet/model', messages: [{ role: 'user', content: 'say <|endoftext|> please' }] },
      { id: 'x', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: '<|endoftext|>' }, finish_reason: 'stop' }] },
    )
    expect(usage.outputTokens).toBeGreaterThan(1)
  })

  it('counts tool-call arguments of the reply as output', async () => {
    const args = '{"city":"Paris","unit":"celsius"}'
    const usage = await estimateUsage(
      { model: 'quiet/model', messages },
      {
        id: 'x', object: 'chat.completion', created: 1, model: 'm',
        choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: 'call', type: 'function', function: { name: 'weather', arguments: args } }] }, finish_reason: 'tool_calls' }],
      },
    )
    expect(usage.outputTokens).toBe(countTokens('weather') + countTokens(args))
  })

  it('estimates the input of an embedding request, strings and token arrays alike', async () => {
    expect(await estimateInputTokens({ model: 'm', input: ['hello world', 'bonjour'] })).toBe(countTokens('hello world') + countTokens('bonjour'))
    expect(await estimateInputTokens({ model: 'm', input: [[1, 2, 3], [4, 5]] })).toBe(5)
  })
})
