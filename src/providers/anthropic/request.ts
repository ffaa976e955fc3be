/**
 * An OpenAI-shaped chat request as the body of Anthropic's `POST /v1/messages`, as LiteLLM's
 * `AnthropicConfig` maps it: system and developer messages → `system`, tool calls ↔ `tool_use` /
 * `tool_result` blocks, images → image blocks, `max_tokens` always set (Anthropic requires it),
 * `stop` → `stop_sequences`, `tool_choice` and `parallel_tool_calls` → `tool_choice`, `user` →
 * `metadata.user_id`, `response_format: json_schema` → `output_config.format`, `reasoning_effort` →
 * `output_config.effort`. A message's `cache_control` (LiteLLM's message-level form of prompt caching)
 * goes on its last block. Pure: what Anthropic cannot take is refused by field name.
 */
import { ValidationError } from '../../errors'
import type { ChatRequest, Message } from '../../schema'
import { imageSourceOf } from './wire'

/**
 * `max_tokens` when the request sets none: LiteLLM's `DEFAULT_ANTHROPIC_CHAT_MAX_TOKENS` (4096,
 * litellm/constants.py), read from the same variable.
 */
export const defaultAnthropicMaxTokens = 4096

type Block = Record<string, unknown> & { type: string }
interface Turn {
  role: 'user' | 'assistant'
  content: Block[]
}

/** The Messages API body llm-onion sends (the SDK adds nothing to it but `stream`). */
export interface AnthropicRequest {
  model: string
  max_tokens: number
  messages: Turn[]
  system?: Block[]
  [field: string]: unknown
}

const efforts: Readonly<Record<string, string>> = { minimal: 'low', low: 'low', medium: 'medium', high: 'high', xhigh: 'xhigh', max: 'max' }

/**
 * The Messages API body for `request` sent to `model`.
 *
 * @example
 * ```ts
 * toAnthropicRequest({ model: 'anthropic/claude-sonnet-4-5', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }] }, 'claude-sonnet-4-5', 4096)
 * // { model: 'claude-sonnet-4-5', max_tokens: 4096, system: [{ type: 'text', text: 'Be brief.' }], messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }] }
 * ```
 */
export function toAnthropicRequest(request: ChatRequest, model: string, defaultMaxTokens: number): AnthropicRequest {
  if (request.n !== undefined && request.n > 1) throw invalid('n', 'must be 1: Anthropic answers with one choice; send several requests for several answers')
  const system: Block[] = []
  const turns: Turn[] = []
  const add = (role: Turn['role'], blocks: Block[]) => {
    if (blocks.length === 0) return
    const last = turns.at(-1)
    // Consecutive messages of one role (an assistant's tool results, then the user's next words) are one turn.
    if (last?.role === role) last.content.push(...blocks)
    else turns.push({ role, content: blocks })
  }
  request.messages.forEach((message, index) => {
    const where = `messages[${index}]`
    if (message.role === 'system' || message.role === 'developer') system.push(...withCacheControl(textBlocks(message.content, where), message))
    else if (message.role === 'user') add('user', withCacheControl(contentBlocks(message.content, where), message))
    else if (message.role === 'assistant') add('assistant', withCacheControl(assistantBlocks(message, where), message))
    else add('user', withCacheControl([{ type: 'tool_result', tool_use_id: message.tool_call_id, content: textOf(message.content, `${where}.content`) }], message))
  })

  const body: AnthropicRequest = { model, max_tokens: request.max_completion_tokens ?? request.max_tokens ?? defaultMaxTokens, messages: turns }
  if (system.length > 0) body.system = system
  const set = (key: string, value: unknown) => {
    if (value !== undefined && value !== null) body[key] = value
  }
  set('temperature', request.temperature)
  set('top_p', request.top_p)
  set('top_k', typeof request.top_k === 'number' ? request.top_k : undefined)
  set('stop_sequences', typeof request.stop === 'string' ? [request.stop] : request.stop)
  // Anthropic's own parameters, passed as the request gives them.
  set('thinking', request.thinking)
  if (typeof request.user === 'string' && acceptedUserId(request.user)) body.metadata = { user_id: request.user }
  if (request.tools?.length) body.tools = request.tools.map(toolOf)
  const choice = toolChoiceOf(request.tool_choice, request.parallel_tool_calls)
  if (choice) body.tool_choice = choice
  const output = outputConfigOf(request)
  if (output) body.output_config = output
  return body
}

function toolOf(tool: NonNullable<ChatRequest['tools']>[number]): Record<string, unknown> {
  const definition: Record<string, unknown> = { name: tool.function.name, input_schema: tool.function.parameters ?? { type: 'object', properties: {} } }
  if (tool.function.description) definition.description = tool.function.description
  return definition
}

/** OpenAI's `tool_choice` and `parallel_tool_calls` as Anthropic's `tool_choice`, as LiteLLM's `_map_tool_choice`. */
function toolChoiceOf(choice: unknown, parallel: unknown): Record<string, unknown> | undefined {
  let mapped: Record<string, unknown> | undefined
  if (choice === 'auto') mapped = { type: 'auto' }
  else if (choice === 'required') mapped = { type: 'any' }
  else if (choice === 'none') return { type: 'none' }
  else {
    const name = (choice as { function?: { name?: string } } | undefined)?.function?.name
    if (name) mapped = { type: 'tool', name }
  }
  if (typeof parallel === 'boolean') {
    mapped ??= { type: 'auto' }
    mapped.disable_parallel_tool_use = !parallel
  }
  return mapped
}

function outputConfigOf(request: ChatRequest): Record<string, unknown> | undefined {
  const config: Record<string, unknown> = {}
  const format = request.response_format
  if (format?.type === 'json_schema') {
    const schema = (format.json_schema as { schema?: unknown } | undefined)?.schema
    if (!schema || typeof schema !== 'object') throw invalid('response_format.json_schema.schema', 'must be a JSON schema object')
    config.format = { type: 'json_schema', schema }
  } else if (format?.type === 'json_object') {
    throw invalid('response_format.type', 'cannot be "json_object" for Anthropic, which takes a schema: use { type: "json_schema", json_schema: { name, schema } }')
  }
  const effort = request.reasoning_effort
  if (typeof effort === 'string' && efforts[effort]) config.effort = efforts[effort]
  return Object.keys(config).length > 0 ? config : undefined
}

function assistantBlocks(message: Extract<Message, { role: 'assistant' }>, where: string): Block[] {
  const blocks = message.content == null ? [] : textBlocks(message.content, where).filter((block) => block.text !== '')
  message.tool_calls?.forEach((call, position) => {
    blocks.push({ type: 'tool_use', id: call.id, name: call.function.name, input: parseArguments(call.function.arguments, `${where}.tool_calls[${position}].function.arguments`) })
  })
  return blocks
}

/** A message's `cache_control` (LiteLLM's message-level form) goes on its last block. */
function withCacheControl(blocks: Block[], message: Message): Block[] {
  const cacheControl = (message as { cache_control?: unknown }).cache_control
  if (cacheControl && blocks.length > 0) blocks[blocks.length - 1] = { ...blocks.at(-1)!, cache_control: cacheControl }
  return blocks
}

function contentBlocks(content: Message['content'], where: string): Block[] {
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }]
  if (!Array.isArray(content)) return []
  return content.map((part, index) => {
    if (part.type === 'text' && typeof part.text === 'string') return { type: 'text', text: part.text }
    const url = part.type === 'image_url' ? (part.image_url as { url?: string } | undefined)?.url : undefined
    if (!url) throw invalid(`${where}.content[${index}].type`, `must be "text" or "image_url" for Anthropic, not "${part.type}"`)
    return { type: 'image', source: imageSourceOf(url) }
  })
}

function textBlocks(content: Message['content'], where: string): Block[] {
  return contentBlocks(content, where).map((block, index) => {
    if (block.type !== 'text') throw invalid(`${where}.content[${index}].type`, 'must be "text": system and assistant messages carry text only')
    return block
  })
}

function textOf(content: Message['content'], where: string): string {
  if (typeof content === 'string') return content
  return textBlocks(content, where)
    .map((block) => block.text as string)
    .join('')
}

function parseArguments(text: string, where: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text === '' ? '{}' : text)
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>
  } catch {
    // reported below
  }
  throw invalid(where, 'must be a JSON object; Anthropic takes tool input as an object')
}

/** LiteLLM's `_valid_user_id`: Anthropic refuses an email address or a phone number as `metadata.user_id`, so those are left out. */
function acceptedUserId(user: string): boolean {
  return !/^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}$/.test(user) && !/^\+?[\d\s()-]{7,}$/.test(user)
}

function invalid(path: string, message: string): ValidationError {
  return new ValidationError(`Invalid chat request for anthropic: ${path} ${message}.`, [{ path, message }], { provider: 'anthropic' })
}
