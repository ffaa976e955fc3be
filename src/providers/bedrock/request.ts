/**
 * An OpenAI-shaped chat request as a Bedrock Converse request: system and developer messages →
 * `system`, user / assistant turns → `messages` (consecutive turns of one role merged, as Converse
 * wants them alternating), images as bytes, tool calls ↔ `toolUse` / `toolResult`, the sampling
 * parameters → `inferenceConfig`, tools → `toolConfig`. `response_format` becomes a forced tool call
 * whose input is the answer, as LiteLLM does it (Converse has no JSON mode). What Converse cannot
 * take is refused with a ValidationError naming the field.
 */
import type { ContentBlock, ConverseStreamCommandInput, Message as BedrockMessage, SystemContentBlock, Tool, ToolChoice } from '@aws-sdk/client-bedrock-runtime'
import { ValidationError } from '../../errors'
import type { ChatRequest, Message } from '../../schema'

/** The Converse body (everything but `modelId`), and the tool that carries a `response_format` answer. */
export interface ConverseRequest {
  body: Omit<ConverseStreamCommandInput, 'modelId'>
  /** Set when `response_format` asked for JSON: this tool's input is the reply's content. */
  jsonTool?: string
}

const imageFormats: Record<string, 'png' | 'jpeg' | 'gif' | 'webp'> = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/jpg': 'jpeg',
  'image/gif': 'gif',
  'image/webp': 'webp',
}

/** Request fields OpenAI has and Converse lacks: refused rather than dropped unseen (their no-op values, 0 and false, pass). */
const unsupported = ['seed', 'presence_penalty', 'frequency_penalty', 'logit_bias', 'logprobs', 'top_logprobs'] as const

/**
 * `request` as a Converse request for `modelId`. Throws {@link ValidationError} naming the field
 * Converse cannot take.
 *
 * @example
 * ```ts
 * const { body } = toConverseRequest({ model: 'bedrock/x', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 50 }, 'x')
 * body.inferenceConfig // { maxTokens: 50 }
 * ```
 */
export function toConverseRequest(request: ChatRequest, modelId: string): ConverseRequest {
  for (const field of unsupported) {
    const value = (request as Record<string, unknown>)[field]
    if (value !== undefined && value !== null && value !== false && value !== 0) throw invalid(field, `is not part of Bedrock's Converse API; remove it`)
  }
  if (request.n !== undefined && request.n !== 1) throw invalid('n', 'must be 1: Bedrock answers with one choice')
  const system: SystemContentBlock[] = []
  const messages: BedrockMessage[] = []
  const add = (role: 'user' | 'assistant', content: ContentBlock[]) => {
    if (content.length === 0) return
    const last = messages.at(-1)
    if (last?.role === role) last.content!.push(...content)
    else messages.push({ role, content })
  }
  request.messages.forEach((message, index) => {
    const where = `messages[${index}]`
    if (message.role === 'system' || message.role === 'developer') {
      for (const text of textsOf(message.content, where)) system.push({ text })
      if (hasCacheControl(message)) system.push({ cachePoint: { type: 'default' } })
    } else if (message.role === 'user') {
      add('user', [...contentBlocks(message.content, where), ...(hasCacheControl(message) ? [{ cachePoint: { type: 'default' as const } }] : [])])
    } else if (message.role === 'assistant') {
      const content: ContentBlock[] = message.content == null ? [] : contentBlocks(message.content, where)
      message.tool_calls?.forEach((call, position) => {
        content.push({ toolUse: { toolUseId: call.id, name: call.function.name, input: parseArguments(call.function.arguments, `${where}.tool_calls[${position}].function.arguments`) as never } })
      })
      add('assistant', content)
    } else {
      const text = textsOf(message.content, where).join('')
      add('user', [{ toolResult: { toolUseId: message.tool_call_id, content: [toolResultContent(text)] } }])
    }
  })
  const body: ConverseRequest['body'] = { messages }
  if (system.length > 0) body.system = system
  const inferenceConfig: NonNullable<ConverseRequest['body']['inferenceConfig']> = {}
  const maxTokens = request.max_tokens ?? request.max_completion_tokens
  if (maxTokens !== undefined) inferenceConfig.maxTokens = maxTokens
  if (request.temperature !== undefined) inferenceConfig.temperature = request.temperature
  if (request.top_p !== undefined) inferenceConfig.topP = request.top_p
  const stop = (typeof request.stop === 'string' ? [request.stop] : (request.stop ?? [])).filter((sequence) => sequence !== '')
  if (stop.length > 0) inferenceConfig.stopSequences = stop
  if (Object.keys(inferenceConfig).length > 0) body.inferenceConfig = inferenceConfig
  const topK = (request as { top_k?: unknown }).top_k
  if (typeof topK === 'number') body.additionalModelRequestFields = topKField(modelId, topK) as never
  const tools: Tool[] = (request.tools ?? []).map(({ function: tool }) => ({
    toolSpec: { name: tool.name, ...(tool.description ? { description: tool.description } : {}), inputSchema: { json: (tool.parameters ?? { type: 'object', properties: {} }) as never } },
  }))
  let toolChoice = toolChoiceOf(request.tool_choice)
  const jsonTool = jsonToolOf(request.response_format)
  if (jsonTool) {
    tools.push(jsonTool.tool)
    toolChoice = { tool: { name: jsonTool.name } }
  }
  if (tools.length > 0) body.toolConfig = { tools, ...(toolChoice ? { toolChoice } : {}) }
  return { body, jsonTool: jsonTool?.name }
}

/** Anthropic models take `top_k` beside the request, Nova models under their own `inferenceConfig` (LiteLLM's mapping). */
function topKField(modelId: string, topK: number): Record<string, unknown> {
  if (/(?:^|[.:/])anthropic\./.test(modelId)) return { top_k: topK }
  if (/(?:^|[.:/])amazon\.nova/.test(modelId)) return { inferenceConfig: { topK } }
  throw invalid('top_k', 'is taken by Bedrock for Anthropic and Amazon Nova models only; remove it')
}

function toolChoiceOf(choice: unknown): ToolChoice | undefined {
  if (choice === undefined || choice === null) return undefined
  if (choice === 'auto') return { auto: {} }
  if (choice === 'required') return { any: {} }
  if (choice === 'none') throw invalid('tool_choice', 'cannot be "none" on Bedrock; leave tools out of the request instead')
  const name = (choice as { function?: { name?: unknown } }).function?.name
  if (typeof name === 'string' && name !== '') return { tool: { name } }
  throw invalid('tool_choice', 'must be "auto", "required" or { type: "function", function: { name } }')
}

/** `response_format` as the tool Converse is forced to call (its input is the answer), or none. */
function jsonToolOf(format: ChatRequest['response_format']): { name: string; tool: Tool } | undefined {
  if (!format || format.type === 'text') return undefined
  if (format.type !== 'json_object' && format.type !== 'json_schema') throw invalid('response_format.type', 'must be text, json_object or json_schema')
  const spec = format.json_schema as { name?: unknown; schema?: unknown; description?: unknown } | undefined
  const name = typeof spec?.name === 'string' && spec.name !== '' ? spec.name : 'json_tool_call'
  const schema = spec?.schema ?? { type: 'object', additionalProperties: true, properties: {} }
  const description = typeof spec?.description === 'string' ? spec.description : undefined
  return { name, tool: { toolSpec: { name, ...(description ? { description } : {}), inputSchema: { json: schema as never } } } }
}

function hasCacheControl(message: Message): boolean {
  return (message as { cache_control?: unknown }).cache_control != null
}

function textsOf(content: Message['content'], where: string): string[] {
  if (typeof content === 'string') return content === '' ? [] : [content]
  if (!Array.isArray(content)) return []
  return content.map((part, index) => {
    if (part.type === 'text' && typeof part.text === 'string') return part.text
    throw invalid(`${where}.content[${index}].type`, `must be text here, not "${part.type}"`)
  }).filter((text) => text !== '')
}

function contentBlocks(content: Message['content'], where: string): ContentBlock[] {
  if (typeof content === 'string') return content === '' ? [] : [{ text: content }]
  if (!Array.isArray(content)) return []
  const blocks: ContentBlock[] = []
  content.forEach((part, index) => {
    if (part.type === 'text' && typeof part.text === 'string') {
      if (part.text !== '') blocks.push({ text: part.text })
    } else if (part.type === 'image_url') {
      blocks.push({ image: imageOf((part.image_url as { url?: unknown } | undefined)?.url, `${where}.content[${index}].image_url.url`) })
    } else {
      throw invalid(`${where}.content[${index}].type`, `Bedrock takes text and image_url parts, not "${part.type}"`)
    }
    if ((part as { cache_control?: unknown }).cache_control != null) blocks.push({ cachePoint: { type: 'default' } })
  })
  return blocks
}

/** A `data:` URL's image as the bytes Converse takes. */
function imageOf(url: unknown, where: string): NonNullable<ContentBlock.ImageMember['image']> {
  const match = typeof url === 'string' ? /^data:([^;,]+);base64,(.*)$/s.exec(url) : null
  if (!match) throw invalid(where, 'must be a data: URL (data:image/png;base64,...): Bedrock takes images as bytes, and llm-onion does not download URLs')
  const format = imageFormats[match[1]!.toLowerCase()]
  if (!format) throw invalid(where, `is a ${match[1]} image; Bedrock takes png, jpeg, gif and webp`)
  return { format, source: { bytes: Buffer.from(match[2]!, 'base64') } }
}

/** A tool's result: a JSON object or array as `json`, anything else as `text` (Converse refuses an empty text). */
function toolResultContent(text: string): { json: never } | { text: string } {
  try {
    const value: unknown = JSON.parse(text)
    if (value !== null && typeof value === 'object') return { json: value as never }
  } catch {
    // plain text
  }
  return { text: text === '' ? ' ' : text }
}

function parseArguments(text: string, where: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text === '' ? '{}' : text)
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>
  } catch {
    // reported below
  }
  throw invalid(where, 'must be a JSON object; Bedrock takes tool input as an object')
}

function invalid(path: string, message: string): ValidationError {
  return new ValidationError(`Invalid chat request for bedrock: ${path} ${message}.`, [{ path, message }], { provider: 'bedrock' })
}
