/**
 * The master key check, compared in constant time. Both sides are hashed first so the comparison
 * takes the same time whatever the length of the key sent.
 *
 * The key is read from the headers LiteLLM's proxy reads, in its order
 * (litellm/proxy/auth/user_api_key_auth.py): `x-litellm-api-key` (with or without `Bearer `), then
 * `Authorization: Bearer <key>`, then `API-Key: <key>` (what Azure-style clients and older OpenAI
 * SDKs send). The first header present decides; a later one is not tried when it fails.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'

/** Answers whether a request's headers carry the master key. */
export type AuthCheck = (headers: IncomingHttpHeaders) => boolean

const bearer = /^Bearer\s+(.+)$/i

/** Where the key was found, and the key as sent (undefined when the header's form is wrong). */
export interface PresentedKey {
  header: 'x-litellm-api-key' | 'authorization' | 'api-key'
  key: string | undefined
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

/** A header's single value: Node joins repeated custom headers, so an array never reaches here but is refused anyway. */
function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name]
  return typeof value === 'string' && value !== '' ? value : undefined
}

/** The key a request presents, from the first of LiteLLM's headers that is present (virtual keys are read the same way). */
export function presentedKey(headers: IncomingHttpHeaders): PresentedKey | undefined {
  const litellm = headerValue(headers, 'x-litellm-api-key')
  if (litellm !== undefined) return { header: 'x-litellm-api-key', key: (bearer.exec(litellm)?.[1] ?? litellm).trim() }
  const authorization = headerValue(headers, 'authorization')
  if (authorization !== undefined) return { header: 'authorization', key: bearer.exec(authorization)?.[1]?.trim() }
  const apiKey = headerValue(headers, 'api-key')
  if (apiKey !== undefined) return { header: 'api-key', key: apiKey.trim() }
  return undefined
}

/**
 * Builds the check for `masterKey`; without a key every request passes.
 *
 * @example
 * ```ts
 * const allowed = createAuthCheck('sk-1234')
 * allowed({ authorization: 'Bearer sk-1234' }) // true
 * allowed({ 'x-litellm-api-key': 'sk-1234' })  // true
 * allowed({ 'api-key': 'sk-1234' })            // true
 * allowed({})                                  // false
 * ```
 */
export function createAuthCheck(masterKey: string | undefined): AuthCheck {
  if (masterKey === undefined || masterKey === '') return () => true
  const expected = digest(masterKey)
  return function checkMasterKey(headers) {
    const presented = presentedKey(headers)
    if (presented?.key === undefined) return false
    return timingSafeEqual(digest(presented.key), expected)
  }
}

/**
 * The message of a 401: what to send, never what was sent.
 *
 * @example
 * ```ts
 * unauthorisedMessage({}) // 'Authentication required: send the proxy master key as ...'
 * ```
 */
export function unauthorisedMessage(headers: IncomingHttpHeaders): string {
  const presented = presentedKey(headers)
  if (presented === undefined) {
    return 'Authentication required: send the proxy master key as "Authorization: Bearer <master_key>", "x-litellm-api-key: <master_key>" or "API-Key: <master_key>" (with the OpenAI SDK: apiKey: <master_key>).'
  }
  if (presented.key === undefined) return 'The Authorization header must be "Bearer <master_key>".'
  return `Invalid API key: the key in the ${presented.header} header is not the proxy master key (general_settings.master_key).`
}
