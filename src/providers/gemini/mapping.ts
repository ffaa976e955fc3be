/**
 * OpenAI-shaped requests to Gemini's `generateContent` body, and Gemini's answers back to OpenAI
 * shape: system messages → `systemInstruction`, `assistant` → `model`, tool calls ↔
 * `functionCall` / `functionResponse`, sampling parameters → `generationConfig`, finish reasons and
 * `usageMetadata` → OpenAI's.
 */
import { randomUUID } from 'node:crypto'
import { ValidationError } from '../../errors'
import type { ChatRequest, ChatResponse, Message, ProviderUsage, ToolCall } from '../../schema'

/** One part of a Gemini content, as on the wire. */
export interface GeminiPart {
  text?: string
  thought?: boolean
  inlineData?: { mimeType: string; data: string }
  fileData?: { mimeType: string; fileUri: string }
  functionCall?: { name: string; args?: Record<string, unknown>; id?: string }
  functionResponse?: { name: string; response: Record<string, unknown> }
}

export interface GeminiContent {
  role: 'user' | 'model' | 'system'
  parts: GeminiPart[]
}

/** The `generateContent` body llm-onion sends. */
export interface GeminiRequest {
  contents: GeminiContent[]
  systemInstruction?: GeminiContent
  generationConfig?: Record<string, unknown>
  tools?: Array<{ functionDeclarations: Array<{ name: string; description?: string; parameters?: unknown }> }>
  toolConfig?: { functionCallingConfig: { mode: string; allowedFunctionNames?: string[] } }
}

export interface GeminiUsageMetadata {
  promptTokenCount?: number
  candidatesTokenCount?: number
  totalTokenCount?: number
  cachedContentTokenCount?: number
  thoughtsTokenCount?: number
}

export interface GeminiCandidate {
  index?: number
  content?: { role?: string; parts?: GeminiPart[] }
  finishReason?: string
}

/** A `generateContent` answer, or one event of a streamed one. */
export interface GeminiResponse {
  candidates?: GeminiCandidate[]
  promptFeedback?: { blockReason?: string; blockReasonMessage?: string }
  usageMetadata?: GeminiUsageMetadata
  modelVersion?: string
  responseId?: string
}

const contentFilterReasons = new Set(['SAFETY', 'RECITATION', 'LANGUAGE', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'IMAGE_SAFETY'])

/** Gemini's finish reason in OpenAI's words; `tool_calls` when the candidate called functions. */
export function finishReasonOf(reason: string | undefined, calledTools: boolean): string | null {
  if (!reason) return null
  if (reason === 'MAX_TOKENS') return 'length'
  if (contentFilterReasons.has(reason)) return 'content_filter'
  return calledTools ? 'tool_calls' : 'stop'
}

/** `usageMetadata` → OpenAI usage. Thinking tokens count as completion tokens, as OpenAI counts reasoning. */
export function usageOf(metadata: GeminiUsageMetadata | undefined): ProviderUsage | undefined {
  if (!metadata) return undefined
  const prompt = metadata.promptTokenCount ?? 0
  const thoughts = metadata.thoughtsTokenCount ?? 0
  const completion = (metadata.candidatesTokenCount ?? 0) + thoughts
  const usage: ProviderUsage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: metadata.totalTokenCount ?? prompt + completion }
  if (metadata.cachedContentTokenCount) usage.prompt_tokens_details = { cached_tokens: metadata.cachedContentTokenCount }
  if (thoughts) usage.completion_tokens_details = { reasoning_tokens: thoughts }
  return usage
}

/** A tool-call id for a Gemini function call, which (in this API version) has none of its own. */
export function toolCallId(call: { id?: string }): string {
  return call.id ?? `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`
}

/** The answer text and tool calls of one candidate; thought summaries are left out. */
export function partsToMessage(parts: GeminiPart[] | undefined): { text: string; toolCalls: ToolCall[] } {
  let text = ''
  const toolCalls: ToolCall[] = []
  for (const part of parts ?? []) {
    if (part.thought) continue
    if (typeof part.text === 'string') text += part.text
    if (part.functionCall) {
      toolCalls.push({
        id: toolCallId(part.functionCall),
        type: 'function',
        function: { name: part.functionCall.name, arguments: JSON.stringify(part.functionCall.args ?? {}) },
      })
    }
  }
  return { text, toolCalls }
}

/** A whole (non-streamed) Gemini answer as an OpenAI chat completion. */
export function toChatResponse(response: GeminiResponse, fallback: { id: string; model: string }): ChatResponse {
  const result: ChatResponse = {
    id: response.responseId ?? fallback.id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: response.modelVersion ?? fallback.model,
    choices: (response.candidates ?? []).map((candidate, position) => {
      const { text, toolCalls } = partsToMessage(candidate.content?.parts)
      const message: ChatResponse['choices'][number]['message'] = {
        role: 'assistant',
        content: text !== '' || toolCalls.length === 0 ? text : null,
      }
      if (toolCalls.length > 0) message.tool_calls = toolCalls
      return { index: candidate.index ?? position, message, finish_reason: finishReasonOf(candidate.finishReason, toolCalls.length > 0) }
    }),
  }
  const usage = usageOf(response.usageMetadata)
  if (usage) result.usage = usage
  return result
}

/** An OpenAI chat request as a Gemini `generateContent` body. Throws {@link ValidationError} naming the field Gemini cannot take. */
export function toGeminiRequest(request: ChatRequest): GeminiRequest {
  const system: GeminiPart[] = []
  const contents: GeminiContent[] = []
  const toolNames = new Map<string, string>()
  const add = (role: 'user' | 'model', parts: GeminiPart[]) => {
    if (parts.length === 0) return
    const last = contents.at(-1)
    // Gemini wants turns to alternate; consecutive messages of one role (several tool results) share a turn.
    if (last && last.role === role && Boolean(last.parts[0]?.functionResponse) === Boolean(parts[0]?.functionResponse)) last.parts.push(...parts)
    else contents.push({ role, parts })
  }
  request.messages.forEach((message, index) => {
    const where = `messages[${index}]`
    if (message.role === 'system' || message.role === 'developer') system.push(...contentParts(message.content, where))
    else if (message.role === 'user') add('user', contentParts(message.content, where))
    else if (message.role === 'assistant') {
      const parts = message.content == null ? [] : contentParts(message.content, where)
      message.tool_calls?.forEach((call, position) => {
        toolNames.set(call.id, call.function.name)
        parts.push({ functionCall: { name: call.function.name, args: parseArguments(call.function.arguments, `${where}.tool_calls[${position}].function.arguments`) } })
      })
      add('model', parts)
    } else {
      const name = toolNames.get(message.tool_call_id) ?? (message as { name?: string }).name
      if (!name) throw invalid(`${where}.tool_call_id`, `"${message.tool_call_id}" matches no tool call of an earlier assistant message; Gemini needs the function's name`)
      add('user', [{ functionResponse: { name, response: responseObject(textOf(message.content)) } }])
    }
  })
  const body: GeminiRequest = { contents }
  if (system.length > 0) body.systemInstruction = { role: 'system', parts: system }
  const generationConfig = generationConfigOf(request)
  if (generationConfig) body.generationConfig = generationConfig
  if (request.tools?.length) {
    body.tools = [
      {
        functionDeclarations: request.tools.map(({ function: tool }) => {
          const declaration: { name: string; description?: string; parameters?: unknown } = { name: tool.name }
          if (tool.description) declaration.description = tool.description
          const properties = (tool.parameters as { properties?: object } | undefined)?.properties
          // Gemini rejects an object schema without properties; a function without parameters omits it.
          if (properties && Object.keys(properties).length > 0) declaration.parameters = geminiSchema(tool.parameters)
          return declaration
        }),
      },
    ]
  }
  const toolConfig = toolConfigOf(request.tool_choice)
  if (toolConfig) body.toolConfig = toolConfig
  return body
}

function generationConfigOf(request: ChatRequest): Record<string, unknown> | undefined {
  const config: Record<string, unknown> = {}
  const set = (key: string, value: unknown) => {
    if (value !== undefined && value !== null) config[key] = value
  }
  set('temperature', request.temperature)
  set('topP', request.top_p)
  set('topK', typeof request.top_k === 'number' ? request.top_k : undefined)
  set('maxOutputTokens', request.max_tokens ?? request.max_completion_tokens)
  set('stopSequences', typeof request.stop === 'string' ? [request.stop] : request.stop)
  set('candidateCount', request.n)
  set('presencePenalty', request.presence_penalty)
  set('frequencyPenalty', request.frequency_penalty)
  set('seed', request.seed)
  const format = request.response_format
  if (format?.type === 'json_object' || format?.type === 'json_schema') config.responseMimeType = 'application/json'
  const schema = (format?.json_schema as { schema?: unknown } | undefined)?.schema
  if (format?.type === 'json_schema' && schema) config.responseSchema = geminiSchema(schema)
  return Object.keys(config).length > 0 ? config : undefined
}

function toolConfigOf(choice: unknown): GeminiRequest['toolConfig'] {
  if (choice === 'none') return { functionCallingConfig: { mode: 'NONE' } }
  if (choice === 'auto') return { functionCallingConfig: { mode: 'AUTO' } }
  if (choice === 'required') return { functionCallingConfig: { mode: 'ANY' } }
  const name = (choice as { function?: { name?: string } } | undefined)?.function?.name
  if (name) return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [name] } }
  return undefined
}

/** JSON Schema without the keywords Gemini's OpenAPI subset rejects. */
function geminiSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(geminiSchema)
  if (schema === null || typeof schema !== 'object') return schema
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'additionalProperties' || key === '$schema' || key === 'strict') continue
    out[key] = geminiSchema(value)
  }
  return out
}

function contentParts(content: Message['content'], where: string): GeminiPart[] {
  if (typeof content === 'string') return [{ text: content }]
  if (!Array.isArray(content)) return []
  return content.map((part, index) => {
    if (part.type === 'text' && typeof part.text === 'string') return { text: part.text }
    const url = part.type === 'image_url' ? (part.image_url as { url?: string } | undefined)?.url : undefined
    if (!url) throw invalid(`${where}.content[${index}].type`, `Gemini takes text and image_url parts, not "${part.type}"`)
    const data = /^data:([^;,]+);base64,(.*)$/s.exec(url)
    if (data) return { inlineData: { mimeType: data[1]!, data: data[2]! } }
    return { fileData: { mimeType: mimeTypeOf(url), fileUri: url } }
  })
}

const mimeTypes: Record<string, string> = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', webp: 'image/webp', gif: 'image/gif', pdf: 'application/pdf' }

function mimeTypeOf(url: string): string {
  const extension = /\.([a-z0-9]+)(?:[?#].*)?$/i.exec(url)?.[1]?.toLowerCase()
  return (extension && mimeTypes[extension]) || 'image/jpeg'
}

function textOf(content: Message['content']): string {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  return content.map((part) => (part.type === 'text' && typeof part.text === 'string' ? part.text : '')).join('')
}

function parseArguments(text: string, where: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text === '' ? '{}' : text)
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>
  } catch {
    // reported below
  }
  throw invalid(where, 'must be a JSON object; Gemini sends function arguments as an object')
}

/** A tool result as Gemini's `response` object: a JSON object as it is, anything else under `content`. */
function responseObject(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text)
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>
  } catch {
    // plain text
  }
  return { content: text }
}

function invalid(path: string, message: string): ValidationError {
  return new ValidationError(`Invalid chat request for gemini: ${path} ${message}.`, [{ path, message }], { provider: 'gemini' })
}
