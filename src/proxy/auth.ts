/**
 * The master key check: `Authorization: Bearer <master_key>`, compared in constant time. Both sides
 * are hashed first so the comparison takes the same time whatever the length of the key sent.
 */
import { createHash, timingSafeEqual } from 'node:crypto'

/** Answers whether an `Authorization` header value carries the master key. */
export type AuthCheck = (authorization: string | undefined) => boolean

const bearer = /^Bearer\s+(.+)$/i

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

/**
 * Builds the check for `masterKey`; without a key every request passes.
 *
 * @example
 * ```ts
 * const allowed = createAuthCheck('sk-1234')
 * allowed('Bearer sk-1234') // true
 * allowed(undefined)        // false
 * ```
 */
export function createAuthCheck(masterKey: string | undefined): AuthCheck {
  if (masterKey === undefined || masterKey === '') return () => true
  const expected = digest(masterKey)
  return function checkMasterKey(authorization) {
    if (authorization === undefined) return false
    const match = bearer.exec(authorization)
    if (!match) return false
    return timingSafeEqual(digest(match[1]!.trim()), expected)
  }
}

/** The message of a 401: what to send, never what was sent. */
export function unauthorisedMessage(authorization: string | undefined): string {
  if (authorization === undefined) {
    return 'Authentication required: send the proxy master key as "Authorization: Bearer <master_key>" (with the OpenAI SDK: apiKey: <master_key>).'
  }
  if (!bearer.test(authorization)) return 'The Authorization header must be "Bearer <master_key>".'
  return 'Invalid API key: the bearer token is not the proxy master key (general_settings.master_key).'
}
