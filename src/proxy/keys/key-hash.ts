/**
 * Virtual keys as LiteLLM makes and stores them (litellm/proxy/management_endpoints/
 * key_management_endpoints.py, `hash_token` in litellm/proxy/_types.py): `sk-` and 22 URL-safe
 * characters (16 random bytes), stored as the sha256 of the key in hex, shown as `sk-...` and its
 * last four characters.
 */
import { randomBytes } from 'node:crypto'
import { digestHex } from '../../text-digest'

/**
 * A new virtual key.
 *
 * @example
 * ```ts
 * generateKey() // 'sk-Xv0n3a8J9dQw2Jr6b1RXkA'
 * ```
 */
export function generateKey(): string {
  return `sk-${randomBytes(16).toString('base64url')}`
}

/**
 * The stored form of a key: sha256, hex (LiteLLM's `token`).
 *
 * @example
 * ```ts
 * hashKey('sk-1234') // '5c2c8...'
 * ```
 */
export function hashKey(key: string): string {
  return digestHex('sha256', key)
}

/**
 * The token a management request names: a key (`sk-...`) is hashed, a 64-hex token is taken as the
 * hash already (LiteLLM's endpoints accept either).
 *
 * @example
 * ```ts
 * tokenOf('sk-1234') === hashKey('sk-1234') // true
 * ```
 */
export function tokenOf(keyOrToken: string): string {
  return /^[0-9a-f]{64}$/.test(keyOrToken) ? keyOrToken : hashKey(keyOrToken)
}

/**
 * How a key is shown: `sk-...` and its last four characters (LiteLLM's `key_name`).
 *
 * @example
 * ```ts
 * keyName('sk-Xv0n3a8J9dQw2Jr6b1RXkA') // 'sk-...RXkA'
 * ```
 */
export function keyName(key: string): string {
  return `sk-...${key.slice(-4)}`
}
