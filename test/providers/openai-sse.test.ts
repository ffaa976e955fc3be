import { describe, expect, it } from 'vitest'
import { SseDecoder } from '../../src/providers/openai/sse'

/** Feeds `bytes` to a fresh decoder in pieces cut at `cuts`, and returns every event's data in order. */
function decode(bytes: Buffer, cuts: number[] = []): string[] {
  const decoder = new SseDecoder()
  const events: string[] = []
  let start = 0
  for (const cut of [...cuts, bytes.length]) {
    events.push(...decoder.push(bytes.subarray(start, cut)))
    start = cut
  }
  return events
}

describe('SseDecoder', () => {
  it('returns the data of each event completed by a blank line', () => {
    expect(decode(Buffer.from('data: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\n'))).toEqual(['{"a":1}', '{"b":2}', '[DONE]'])
  })

  it('joins the data lines of one event with a newline, and drops one space after the colon only', () => {
    expect(decode(Buffer.from('data: first\ndata:second\ndata:  third\n\n'))).toEqual(['first\nsecond\n third'])
  })

  it('skips comments and unknown fields, and completes an event that has only an event line as empty data', () => {
    expect(decode(Buffer.from(': keep-alive\n\nid: 7\nretry: 10\ndata: x\n\nevent: ping\n\n'))).toEqual(['x', ''])
  })

  it('reads CRLF and CR line ends as LF', () => {
    expect(decode(Buffer.from('data: one\r\n\r\ndata: two\r\rdata: three\n\n'))).toEqual(['one', 'two', 'three'])
  })

  it('drops an event the body ended before completing', () => {
    expect(decode(Buffer.from('data: complete\n\ndata: incomplete\n'))).toEqual(['complete'])
  })

  it('gives the same events wherever the reads split the body, inside a CRLF or a UTF-8 character too', () => {
    const body = Buffer.from('data: {"content":"héllo ✓"}\r\n\r\n: comment\r\ndata: {"content":\r\ndata: "two lines"}\r\n\r\ndata: [DONE]\r\n\r\n')
    const whole = decode(body)
    expect(whole).toEqual(['{"content":"héllo ✓"}', '{"content":\n"two lines"}', '[DONE]'])
    for (let cut = 1; cut < body.length; cut++) expect(decode(body, [cut]), `cut at byte ${cut}`).toEqual(whole)
    expect(decode(body, Array.from({ length: body.length - 1 }, (_, index) => index + 1))).toEqual(whole)
  })
})
