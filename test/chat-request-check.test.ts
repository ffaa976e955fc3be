/**
 * The chat request check without zod (src/chat-request-check.ts) must never be wider than the
 * schema: whatever it accepts, zod accepts too, and returns the same request. Everything else is
 * left to zod, whose errors name the wrong field.
 */
import { describe, expect, it } from 'vitest'
import { checkChatRequest, plainChatRequest } from '../src/chat-request-check'
import { chatRequestSchema } from '../src/schema'
import { isValidationError } from '../src/errors'

const user = (content: unknown) => ({ role: 'user', content })
const base = { model: 'mock/echo', messages: [user('Hi')] }

/** Requests the check decides itself. */
const plain: Array<[string, Record<string, unknown>]> = [
  ['one message', base],
  ['a conversation', { model: 'gpt-4o', messages: [{ role: 'system', content: 'Be brief.' }, user('Hi'), { role: 'assistant', content: 'Hello.' }, { role: 'developer', content: 'x', name: 'dev' }] }],
  ['every scalar parameter', { ...base, temperature: 2, top_p: 0, max_tokens: 1, max_completion_tokens: 5, n: 2, seed: -3, presence_penalty: -1.5, frequency_penalty: 0.5, stream: false, user: 'u-1', mock_response: 'canned' }],
  ['parameters the schema does not know, kept as they are', { ...base, reasoning_effort: 'low', logit_bias: { 50256: -100 } }],
  ['undefined optional parameters', { ...base, temperature: undefined, tools: undefined }],
  ['an empty string as content', { ...base, messages: [user('')] }],
]

/** Requests left to zod: some valid, some not. */
const leftToZod: Array<[string, unknown]> = [
  ['not an object', 'hello'],
  ['null', null],
  ['an array', [base]],
  ['a class instance', Object.assign(new (class Request {})(), base)],
  ['no model', { messages: base.messages }],
  ['an empty model', { ...base, model: '' }],
  ['a model that is not a string', { ...base, model: 4 }],
  ['no messages', { model: 'm' }],
  ['empty messages', { ...base, messages: [] }],
  ['messages that are not an array', { ...base, messages: user('Hi') }],
  ['a message that is not an object', { ...base, messages: ['Hi'] }],
  ['an unknown role', { ...base, messages: [{ role: 'robot', content: 'beep' }] }],
  ['a tool message', { ...base, messages: [{ role: 'tool', content: '42', tool_call_id: 'call_1' }] }],
  ['content parts', { ...base, messages: [user([{ type: 'text', text: 'Hi' }])] }],
  ['null content', { ...base, messages: [user(null)] }],
  ['an assistant message with tool calls', { ...base, messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] }] }],
  ['a message without content', { ...base, messages: [{ role: 'user' }] }],
  ['a message without role', { ...base, messages: [{ content: 'Hi' }] }],
  ['a name that is not a string', { ...base, messages: [{ role: 'user', content: 'Hi', name: 7 }] }],
  ['an extra key on a message', { ...base, messages: [{ role: 'user', content: 'Hi', cache_control: { type: 'ephemeral' } }] }],
  ['temperature over 2', { ...base, temperature: 2.5 }],
  ['negative temperature', { ...base, temperature: -0.1 }],
  ['temperature as a string', { ...base, temperature: '0.5' }],
  ['temperature NaN', { ...base, temperature: Number.NaN }],
  ['temperature Infinity', { ...base, temperature: Number.POSITIVE_INFINITY }],
  ['top_p over 1', { ...base, top_p: 1.5 }],
  ['fractional max_tokens', { ...base, max_tokens: 1.5 }],
  ['zero max_tokens', { ...base, max_tokens: 0 }],
  ['an unsafe integer seed', { ...base, seed: 2 ** 60 }],
  ['stream as a string', { ...base, stream: 'true' }],
  ['a user that is not a string', { ...base, user: 5 }],
  ['tools', { ...base, tools: [{ type: 'function', function: { name: 'f' } }] }],
  ['stream_options', { ...base, stream: true, stream_options: { include_usage: true } }],
  ['metadata and tags', { ...base, metadata: { team: 'a' }, tags: ['x'] }],
  ['stop', { ...base, stop: ['\n'] }],
  ['response_format', { ...base, response_format: { type: 'json_object' } }],
  ['mock_error', { ...base, mock_error: { status: 429 } }],
  ['a null parameter', { ...base, temperature: null, logprobs: null }],
  ['a __proto__ key', JSON.parse('{"model":"m","messages":[{"role":"user","content":"Hi"}],"__proto__":{"polluted":true}}')],
]

describe('the chat request check without zod', () => {
  it.each(plain)('decides %s, and returns what zod returns', (_name, input) => {
    const checked = plainChatRequest(input)
    expect(checked).toBeDefined()
    expect(checked).toEqual(chatRequestSchema.parse(input))
  })

  it.each(leftToZod)('leaves %s to zod', (_name, input) => {
    expect(plainChatRequest(input)).toBeUndefined()
  })

  it('returns a copy: layers that change the request or its messages leave the caller\'s objects alone', () => {
    const input = { model: 'm', messages: [user('Hi')], temperature: 1 }
    const checked = plainChatRequest(input)!
    checked.temperature = 0
    ;(checked.messages[0] as { content: string }).content = 'changed'
    checked.messages.push({ role: 'user', content: 'more' })
    expect(input).toEqual({ model: 'm', messages: [user('Hi')], temperature: 1 })
  })

  it('names the wrong field through zod when the request is invalid', () => {
    let thrown: unknown
    try {
      checkChatRequest({ ...base, temperature: 3 })
    } catch (error) {
      thrown = error
    }
    expect(isValidationError(thrown)).toBe(true)
    expect((thrown as Error).message).toMatch(/^Invalid chat request: temperature: /)
  })

  it('is never wider than zod on 5,000 generated requests', () => {
    let seed = 42
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31)
    const pick = <T,>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!
    const values = [-1, 0, 0.5, 1, 1.5, 2, 2.5, 3, -0, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60, '1', '', 'text', true, false, null, undefined, {}, [], [1]]
    const keys = ['temperature', 'top_p', 'max_tokens', 'max_completion_tokens', 'n', 'seed', 'presence_penalty', 'frequency_penalty', 'stream', 'user', 'mock_response', 'tools', 'stop', 'metadata', 'model', 'messages', 'extra']
    const messageKeys = ['role', 'content', 'name', 'tool_calls', 'tool_call_id', 'refusal']
    const roles = ['system', 'developer', 'user', 'assistant', 'tool', 'robot', undefined]
    let decided = 0
    for (let round = 0; round < 5_000; round++) {
      const request: Record<string, unknown> = { model: 'm', messages: [user('Hi'), { role: pick(roles), content: random() < 0.6 ? 'a' : pick(values) }] }
      for (let change = Math.floor(random() * 3); change > 0; change--) request[pick(keys)] = pick(values)
      const message = (request.messages as Array<Record<string, unknown>> | undefined)?.[1]
      if (message && typeof message === 'object' && random() < 0.3) message[pick(messageKeys)] = pick(values)
      const checked = plainChatRequest(request)
      if (checked === undefined) continue
      decided++
      const parsed = chatRequestSchema.safeParse(request)
      expect(parsed.success, JSON.stringify(request)).toBe(true)
      expect(checked).toEqual(parsed.data)
    }
    expect(decided).toBeGreaterThan(500)
  })

  it('accepts through zod the valid requests it leaves to zod', () => {
    const valid = leftToZod.filter(([, input]) => chatRequestSchema.safeParse(input).success).map(([name]) => name)
    expect(valid).toEqual(expect.arrayContaining(['a tool message', 'content parts', 'tools', 'stream_options', 'metadata and tags', 'an extra key on a message']))
    for (const [name, input] of leftToZod) {
      if (valid.includes(name)) expect(checkChatRequest(input)).toEqual(chatRequestSchema.parse(input))
      else expect(() => checkChatRequest(input), name).toThrow(/Invalid chat request/)
    }
  })

  it('treats null optional parameters as absent in the library, known or not', () => {
    const checked = checkChatRequest({ ...base, temperature: null, max_tokens: null, n: null, seed: null, stop: null, tools: null, user: null, metadata: null, logprobs: null })
    for (const name of ['temperature', 'max_tokens', 'n', 'seed', 'stop', 'tools', 'user', 'metadata', 'logprobs']) expect(checked[name], name).toBeUndefined()
    expect(JSON.parse(JSON.stringify(checked))).toEqual(base)
  })

  it('refuses metadata deeper than 32 levels or larger than 64 KiB, naming metadata', () => {
    let deep: Record<string, unknown> = { leaf: 1 }
    for (let level = 1; level < 33; level++) deep = { next: deep }
    expect(() => checkChatRequest({ ...base, metadata: deep })).toThrow(/^Invalid chat request: metadata: metadata nests deeper than 32 levels/)
    expect(() => checkChatRequest({ ...base, metadata: { note: 'x'.repeat(64 * 1024) } })).toThrow(/^Invalid chat request: metadata: metadata is 65547 bytes as JSON; the limit is 65536 bytes/)
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(() => checkChatRequest({ ...base, metadata: cyclic })).toThrow(/metadata nests deeper than 32 levels/)
  })
})
