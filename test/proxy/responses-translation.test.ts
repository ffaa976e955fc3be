/**
 * The Responses API translation on its own (src/proxy/responses-*.ts): input items to chat
 * messages, what is refused and why, and the stream's events in OpenAI's order with their
 * sequence numbers.
 */
import { describe, expect, it } from 'vitest'
import { isValidationError, type ChatChunk } from 'llm-onion'
import { chatToResponsesReply } from '../../src/proxy/responses-reply'
import { responsesToChatRequest } from '../../src/proxy/responses-request'
import { createResponsesStream } from '../../src/proxy/responses-stream'

function refusal(body: Record<string, unknown>): { path: string; message: string } {
  try {
    responsesToChatRequest(body)
  } catch (error) {
    if (isValidationError(error)) return { path: error.path, message: error.message }
    throw error
  }
  throw new Error('expected a ValidationError')
}

describe('responsesToChatRequest', () => {
  it('maps message items with text and image parts, function calls of one turn onto one assistant message, and their outputs', () => {
    const chat = responsesToChatRequest({
      model: 'm',
      instructions: 'Be brief.',
      input: [
        { role: 'developer', content: 'Answer in French.' },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'What is here?' }, { type: 'input_image', image_url: 'data:image/png;base64,AAAA', detail: 'low' }] },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Checking.' }] },
        { type: 'function_call', call_id: 'call_1', name: 'look', arguments: '{"a":1}' },
        { type: 'function_call', call_id: 'call_2', name: 'look', arguments: '{"a":2}' },
        { type: 'reasoning', id: 'rs_1', summary: [] },
        { type: 'function_call_output', call_id: 'call_1', output: 'one' },
        { type: 'function_call_output', call_id: 'call_2', output: [{ type: 'input_text', text: 'two' }] },
      ],
      tool_choice: { type: 'function', name: 'look' },
      text: { format: { type: 'json_object' } },
      max_output_tokens: 50,
      reasoning: { effort: 'low' },
      metadata: { team: 'a' },
      store: true,
      temperature: null,
    })
    expect(chat).toEqual({
      model: 'm',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'developer', content: 'Answer in French.' },
        { role: 'user', content: [{ type: 'text', text: 'What is here?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: 'low' } }] },
        {
          role: 'assistant',
          content: 'Checking.',
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'look', arguments: '{"a":1}' } },
            { id: 'call_2', type: 'function', function: { name: 'look', arguments: '{"a":2}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'one' },
        { role: 'tool', tool_call_id: 'call_2', content: 'two' },
      ],
      tool_choice: { type: 'function', function: { name: 'look' } },
      response_format: { type: 'json_object' },
      max_completion_tokens: 50,
      reasoning_effort: 'low',
      metadata: { team: 'a' },
    })
  })

  it('refuses what needs state or OpenAI-hosted features, naming the field and the fix', () => {
    expect(refusal({ model: 'm', input: 'Hi', previous_response_id: 'resp_1' })).toMatchObject({ path: 'previous_response_id', message: expect.stringContaining('whole conversation') })
    expect(refusal({ model: 'm', input: [{ type: 'item_reference', id: 'msg_1' }] })).toMatchObject({ path: 'input[0]', message: expect.stringContaining('store: false') })
    expect(refusal({ model: 'm', input: 'Hi', tools: [{ type: 'web_search' }] })).toMatchObject({ path: 'tools[0].type', message: expect.stringContaining('function tools') })
    expect(refusal({ model: 'm', input: 'Hi', background: true })).toMatchObject({ path: 'background' })
    expect(refusal({ model: 'm', input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file_1' }] }] })).toMatchObject({ path: 'input[0].content[0]', message: expect.stringContaining('image_url') })
    expect(refusal({ model: 'm', input: [{ type: 'computer_call_output', call_id: 'c' }] })).toMatchObject({ path: 'input[0].type' })
    expect(refusal({ model: 'm' })).toMatchObject({ path: 'input' })
  })
})

const chunk = (delta: ChatChunk['choices'][number]['delta'], finish: string | null = null, usage?: ChatChunk['usage']): ChatChunk => ({
  id: 'chat1',
  object: 'chat.completion.chunk',
  created: 1_700_000_000,
  model: 'gpt-test',
  choices: usage ? [] : [{ index: 0, delta, finish_reason: finish }],
  ...(usage ? { usage } : {}),
})

function events(text: string): Array<{ event: string; data: Record<string, any> }> {
  return text
    .split('\n\n')
    .filter((block) => block !== '')
    .map((block) => {
      const [eventLine, dataLine] = block.split('\n')
      return { event: eventLine!.slice('event: '.length), data: JSON.parse(dataLine!.slice('data: '.length)) }
    })
}

describe('createResponsesStream', () => {
  it('sends OpenAI event types in order, numbered from 0, text item before the function call, usage with details at the end', () => {
    const stream = createResponsesStream({ model: 'requested' })
    let text = stream.chunk(chunk({ role: 'assistant', content: '' }))
    text += stream.chunk(chunk({ content: 'Hel' }))
    text += stream.chunk(chunk({ content: 'lo' }))
    text += stream.chunk(chunk({ tool_calls: [{ index: 0, id: 'call_9', type: 'function', function: { name: 'look', arguments: '{"a"' } }] }))
    text += stream.chunk(chunk({ tool_calls: [{ index: 0, function: { arguments: ':1}' } }] }))
    text += stream.chunk(chunk({}, 'tool_calls'))
    text += stream.chunk(chunk({}, null, { prompt_tokens: 10, completion_tokens: 4, total_tokens: 14, prompt_tokens_details: { cached_tokens: 6 }, completion_tokens_details: { reasoning_tokens: 1 } }))
    text += stream.end()
    const all = events(text)
    expect(all.map((entry) => entry.event)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ])
    expect(all.map((entry) => entry.data.sequence_number)).toEqual(all.map((_, index) => index))
    expect(all.every((entry) => entry.data.type === entry.event)).toBe(true)
    const completed = all.at(-1)!.data.response
    expect(completed).toMatchObject({ id: 'resp_chat1', status: 'completed', model: 'gpt-test', store: false })
    expect(completed.output).toEqual([
      { type: 'message', id: 'msg_chat1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Hello', annotations: [], logprobs: [] }] },
      { type: 'function_call', id: 'fc_call_9', call_id: 'call_9', name: 'look', arguments: '{"a":1}', status: 'completed' },
    ])
    expect(completed.usage).toEqual({ input_tokens: 10, input_tokens_details: { cached_tokens: 6 }, output_tokens: 4, output_tokens_details: { reasoning_tokens: 1 }, total_tokens: 14 })
  })

  it('ends with response.incomplete (max_output_tokens) when the reply was cut by the token limit, as the non-streamed reply says', () => {
    const stream = createResponsesStream({ model: 'requested' })
    const all = events(stream.chunk(chunk({ content: 'Cut' }, 'length')) + stream.end())
    expect(all.at(-1)).toMatchObject({ event: 'response.incomplete', data: { response: { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } } } })
    const reply = chatToResponsesReply({ id: 'c', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'Cut' }, finish_reason: 'length' }] }, {})
    expect(reply).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, usage: null })
  })
})
