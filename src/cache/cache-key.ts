/**
 * The exact-match key of a cached call: a SHA-256 over the call type, the model, the messages (or
 * the embedding input) and every parameter that can change the answer, written as canonical JSON
 * (object keys sorted), so the same request always gives the same key whatever the order of its
 * fields. Parameters that only steer delivery, logging or the cache itself are left out, and so is
 * every parameter whose name says it holds a credential: the key material never carries a key, and
 * only its hash is ever stored.
 */
import { digestHex } from '../text-digest'
import type { CallType } from '../context'
import { isSecretKey } from '../redact'
import { rememberedPerName } from '../remembered-per-name'

/**
 * Request fields left out of the default key: how the reply is delivered (`stream`,
 * `stream_options`), what is logged (`metadata`, `tags`, `no-log`), the cache's own controls
 * (`cache`), where and with what the call is sent (`api_key`, `api_base`, `base_url`, `api_version`,
 * `extra_headers`), and the proxy's guardrail names.
 */
export const defaultIgnoredParameters: ReadonlyArray<string> = [
  'stream', 'stream_options', 'metadata', 'tags', 'no-log', 'cache', 'guardrails',
  'api_key', 'api_base', 'base_url', 'api_version', 'extra_headers',
]

/** What a custom key function gets: the request (for an embedding batch, one input at a time) and the call type. */
export type CacheKeyFunction = (request: Readonly<Record<string, unknown>>, type: CallType) => unknown

/**
 * The key of `request`: 64 hex characters. `ignored` names the top-level fields left out; a custom
 * `keyOf` replaces the material (its result is hashed the same way).
 *
 * @example
 * ```ts
 * const ignored = new Set(defaultIgnoredParameters)
 * cacheKeyOf({ model: 'mock/echo', messages: [{ role: 'user', content: 'Hi' }], temperature: 0 }, 'chat', ignored)
 * // the same as for { temperature: 0, messages: [...], model: 'mock/echo', stream: true }
 * ```
 */
export function cacheKeyOf(request: Readonly<Record<string, unknown>>, type: CallType, ignored: ReadonlySet<string>, keyOf?: CacheKeyFunction): string {
  const material = keyOf ? `${type}\n${canonicalJson(keyOf(request, type))}` : `${type}\n${canonicalRequest(request, ignored)}`
  return digestHex('sha256', material)
}

/** The request's fields but the ignored and credential-named ones, as canonical JSON. */
function canonicalRequest(request: Readonly<Record<string, unknown>>, ignored: ReadonlySet<string>): string {
  const names = sortedKeys(request)
  let text = '{'
  for (const name of names) {
    const value = request[name]
    if (value === undefined || ignored.has(name) || isSecretKey(name)) continue
    if (text.length > 1) text += ','
    text += `${quotedName(name)}:${canonicalJson(value)}`
  }
  return `${text}}`
}

/**
 * `value` as JSON with every object's keys sorted, so two equal values give the same text whatever
 * the order their keys were written in. `undefined` members are left out, as JSON.stringify does.
 *
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] }) // '{"a":[{"c":3,"d":2}],"b":1}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) {
    let text = '['
    for (let index = 0; index < value.length; index++) {
      if (index > 0) text += ','
      const item = value[index]
      text += item === undefined ? 'null' : canonicalJson(item)
    }
    return `${text}]`
  }
  const record = value as Record<string, unknown>
  let text = '{'
  for (const name of sortedKeys(record)) {
    const item = record[name]
    if (item === undefined || typeof item === 'function') continue
    if (text.length > 1) text += ','
    text += `${quotedName(name)}:${canonicalJson(item)}`
  }
  return `${text}}`
}

/** A field name as a JSON string, remembered per name (requests repeat a few names: a quarter of the key's time was quoting them). */
const quotedName = rememberedPerName((name) => JSON.stringify(name))

/** `record`'s keys in code-unit order; most objects hold a few keys, often already in order. */
function sortedKeys(record: object): string[] {
  const keys = Object.keys(record)
  for (let index = 1; index < keys.length; index++) {
    if (keys[index - 1]! > keys[index]!) return keys.sort()
  }
  return keys
}
