/**
 * What never leaves the process (credentials) and what leaves only when allowed (message content).
 */

import { maskText, type Detector } from './guardrails/detectors'
import { rememberedPerName } from './remembered-per-name'
import { isOwnKey } from './own-key'

export const REDACTED = '[redacted]'

/** Client-wide or per-layer redaction. */
export interface RedactOptions {
  /** Replace prompt and completion content with `"[redacted]"` in every event and export. */
  messages?: boolean
  /**
   * Client-wide: masks every string of the prompt, the reply, the embedding input and the error in
   * every event (so in what every sink receives, on success, failure and cancellation), leaving what
   * the caller gets alone. Default none.
   */
  mask?: (text: string) => string
  /**
   * Client-wide: the guardrails' detectors (`piiDetectors()`, `secretDetectors()`, `keywordDetector()`
   * exported by `llm-onion`, docs/guardrails.md) applied like `mask`, findings replaced by
   * `[EMAIL]`, `[SECRET]`, ... Default none.
   */
  detectors?: ReadonlyArray<Detector>
  /**
   * Client-wide: the longest string of the prompt, the reply, the embedding input and the error that
   * an event keeps, in characters (default 100,000). A longer one keeps its first and last halves of
   * that length around a marker saying how many characters were left out; a data URL (a base64 image
   * or audio clip) keeps its header and the marker (src/content-cut.ts). Cut after credentials are
   * scrubbed, so no part of one is left at the cut. Every event has it, so every sink: one 2 MB image
   * costs each export a few bytes, not 2 MB. `false` keeps every string whole.
   */
  maxLength?: number | false
}

const contentMasks = new WeakMap<RedactOptions, ((text: string) => string) | null>()

/**
 * The one function `redact.mask` and `redact.detectors` add up to, made once per options object;
 * undefined when neither is set (the event's hot path then does nothing more).
 *
 * @example
 * ```ts
 * const mask = contentMaskOf({ detectors: piiDetectors() })
 * mask?.('ada@example.com') // '[EMAIL]'
 * ```
 */
export function contentMaskOf(options: RedactOptions): ((text: string) => string) | undefined {
  let mask = contentMasks.get(options)
  if (mask === undefined) {
    const { mask: own, detectors } = options
    const detect = detectors && detectors.length > 0 ? (text: string) => maskText(text, detectors) : undefined
    mask = own && detect ? (text: string) => own(detect(text)) : (own ?? detect ?? null)
    contentMasks.set(options, mask)
  }
  return mask ?? undefined
}

const secretHeader =
  /^(?:authorization|proxy-authorization|cookie|set-cookie|x-api-key|api-key|[a-z0-9-]*-api-key|x-goog-api-key|x-sentry-auth|[a-z0-9-]*token|[a-z0-9-]*-secret|[a-z0-9-]*-password)$/i
/**
 * Keys whose values are credentials. `token` matches as a whole word at the end (`token`,
 * `access_token`, `x-auth-token`, `sessionToken`), never `max_tokens` or `total_tokens`.
 */
const secretKey =
  /^(?:[a-z0-9_-]*api[_-]?key|authorization|proxy-authorization|cookie|set-cookie|[a-z0-9_-]*(?:secret|password|passwd)[a-z0-9_-]*|[a-z0-9_-]*token|master[_-]?key|private[_-]?key|[a-z0-9_-]*access[_-]?key(?:[_-]?id)?|credentials?)$/i
/** Query parameters that carry credentials in URLs (Gemini's `?key=`, signed URLs' `token`). */
const secretQueryParameter = /^(?:key|token|sig|signature|[a-z0-9_-]*api[_-]?key|access_token|[a-z0-9_-]*token|auth|password|secret)$/i
/** `Bearer <token>` anywhere in a string (a header value pasted into metadata, an echoed request). */
const bearerValue = /\b([Bb]earer)\s+[A-Za-z0-9\-._~+/]{8,}=*/g

/**
 * Objects nested deeper than this are replaced by `"[redacted]"` as a whole when credentials are
 * stripped: a cap that keeps the walk cheap and the stack safe, without passing anything unchecked.
 */
export const maxRedactDepth = 32

/**
 * True for a header that carries a credential (`Authorization`, `api-key`, `x-api-key`, `*-api-key`, `x-auth-token`, `cookie`, ...).
 *
 * @example
 * ```ts
 * isSecretHeader('X-Auth-Token') // true
 * ```
 */
export const isSecretHeader: (name: string) => boolean = rememberedPerName((name) => secretHeader.test(name))

/**
 * True for an object key whose value is a credential (`api_key`, `apiKey`, `authorization`, `token`, `client_secret`, ...).
 *
 * @example
 * ```ts
 * isSecretKey('access_token') // true
 * isSecretKey('max_tokens')   // false
 * ```
 */
export const isSecretKey: (name: string) => boolean = rememberedPerName((name) => secretKey.test(name) || secretHeader.test(name))

/**
 * `text` with `Bearer <token>` values replaced by `Bearer [redacted]`.
 *
 * @example
 * ```ts
 * stripBearerTokens('sent Authorization: Bearer sk-abcdefgh123') // 'sent Authorization: Bearer [redacted]'
 * ```
 */
export function stripBearerTokens(text: string): string {
  // A plain search first: nearly no string has the word, and indexOf is far cheaper than the regex.
  if (text.indexOf('earer') === -1) return text
  bearerValue.lastIndex = 0
  return bearerValue.test(text) ? text.replace(bearerValue, `$1 ${REDACTED}`) : text
}

/** Headers without credentials, names lower-cased. */
export function stripSecretHeaders(headers: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  if (!headers) return out
  for (const name in headers) {
    const value = headers[name]
    if (value === undefined || isSecretHeader(name)) continue
    out[name.toLowerCase()] = stripBearerTokens(Array.isArray(value) ? value.join(', ') : String(value))
  }
  return out
}

/**
 * A copy of `value` without credential keys (`api_key`, `apiKey`, `authorization`, `*_api_key`, `x-api-key`,
 * `*_secret`, `token`, `access_token`, `cookie`, ...), with `Bearer <token>` values in strings replaced,
 * recursing into objects and arrays; what is nested deeper than {@link maxRedactDepth} levels is
 * replaced by `"[redacted]"` as a whole.
 *
 * @example
 * ```ts
 * stripSecretKeys({ api_key: 'sk-1', team: 'a', headers: { 'x-api-key': 'k' } }) // { team: 'a', headers: {} }
 * ```
 */
export function stripSecretKeys<T>(value: T, depth = 0): T {
  return cleanCopy(value, stripBearerTokens, depth)
}

/**
 * Like {@link stripSecretKeys}, with every string passed through `scrub` (a client's scrubber of
 * known credential values); used for every event.
 *
 * @example
 * ```ts
 * cleanCopy(ctx.metadata, (text) => ctx.scrub(text))
 * ```
 */
export function cleanCopy<T>(value: T, scrub: (text: string) => string, depth = 0): T {
  if (typeof value === 'string') return scrub(value) as T
  if (value === null || typeof value !== 'object') return value
  if (depth >= maxRedactDepth) return REDACTED as T
  if (Array.isArray(value)) return value.map((item) => cleanCopy(item, scrub, depth + 1)) as T
  const out: Record<string, unknown> = {}
  for (const key in value as Record<string, unknown>) {
    if (!isOwnKey(value as object, key) || isSecretKey(key)) continue
    out[key] = cleanCopy((value as Record<string, unknown>)[key], scrub, depth + 1)
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
