/**
 * OpenAI-shaped messages in the OpenTelemetry GenAI shape of `gen_ai.input.messages`,
 * `gen_ai.output.messages` and `gen_ai.system_instructions`: `{ role, parts: [{ type, ... }] }`.
 */
import type { CallEvent } from '../../event'

/** One part of a GenAI message (`text`, `tool_call`, `tool_call_response`, `uri`, ...). */
export type GenAiPart = { type: string } & Record<string, unknown>

/** A message in the GenAI semantic conventions' shape. */
export interface GenAiMessage {
  role: string
  parts: GenAiPart[]
  finish_reason?: string
}

type OpenAiMessage = Record<string, unknown>

/**
 * The prompt of a chat event. Providers that take system instructions apart from the chat history
 * (Gemini) get them in `system`, as the conventions ask; for the others they stay in `input`.
 */
export function inputMessagesOf(event: CallEvent): { input: GenAiMessage[]; system: GenAiPart[] } {
  const input: GenAiMessage[] = []
  const system: GenAiPart[] = []
  const separateSystem = event.provider === 'gemini'
  for (const message of event.messages ?? []) {
    const converted = toGenAiMessage(message)
    if (separateSystem && (message.role === 'system' || message.role === 'developer')) system.push(...converted.parts)
    else input.push(converted)
  }
  return { input, system }
}

/** The reply of a chat event: one assistant message per choice. */
export function outputMessagesOf(event: CallEvent): GenAiMessage[] {
  const choices = event.response?.choices
  if (!Array.isArray(choices)) return []
  return choices.map((choice: { message?: OpenAiMessage; finish_reason?: string | null }) => {
    const message = toGenAiMessage(choice.message ?? { role: 'assistant' })
    if (choice.finish_reason) message.finish_reason = choice.finish_reason
    return message
  })
}

/** One OpenAI-shaped message as a GenAI message. */
export function toGenAiMessage(message: OpenAiMessage): GenAiMessage {
  const role = String(message.role ?? 'user')
  if (role === 'tool') {
    return { role, parts: [{ type: 'tool_call_response', id: message.tool_call_id, response: textOfContent(message.content) }] }
  }
  const parts = partsOfContent(message.content)
  if (Array.isArray(message.tool_calls)) {
    for (const call of message.tool_calls as Array<{ id?: string; function?: { name?: string; arguments?: string } }>) {
      parts.push({ type: 'tool_call', id: call.id, name: call.function?.name, arguments: parseArguments(call.function?.arguments) })
    }
  }
  return { role, parts }
}

function partsOfContent(content: unknown): GenAiPart[] {
  if (typeof content === 'string') return [{ type: 'text', content }]
  if (!Array.isArray(content)) return []
  return content.map((part: Record<string, unknown>) => {
    if (part.type === 'text') return { type: 'text', content: part.text }
    if (part.type === 'image_url') return { type: 'uri', modality: 'image', uri: (part.image_url as { url?: string } | undefined)?.url }
    return { ...part, type: String(part.type) }
  })
}

/** The text of a message's content, whatever its shape: its text parts joined by `separator` (a line break unless given). */
export function textOfContent(content: unknown, separator = '\n'): string {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  return content
    .map((part: { type?: string; text?: unknown }) => (part.type === 'text' && typeof part.text === 'string' ? part.text : ''))
    .filter((text) => text !== '')
    .join(separator)
}

/** Tool-call arguments are a JSON string on the wire; the conventions prefer the object. */
function parseArguments(value: string | undefined): unknown {
  if (value === undefined) return undefined
  try {
    return JSON.parse(value)
  } catch {
    return value
  }
}
