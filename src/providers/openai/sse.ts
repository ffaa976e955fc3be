/**
 * Server-sent events as OpenAI-compatible servers stream them, decoded as the body arrives: bytes
 * in, the `data` of every complete event out. It follows the SSE specification the way the `openai`
 * SDK reads it, so both transports of `openai()` see the same events.
 */
import { StringDecoder } from 'node:string_decoder'

const lineFeed = 10
const carriageReturn = 13
const colon = 58
const space = 32
const none: string[] = []

/**
 * An incremental SSE decoder. Lines end in `\n`, `\r\n` or `\r`, also when a read splits them;
 * lines starting with `:` are comments; an event's `data:` lines join with `\n`; a blank line
 * completes the event. An event still incomplete when the body ends is dropped, as the SSE
 * specification and the SDK do.
 *
 * @example
 * ```ts
 * const decoder = new SseDecoder()
 * decoder.push('data: {"a":1}\n\nda') // ['{"a":1}']
 * decoder.push('ta: [DONE]\n\n')     // ['[DONE]']
 * ```
 */
export class SseDecoder {
  /** UTF-8 characters split between two reads are joined here. */
  readonly #text = new StringDecoder('utf8')
  /** The start of a line whose end has not arrived yet. */
  #partial = ''
  #data: string | undefined
  #hasEvent = false
  /** The last read ended in `\r`: a `\n` starting the next one belongs to that line end. */
  #afterCarriageReturn = false

  /** Adds the next piece of the body and returns the data of the events it completed (often none). */
  push(piece: Uint8Array | string): string[] {
    let text = typeof piece === 'string' ? piece : this.#text.write(piece)
    if (this.#afterCarriageReturn && text.charCodeAt(0) === lineFeed) text = text.slice(1)
    this.#afterCarriageReturn = text.charCodeAt(text.length - 1) === carriageReturn
    if (text.includes('\r')) text = text.replace(/\r\n?/g, '\n')
    const buffer = this.#partial === '' ? text : this.#partial + text
    let completed = none
    let start = 0
    for (let end = buffer.indexOf('\n'); end !== -1; end = buffer.indexOf('\n', start)) {
      const data = this.#line(buffer, start, end)
      start = end + 1
      if (data === undefined) continue
      if (completed === none) completed = []
      completed.push(data)
    }
    this.#partial = start === 0 ? buffer : buffer.slice(start)
    return completed
  }

  /** Reads the line `buffer[start, end)`; returns an event's data when the line completes one. */
  #line(buffer: string, start: number, end: number): string | undefined {
    if (start === end) {
      if (this.#data === undefined && !this.#hasEvent) return undefined
      const data = this.#data ?? ''
      this.#data = undefined
      this.#hasEvent = false
      return data
    }
    if (buffer.charCodeAt(start) === colon) return undefined
    const split = buffer.indexOf(':', start)
    const fieldEnd = split === -1 || split > end ? end : split
    let valueStart = fieldEnd === end ? end : fieldEnd + 1
    if (buffer.charCodeAt(valueStart) === space && valueStart < end) valueStart++
    const field = buffer.slice(start, fieldEnd)
    if (field === 'data') {
      const value = buffer.slice(valueStart, end)
      this.#data = this.#data === undefined ? value : `${this.#data}\n${value}`
    } else if (field === 'event') {
      this.#hasEvent = valueStart < end
    }
    return undefined
  }
}
