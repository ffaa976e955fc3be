/**
 * Anthropic's Messages API request (`POST /v1/messages`) as a Chat Completions request, so the
 * Anthropic SDK and tools built on it (Claude Code) reach any model through the same onion.
 * Pure: no I/O, no state.
 *
 * `tool_result` blocks become tool messages placed before the rest of their user turn (chat wants
 * them right after the assistant's calls); images with a base64 source become data URLs.
 * `thinking` and `redacted_thinking` blocks of earlier turns are left out (chat models take no such
 * input), and so are `top_k` and `thinking`, which Chat Completions has no field for;
 * `output_config.format` becomes `response_format` and `output_config.effort` `reasoning_effort`. Server tools
 * (web search, code execution, ...) and document blocks are refused by name.
 */
import { z } from 'zod'
import { ValidationError } from '../errors'
import { imageUrlOf } from '../providers/anthropic/wire'
import type { ChatRequest, Message, Tool, ToolCall } from '../schema'
import { validate } from '../validate'

const block = z.looseObject({ type: z.string() })
const content = z.union([z.string(), z.array(block)])

/**
 * The fields read here; `null` stands for absent.
 *
 * @example
 * ```ts
 * messagesRequestSchema.parse({ model: 'claude', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] })
 * ```
 */
export const messagesRequestSchema = z.looseObject({
  model: z.string().min(1, 'model must name one of the models GET /v1/models lists'),
  max_tokens: z.number().int().positive().nullish(),
  messages: z.array(z.looseObject({ role: z.enum(['user', 'assistant']), content })).min(1, 'messages must hold at least one message'),
  system: content.nullish(),
  tools: z.array(z.looseObject({ name: z.string().min(1), type: z.string().nullish() })).nullish(),
  tool_choice: z.looseObject({ type: z.enum(['auto', 'any', 'tool', 'none']), name: z.string().optional(), disable_parallel_tool_use: z.boolean().optional() }).nullish(),
  stop_sequences: z.array(z.string()).nullish(),
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
  metadata: z.looseObject({ user_id: z.string().nullish() }).nullish(),
  output_config: z.looseObject({ effort: z.string().nullish(), format: z.looseObject({ type: z.literal('json_schema'), schema: z.record(z.string(), z.unknown()) }).nullish() }).nullish(),
  stream: z.boolean().nullish(),
})

type Block = Record<string, unknown> & { type: string }

function refuse(path: string, message: string): never {
  throw new ValidationError(message, [{ path, message }])
}

/**
 * Translates a Messages API body into the chat request the client runs.
 *
 * @example
 * ```ts
 * const chat = messagesToChatRequest({ model: 'claude', max_tokens: 256, system: 'Be brief.', messages: [{ role: 'user', content: 'Hi' }] })
 * // { model: 'claude', max_tokens: 256, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }] }
 * ```
 */
export function messagesToChatRequest(body: Record<string, unknown>): ChatRequest {
  const request = validate(messagesRequestSchema, body, 'Messages API request')
  const messages: Message[] = []
  if (request.system) {
    const system = typeof request.system === 'string' ? request.system : request.system.map((item, index) => text(item, `system[${index}]`)).join('\n')
    if (system !== '') messages.push({ role: 'system', content: system })
  }
  request.messages.forEach((entry, index) => {
    const path = `messages[${index}]`
    if (entry.role === 'assistant') messages.push(assistantMessage(entry.content, path))
    else messages.push(...userMessages(entry.content, path))
  })

  const chat: Record<string, unknown> = { model: request.model, messages }
  if (request.max_tokens) chat.max_tokens = request.max_tokens
  if (request.stop_sequences && request.stop_sequences.length > 0) chat.stop = request.stop_sequences
  if (request.temperature !== undefined && request.temperature !== null) chat.temperature = request.temperature
  if (request.top_p !== undefined && request.top_p !== null) chat.top_p = request.top_p
  if (request.metadata?.user_id) chat.user = request.metadata.user_id
  const output = request.output_config
  if (output?.format) chat.response_format = { type: 'json_schema', json_schema: { name: 'response', schema: output.format.schema, strict: true } }
  // Chat's reasoning_effort stops at high; Anthropic's xhigh and max ask for at least that.
  if (output?.effort) chat.reasoning_effort = ['low', 'medium', 'high'].includes(output.effort) ? output.effort : 'high'
  if (request.tools && request.tools.length > 0) chat.tools = request.tools.map((tool, index) => functionTool(tool, `tools[${index}]`))
  if (request.tool_choice) {
    const choice = request.tool_choice
    chat.tool_choice = choice.type === 'any' ? 'required' : choice.type === 'tool' ? { type: 'function', function: { name: choice.name } } : choice.type
    if (choice.disable_parallel_tool_use) chat.parallel_tool_calls = false
  }
  for (const field of ['tags', 'mock_response', 'mock_error'] as const) if (body[field] !== undefined && body[field] !== null) chat[field] = body[field]
  if (request.stream) chat.stream = true
  return chat as ChatRequest
}

function text(item: Block, path: string): string {
  if (item.type !== 'text' || typeof item.text !== 'string') return refuse(`${path}.type`, `${path} must be a text block ({ type: "text", text }); found type "${item.type}".`)
  return item.text
}

function assistantMessage(content: string | Block[], path: string): Message {
  if (typeof content === 'string') return { role: 'assistant', content }
  let reply = ''
  const calls: ToolCall[] = []
  content.forEach((item, index) => {
    if (item.type === 'text') reply += text(item, `${path}.content[${index}]`)
    else if (item.type === 'tool_use') calls.push({ id: String(item.id), type: 'function', function: { name: String(item.name), arguments: JSON.stringify(item.input ?? {}) } })
    else if (item.type !== 'thinking' && item.type !== 'redacted_thinking') {
      refuse(`${path}.content[${index}].type`, `${path}.content[${index}] is a "${item.type}" block, which an assistant turn cannot carry here: use text and tool_use blocks.`)
    }
  })
  return calls.length > 0 ? { role: 'assistant', content: reply === '' ? null : reply, tool_calls: calls } : { role: 'assistant', content: reply }
}

/** A user turn: its tool results as tool messages first, then the rest as one user message. */
function userMessages(content: string | Block[], path: string): Message[] {
  if (typeof content === 'string') return [{ role: 'user', content }]
  const results: Message[] = []
  const parts: Array<Record<string, unknown>> = []
  content.forEach((item, index) => {
    const at = `${path}.content[${index}]`
    if (item.type === 'tool_result') results.push({ role: 'tool', tool_call_id: String(item.tool_use_id), content: toolResultText(item.content, at) })
    else if (item.type === 'text') parts.push({ type: 'text', text: text(item, at) })
    else if (item.type === 'image') parts.push({ type: 'image_url', image_url: { url: imageUrl(item.source, at) } })
    else refuse(`${at}.type`, `${at} is a "${item.type}" block, which this proxy cannot pass on: use text, image and tool_result blocks.`)
  })
  if (parts.length > 0) results.push({ role: 'user', content: parts.length === 1 && parts[0]!.type === 'text' ? (parts[0]!.text as string) : parts } as Message)
  return results
}

function toolResultText(content: unknown, path: string): string {
  if (content === undefined || content === null) return ''
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return refuse(`${path}.content`, `${path}.content must be a string or an array of text blocks.`)
  return content.map((item: Block, index) => text(item, `${path}.content[${index}]`)).join('\n')
}

function imageUrl(source: unknown, path: string): string {
  return imageUrlOf(source) ?? refuse(`${path}.source`, `${path}.source must be { type: "base64", media_type, data } or { type: "url", url }.`)
}

function functionTool(tool: Record<string, unknown>, path: string): Tool {
  if (tool.type && tool.type !== 'custom') {
    return refuse(`${path}.type`, `${path} is Anthropic's server tool "${String(tool.type)}", which only Anthropic's own servers run: give the model client tools (name, description, input_schema) instead.`)
  }
  const definition: Tool['function'] = { name: String(tool.name) }
  if (typeof tool.description === 'string') definition.description = tool.description
  definition.parameters = (tool.input_schema as Record<string, unknown> | undefined) ?? { type: 'object', properties: {} }
  return { type: 'function', function: definition }
}
