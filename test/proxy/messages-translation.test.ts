/**
 * The Messages API translation on its own (src/proxy/messages-*.ts): content blocks to chat
 * messages, what is refused, stop reasons, cached-token usage, block indices in a stream and the
 * error shape.
 */
import { describe, expect, it } from 'vitest'
import { isValidationError, type ChatChunk } from 'llm-onion'
import { openAiError } from '../../src/proxy/openai-errors'
import { chatToMessagesReply, toAnthropicError } from '../../src/proxy/messages-reply'
import { messagesToChatRequest } from '../../src/proxy/messages-request'
import { createMessagesStream } from '../../src/proxy/messages-stream'

describe('messagesToChatRequest', () => {
  it('drops thinking blocks, joins tool_result text blocks, takes url images and maps tool_choice', () => {
    const chat = messagesToChatRequest({
      model: 'm',
      max_tokens: 10,
      system: [{ type: 'text', text: 'One.' }, { type: 'text', text: 'Two.' }],
      messages: [
        { role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://example.test/cat.png' } }] },
        { role: 'assistant', content: [{ type: 'thinking', thinking: 'hmm', signature: 's' }, { type: 'tool_use', id: 't1', name: 'look', input: { a: 1 } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }] },
      ],
      tool_choice: { type: 'tool', name: 'look', disable_parallel_tool_use: true },
      metadata: { user_id: 'user-7' },
      top_k: 5,
    })
    expect(chat).toEqual({
      model: 'm',
      max_tokens: 10,
      messages: [
        { role: 'system', content: 'One.\nTwo.' },
        { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.test/cat.png' } }] },
        { role: 'assistant', content: null, tool_calls: [{ id: 't1', type: 'function', function: { name: 'look', arguments: '{"a":1}' } }] },
        { role: 'tool', tool_call_id: 't1', content: 'a\nb' },
      ],
      tool_choice: { type: 'function', function: { name: 'look' } },
      parallel_tool_calls: false,
      user: 'user-7',
    })
  })

  it('refuses document blocks and images inside tool results, naming the block', () => {
    const refused = (messages: unknown[]) => {
      try {
        messagesToChatRequest({ model: 'm', max_tokens: 10, messages })
      } catch (error) {
        if (isValidationError(error)) return error.path
      }
      return 'accepted'
    }
    expect(refused([{ role: 'user', content: [{ type: 'document', source: { type: 'text', data: 'x' } }] }])).toBe('messages[0].content[0].type')
    expect(refused([{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'image', source: {} }] }] }])).toBe('messages[0].content[0].content[0].type')
    expect(refused([{ role: 'robot', content: 'Hi' }])).toBe('messages[0].role')
  })
})

describe('chatToMessagesReply', () => {
  it('maps stop reasons and counts cached input tokens apart, as Anthropic does', () => {
    const reply = (finish: string) =>
      chatToMessagesReply({
        id: 'chatcmpl-1',
        object: 'chat.completion',
        created: 1,
        model: 'm',
        choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, finish_reason: finish }],
        usage: { prompt_tokens: 100, completion_tokens: 5, total_tokens: 105, prompt_tokens_details: { cached_tokens: 80 } },
      })
    expect(reply('stop')).toMatchObject({ id: 'msg_chatcmpl-1', stop_reason: 'end_turn', usage: { input_tokens: 20, output_tokens: 5, cache_read_input_tokens: 80 } })
    expect(reply('length').stop_reason).toBe('max_tokens')
    expect(reply('tool_calls').stop_reason).toBe('tool_use')
  })
})

describe('createMessagesStream', () => {
  it('numbers blocks in order, closing the text block before a tool_use block opens', () => {
    const base = { id: 'c1', object: 'chat.completion.chunk' as const, created: 1, model: 'm' }
    const chunk = (delta: ChatChunk['choices'][number]['delta'], finish: string | null = null): ChatChunk => ({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] })
    const stream = createMessagesStream('requested')
    const text =
      stream.chunk(chunk({ content: 'Hi' })) +
      stream.chunk(chunk({ tool_calls: [{ index: 0, id: 't1', function: { name: 'look', arguments: '{}' } }] })) +
      stream.chunk(chunk({}, 'tool_calls')) +
      stream.chunk({ ...base, choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } }) +
      stream.end()
    const data = text
      .split('\n\n')
      .filter((block) => block !== '')
      .map((block) => JSON.parse(block.split('\n')[1]!.slice('data: '.length)))
    expect(data.map((event) => [event.type, event.index])).toEqual([
      ['message_start', undefined],
      ['content_block_start', 0],
      ['content_block_delta', 0],
      ['content_block_stop', 0],
      ['content_block_start', 1],
      ['content_block_delta', 1],
      ['content_block_stop', 1],
      ['message_delta', undefined],
      ['message_stop', undefined],
    ])
    expect(data[7]).toEqual({ type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { input_tokens: 3, output_tokens: 2 } })
  })
})

describe('toAnthropicError', () => {
  it('keeps the status and headers and gives Anthropic error types', () => {
    const limited = toAnthropicError(openAiError(429, 'Slow down.', { headers: { 'retry-after': '2' } }))
    expect(limited).toEqual({ status: 429, headers: { 'retry-after': '2' }, body: JSON.stringify({ type: 'error', error: { type: 'rate_limit_error', message: 'Slow down.' } }) })
    expect(JSON.parse(toAnthropicError(openAiError(404, 'No.')).body).error.type).toBe('not_found_error')
    expect(JSON.parse(toAnthropicError(openAiError(502, 'Down.')).body).error.type).toBe('api_error')
  })
})
