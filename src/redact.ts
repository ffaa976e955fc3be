/**
 * What never leaves the process (credentials) and what leaves only when allowed (message content).
 */

export const REDACTED = '[redacted]'

/** Client-wide or per-layer redaction. */
export interface RedactOptions {
  /** Replace prompt and completion content with `"[redacted]"` in every event and export. */
  messages?: boolean
}

const secretHeader = /^(authorization|proxy-authorization|cookie|set-cookie|x-api-key|api-key|[a-z0-9-]*-api-key|x-goog-api-key|x-sentry-auth)$/i
const secretKey =
  /^(?:[a-z0-9_-]*api[_-]?key|authorization|password|passwd|secret|client_secret|secret_key|[a-z0-9_]*_secret|access_token|refresh_token|id_token|auth_token|master_key|private_key)$/i
/** Query parameters that carry credentials in URLs (Gemini's `?key=`, signed URLs' `token`). */
const secretQueryParameter = /^(?:key|token|sig|signature|[a-z0-9_-]*api[_-]?key|access_token|auth|password|secret)$/i

/** True for a header that carries a credential (`Authorization`, `api-key`, `x-api-key`, `*-api-key`, ...). */
export function isSecretHeader(name: string): boolean {
  return secretHeader.test(name)
}

/** Headers without credentials, names lower-cased. */
export function stripSecretHeaders(headers: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  if (!headers) return out
  for (const name in headers) {
    const value = headers[name]
    if (value === undefined || isSecretHeader(name)) continue
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value)
  }
  return out
}

/**
 * A copy of `value` without credential keys (`api_key`, `apiKey`, `authorization`, `*_api_key`, `x-api-key`,
 * `*_secret`, `access_token`, ...), recursing into objects and arrays (6 levels deep).
 *
 * @example
 * ```ts
 * stripSecretKeys({ api_key: 'sk-1', team: 'a', headers: { 'x-api-key': 'k' } }) // { team: 'a', headers: {} }
 * ```
 */
export function stripSecretKeys<T>(value: T, depth = 0): T {
  if (depth > 6 || value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map((item) => stripSecretKeys(item, depth + 1)) as T
  const out: Record<string, unknown> = {}
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (secretKey.test(key) || secretHeader.test(key)) continue
    out[key] = stripSecretKeys(item, depth + 1)
  }
  return out as T
}

/**
 * `url` without query parameters that carry credentials (`key`, `api_key`, `token`, `sig`, ...);
 * relative URLs stay relative.
 *
 * @example
 * ```ts
 * stripSecretQuery('/v1beta/models/gemini:generateContent?key=AIza&alt=sse') // '/v1beta/models/gemini:generateContent?alt=sse'
 * ```
 */
export function stripSecretQuery(url: string): string {
  const queryStart = url.indexOf('?')
  if (queryStart === -1) return url
  const hashStart = url.indexOf('#', queryStart)
  const query = url.slice(queryStart + 1, hashStart === -1 ? undefined : hashStart)
  const kept = query.split('&').filter((pair) => {
    const name = decodeURIComponentSafe(pair.split('=', 1)[0] ?? '')
    return pair !== '' && !secretQueryParameter.test(name)
  })
  const rest = hashStart === -1 ? '' : url.slice(hashStart)
  return url.slice(0, queryStart) + (kept.length > 0 ? `?${kept.join('&')}` : '') + rest
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/**
 * Chat messages with their content (and tool-call arguments) replaced by `"[redacted]"`; roles,
 * names and tool-call ids stay, so a redacted log still shows the shape of the conversation.
 *
 * @example
 * ```ts
 * redactMessages([{ role: 'user', content: 'my card is 4242...' }]) // [{ role: 'user', content: '[redacted]' }]
 * ```
 */
export function redactMessages<Message extends object>(messages: ReadonlyArray<Message>): Message[] {
  return messages.map((message) => {
    const copy: Record<string, unknown> = { ...message, content: REDACTED }
    const toolCalls = (message as { tool_calls?: unknown }).tool_calls
    if (Array.isArray(toolCalls)) {
      copy.tool_calls = toolCalls.map((call: { function?: object }) => ({ ...call, function: { ...call.function, arguments: REDACTED } }))
    }
    return copy as Message
  })
}

/**
 * A stream chunk with its delta content and tool-call arguments replaced by `"[redacted]"`
 * (chunks without content are returned as they are).
 *
 * @example
 * ```ts
 * ctx.onChunk((chunk) => void log(redact ? redactChunk(chunk) : chunk))
 * ```
 */
export function redactChunk<Chunk extends { choices?: ReadonlyArray<{ delta?: object }> }>(chunk: Chunk): Chunk {
  if (!chunk.choices?.some((choice) => hasContent(choice.delta))) return chunk
  return {
    ...chunk,
    choices: chunk.choices.map((choice) => {
      if (!hasContent(choice.delta)) return choice
      const [delta] = redactMessages([choice.delta as Record<string, unknown>])
      if ((choice.delta as { content?: unknown }).content == null) delete delta!.content
      return { ...choice, delta }
    }),
  }
}

function hasContent(delta: object | undefined): boolean {
  if (!delta) return false
  const { content, tool_calls: toolCalls } = delta as { content?: unknown; tool_calls?: unknown }
  return (content !== undefined && content !== null) || Array.isArray(toolCalls)
}

/**
 * A proxied HTTP request body made safe to log: credential keys removed, and with `redactContent`
 * its `messages` content and embedding `input` replaced by `"[redacted]"`.
 *
 * @example
 * ```ts
 * redactBody({ model: 'gpt-4o', api_key: 'sk-1', messages }, true) // { model: 'gpt-4o', messages: [{ role: 'user', content: '[redacted]' }] }
 * ```
 */
export function redactBody(body: unknown, redactContent: boolean): unknown {
  const safe = stripSecretKeys(body)
  if (!redactContent || safe === null || typeof safe !== 'object' || Array.isArray(safe)) return safe
  const copy = { ...(safe as Record<string, unknown>) }
  if (Array.isArray(copy.messages)) copy.messages = redactMessages(copy.messages as object[])
  if (copy.input !== undefined) copy.input = REDACTED
  if (copy.prompt !== undefined) copy.prompt = REDACTED
  return copy
}
