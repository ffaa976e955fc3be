/**
 * Long content cut in events (`redact.maxLength`): how long a content string an event keeps, and the
 * cut itself, its first and last halves around a marker that says how much was left out.
 */
import type { RedactOptions } from './redact'

/** What `redact.maxLength` is unless set: 100,000 characters, about 25,000 tokens of English. */
export const defaultMaxContentLength = 100_000

/** What a length setting must be, for the errors that refuse one (the client's option, the proxy's variable). */
export const maxContentLengthRule = `a whole number of characters above 0 (default ${defaultMaxContentLength})`

/**
 * The longest content string an event keeps under `options` (`redact.maxLength`), or undefined when
 * strings are kept whole.
 *
 * @example
 * ```ts
 * maxContentLengthOf({}) // 100000
 * maxContentLengthOf({ maxLength: false }) // undefined
 * ```
 */
export function maxContentLengthOf(options: RedactOptions): number | undefined {
  return options.maxLength === false ? undefined : (options.maxLength ?? defaultMaxContentLength)
}

/**
 * `text` cut to `limit` characters: its first and last halves around a marker that says how many
 * characters were left out. A data URL keeps only its header (`data:image/png;base64,`) and the
 * marker: half a picture is no picture. A text no longer than `limit` is returned as it is.
 *
 * @example
 * ```ts
 * cutToLength('a'.repeat(10) + 'b'.repeat(10), 10) // 'aaaaa…[10 characters left out (redact.maxLength)]…bbbbb'
 * cutToLength(`data:image/png;base64,${'A'.repeat(300)}`, 100) // 'data:image/png;base64,…[300 characters left out (redact.maxLength)]…'
 * ```
 */
export function cutToLength(text: string, limit: number): string {
  if (text.length <= limit) return text
  const comma = text.startsWith('data:') ? text.indexOf(',') : -1
  if (comma !== -1 && comma < limit) return `${text.slice(0, comma + 1)}${leftOut(text.length - comma - 1)}`
  let head = Math.ceil(limit / 2)
  let tail = text.length - Math.floor(limit / 2)
  // Never half of a surrogate pair at either side of the cut.
  if (isHighSurrogate(text.charCodeAt(head - 1))) head--
  if (isLowSurrogate(text.charCodeAt(tail))) tail++
  return `${text.slice(0, head)}${leftOut(tail - head)}${text.slice(tail)}`
}

function leftOut(count: number): string {
  return `…[${count} characters left out (redact.maxLength)]…`
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff
}
