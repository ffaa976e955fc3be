/**
 * OpenAI's Responses API request (`POST /v1/responses`) as a Chat Completions request, so the call
 * runs through the same onion as `/v1/chat/completions`. Pure: no I/O, no state.
 *
 * The proxy keeps no responses: `previous_response_id`, `conversation`, `item_reference` input items
 * and `background` are refused with a 400 that says what to send instead; `store`, `include` and
 * `truncation` are accepted and have no effect. Only function tools exist on the chat side, so
 * OpenAI's hosted tools (web search, file search, ...) are refused by name.
 */
import { z } from 'zod'
import { ValidationError } from '../errors'
import type { ChatRequest, Message, Tool } from '../schema'
import { validate } from '../validate'

const item = z.looseObject({ type: z.string().optional(), role: z.string().optional() })

/**
 * The fields read here; anything else is refused below or has no chat equivalent and is left out.
 * `null` stands for absent, as OpenAI's SDK types allow.
 *
 * @example
 * ```ts
 * responsesRequestSchema.parse({ model: 'gpt-4o', input: 'Hi', temperature: null })
 * ```
 */
export const responsesRequestSchema = z.looseObject({
  model: z.string().min(1, 'model must name one of the models GET /v1/models lists'),
  input: z.union([z.string(), z.array(item)], { message: 'input must be a string or an array of input items' }),
  instructions: z.string().nullish(),
  tools: z.array(z.looseObject({ type: z.string() })).nullish(),
  tool_choice: z.union([z.string(), z.looseObject({ type: z.string() })]).nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  text: z.looseObject({ format: z.looseObject({ type: z.string() }).nullish(), verbosity: z.string().nullish() }).nullish(),
  max_output_tokens: z.number().int().positive().nullish(),
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
  reasoning: z.looseObject({ effort: z.string().nullish() }).nullish(),
  stream: z.boolean().nullish(),
  user: z.string().nullish(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
  previous_response_id: z.string().nullish(),
  background: z.boolean().nullish(),
})

export type ResponsesRequest = z.infer<typeof responsesRequestSchema>

/** Fields with the same name and meaning on both sides, copied when set. */
const sameFields = ['temperature', 'top_p', 'parallel_tool_calls', 'user', 'metadata', 'service_tier', 'prompt_cache_key', 'safety_identifier', 'tags', 'mock_response', 'mock_error'] as const

function refuse(path: string, message: string): never {
  throw new ValidationError(message, [{ path, message }])
}

/**
 * Translates a Responses API body into the chat request the client runs.
 *
 * @example
 * ```ts
 * const chat = responsesToChatRequest({ model: 'gpt-4o', instructions: 'Be brief.', input: 'Hi' })
 * // { model: 'gpt-4o', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }] }
 * ```
 */
export function responsesToChatRequest(body: Record<string, unknown>): ChatRequest {
  const request = validate(responsesRequestSchema, body, 'Responses API request')
  if (request.previous_response_id) {
    refuse('previous_response_id', 'previous_response_id is not supported: this proxy keeps no responses. Send the whole conversation in input (with the Vercel AI SDK, leave providerOptions.openai.previousResponseId unset).')
  }
  if (body.conversation !== undefined && body.conversation !== null) refuse('conversation', 'conversation is not supported: this proxy keeps no conversations. Send the whole conversation in input.')
  if (request.background) refuse('background', 'background: true is not supported: this proxy answers while the connection is open. Leave background unset, or stream the response.')

  const messages: Message[] = []
  if (request.instructions) messages.push({ role: 'system', content: request.instructions })
  if (typeof request.input === 'string') messages.push({ role: 'user', content: request.input })
  else request.input.forEach((entry, index) => addItem(messages, entry, `input[${index}]`))

  const chat: Record<string, unknown> = { model: request.model, messages }
  for (const field of sameFields) if (body[field] !== undefined && body[field] !== null) chat[field] = body[field]
  if (request.max_output_tokens) chat.max_completion_tokens = request.max_output_tokens
  if (request.reasoning?.effort) chat.reasoning_effort = request.reasoning.effort
  if (request.text?.verbosity) chat.verbosity = request.text.verbosity
  const format = request.text?.format
  if (format && format.type !== 'text') chat.response_format = responseFormat(format)
  if (request.tools && request.tools.length > 0) chat.tools = request.tools.map((tool, index) => functionTool(tool, `tools[${index}]`))
  if (request.tool_choice !== undefined && request.tool_choice !== null) chat.tool_choice = toolChoice(request.tool_choice)
  if (request.stream) chat.stream = true
  return chat as ChatRequest
}

function addItem(messages: Message[], entry: Record<string, unknown>, path: string): void {
  const type = entry.type ?? 'message'
  switch (type) {
    case 'message':
      return void messages.push(message(entry, path))
    case 'function_call': {
      const call = { id: String(entry.call_id), type: 'function' as const, function: { name: String(entry.name), arguments: String(entry.arguments ?? '') } }
      const last = messages.at(-1)
      // Several calls of one turn arrive as consecutive items; chat keeps them on one assistant message.
      if (last?.role === 'assistant') last.tool_calls = [...(last.tool_calls ?? []), call]
      else messages.push({ role: 'assistant', content: null, tool_calls: [call] })
      return
    }
    case 'function_call_output':
      return void messages.push({ role: 'tool', tool_call_id: String(entry.call_id), content: outputText(entry.output) })
    case 'reasoning':
      // A reasoning model's own notes from an earlier turn: chat models take no such input.
      return
    case 'item_reference':
      return refuse(path, `${path} is an item_reference ("${String(entry.id)}"): this proxy keeps no items. Send the item itself (with the Vercel AI SDK: providerOptions: { openai: { store: false } }).`)
    default:
      return refuse(`${path}.type`, `${path} is a "${String(type)}" item, which this proxy cannot run: only message, function_call, function_call_output and reasoning items are supported.`)
  }
}

function message(entry: Record<string, unknown>, path: string): Message {
  const role = entry.role
  if (role !== 'user' && role !== 'assistant' && role !== 'system' && role !== 'developer') {
    return refuse(`${path}.role`, `${path}.role must be user, assistant, system or developer; found ${JSON.stringify(role)}.`)
  }
  const content = entry.content
  if (typeof content === 'string') return { role, content } as Message
  if (!Array.isArray(content)) return refuse(`${path}.content`, `${path}.content must be a string or an array of content parts.`)
  if (role === 'assistant') return { role, content: content.map((item) => textOf(item)).join('') }
  const parts = content.map((item, index) => contentPart(item as Record<string, unknown>, `${path}.content[${index}]`))
  return { role, content: parts } as Message
}

function contentPart(item: Record<string, unknown> | null, path: string): Record<string, unknown> {
  if (item === null || typeof item !== 'object') return refuse(path, `${path} must be a content part object, for example { type: "input_text", text: "Hi" }.`)
  switch (item.type) {
    case 'input_text':
    case 'output_text':
      return { type: 'text', text: String(item.text) }
    case 'input_image':
      if (typeof item.image_url !== 'string') return refuse(path, `${path} names an image by file_id, which this proxy cannot read: send image_url (an https or data: URL).`)
      return { type: 'image_url', image_url: item.detail ? { url: item.image_url, detail: item.detail } : { url: item.image_url } }
    case 'input_file':
      if (typeof item.file_data !== 'string') return refuse(path, `${path} names a file by file_id or file_url, which this proxy cannot read: send file_data (a data: URL) and filename.`)
      return { type: 'file', file: { file_data: item.file_data, filename: item.filename } }
    default:
      return refuse(`${path}.type`, `${path} is a "${String(item.type)}" part: use input_text, input_image or input_file.`)
  }
}

function textOf(item: unknown): string {
  const value = item as { text?: unknown; refusal?: unknown }
  return typeof value.text === 'string' ? value.text : typeof value.refusal === 'string' ? value.refusal : ''
}

function outputText(output: unknown): string {
  if (typeof output === 'string') return output
  if (Array.isArray(output)) return output.map(textOf).join('')
  return JSON.stringify(output ?? '')
}

function functionTool(tool: Record<string, unknown>, path: string): Tool {
  if (tool.type !== 'function') {
    return refuse(`${path}.type`, `${path} is OpenAI's hosted "${String(tool.type)}" tool, which only OpenAI's own servers run: give the model function tools instead.`)
  }
  if (typeof tool.name !== 'string' || tool.name === '') return refuse(`${path}.name`, `${path}.name is required: the name the model calls the function by.`)
  const definition: Tool['function'] = { name: tool.name }
  if (typeof tool.description === 'string') definition.description = tool.description
  if (tool.parameters && typeof tool.parameters === 'object') definition.parameters = tool.parameters as Record<string, unknown>
  if (typeof tool.strict === 'boolean') definition.strict = tool.strict
  return { type: 'function', function: definition }
}

function toolChoice(choice: string | Record<string, unknown>): unknown {
  if (typeof choice === 'string') return choice
  if (choice.type === 'function' && typeof choice.name === 'string') return { type: 'function', function: { name: choice.name } }
  return refuse('tool_choice', `tool_choice ${JSON.stringify(choice)} is not supported: use "auto", "none", "required" or { type: "function", name }.`)
}

function responseFormat(format: Record<string, unknown>): Record<string, unknown> {
  if (format.type === 'json_object') return { type: 'json_object' }
  if (format.type !== 'json_schema') return refuse('text.format.type', `text.format.type must be text, json_object or json_schema; found "${String(format.type)}".`)
  const schema: Record<string, unknown> = { name: format.name ?? 'response', schema: format.schema }
  if (format.description !== undefined) schema.description = format.description
  if (format.strict !== undefined && format.strict !== null) schema.strict = format.strict
  return { type: 'json_schema', json_schema: schema }
}
