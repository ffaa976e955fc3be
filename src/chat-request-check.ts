/**
 * The common chat request checked without zod: text messages and scalar parameters, what almost
 * every call sends. Zod's parse of `chatRequestSchema` costs about 1 µs for a one-message request
 * and grows with every message, on every call; this check is a few property reads. It is narrower
 * than the schema, never wider: anything it does not recognise (content parts, tool calls, tools,
 * a value out of range, a `null` parameter) goes to zod, which accepts it or names the wrong field as
 * always.
 */
import { requestSchemas, type ChatRequest } from './schema'
import { validate } from './validate'

type Check = (value: unknown) => boolean

const isFiniteNumber: Check = (value) => typeof value === 'number' && Number.isFinite(value)
const inRange = (min: number, max: number): Check => (value) => isFiniteNumber(value) && (value as number) >= min && (value as number) <= max
const isPositiveInteger: Check = (value) => Number.isSafeInteger(value) && (value as number) > 0
const isString: Check = (value) => typeof value === 'string'

/** Scalar parameters this check decides itself, with the schema's rules. */
const scalarChecks = new Map<string, Check>([
  ['temperature', inRange(0, 2)],
  ['top_p', inRange(0, 1)],
  ['max_tokens', isPositiveInteger],
  ['max_completion_tokens', isPositiveInteger],
  ['n', isPositiveInteger],
  ['seed', Number.isSafeInteger as Check],
  ['presence_penalty', isFiniteNumber],
  ['frequency_penalty', isFiniteNumber],
  ['stream', (value) => typeof value === 'boolean'],
  ['user', isString],
  ['mock_response', isString],
])

/**
 * Every parameter the schema knows; those without a check above are left to zod when present. Read
 * from the schema on the first request that needs it, not at import (the schema is built then).
 */
let schemaKeys: Set<string> | undefined

const textRoles = new Set(['system', 'developer', 'user', 'assistant'])

/** A message of a role and string content, with an optional string name, and nothing else. */
function isTextMessage(message: unknown): boolean {
  if (typeof message !== 'object' || message === null || Object.getPrototypeOf(message) !== Object.prototype) return false
  for (const key in message) {
    const value = (message as Record<string, unknown>)[key]
    if (key === 'role') {
      if (!textRoles.has(value as string)) return false
    } else if (key === 'content') {
      if (typeof value !== 'string') return false
    } else if (key !== 'name' || (value !== undefined && typeof value !== 'string')) {
      return false
    }
  }
  // Every key present passed its check above; both role and content must be there.
  const { role, content } = message as { role?: unknown; content?: unknown }
  return role !== undefined && content !== undefined
}

/**
 * `input` as the schema would return it (a copy, messages copied too, unknown parameters kept) when
 * it is a plain text chat request this check can decide; undefined when zod has to.
 */
export function plainChatRequest(input: unknown): ChatRequest | undefined {
  if (typeof input !== 'object' || input === null || Object.getPrototypeOf(input) !== Object.prototype) return undefined
  const request = input as Record<string, unknown>
  if (typeof request.model !== 'string' || request.model === '') return undefined
  const messages = request.messages
  if (!Array.isArray(messages) || messages.length === 0) return undefined
  for (let index = 0; index < messages.length; index++) if (!isTextMessage(messages[index])) return undefined
  for (const key in request) {
    if (key === 'model' || key === 'messages') continue
    const value = request[key]
    if (value === undefined) continue
    // `null` means absent; zod drops it, so the copy would differ: left to zod, which is rare.
    if (value === null) return undefined
    const check = scalarChecks.get(key)
    if (check ? !check(value) : (schemaKeys ??= new Set(Object.keys(requestSchemas().chatRequestSchema.shape))).has(key) || key === '__proto__') return undefined
  }
  const copy = { ...request, messages: messages.map((message: object) => ({ ...message })) }
  return copy as ChatRequest
}

/**
 * A chat request checked and copied, so layers may change it without touching the caller's object;
 * throws a `ValidationError` naming the first wrong field.
 *
 * @example
 * ```ts
 * const request = checkChatRequest({ model: 'mock/echo', messages: [{ role: 'user', content: 'Hi' }] })
 * ```
 */
export function checkChatRequest(input: unknown): ChatRequest {
  return plainChatRequest(input) ?? validate(requestSchemas().chatRequestSchema, input, 'chat request')
}
