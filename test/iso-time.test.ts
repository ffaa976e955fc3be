import { describe, expect, it } from 'vitest'
import { isoTime } from '../src/iso-time'

describe('isoTime', () => {
  it('gives the text of toISOString for times in any order, across seconds, days and years', () => {
    const now = Date.UTC(2026, 11, 31, 23, 59, 59, 998)
    const times = [now, now + 1, now + 2, now + 1, now - 999, now - 1000, now + 1000, 0, -1, -1000, -1001, 1, 999, 1000, 86_399_999, 86_400_000, Date.UTC(2024, 1, 29, 12), Date.UTC(10_000, 0, 1), Date.UTC(-1, 0, 1), 8.64e15, -8.64e15]
    let seed = 7
    for (let index = 0; index < 5_000; index++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      times.push(Math.round((seed / 2 ** 31 - 0.5) * 2 * 4e12), now + (seed % 3_000))
    }
    for (const time of times) expect(isoTime(time), String(time)).toBe(new Date(time).toISOString())
  })

  it('gives the text of toISOString for fractional milliseconds (a Date drops the fraction)', () => {
    for (const time of [1796546613280.7, 1796546613280.2, -0.5, -1.5, 0.25]) expect(isoTime(time)).toBe(new Date(time).toISOString())
  })

  it('throws the RangeError toISOString throws for a time a Date cannot hold', () => {
    for (const time of [Number.NaN, Number.POSITIVE_INFINITY, 8.64e15 + 1, -8.64e15 - 1000]) expect(() => isoTime(time)).toThrow(RangeError)
    // The last valid millisecond shares its second with invalid ones: a remembered second does not make them valid.
    expect(isoTime(8.64e15)).toBe('+275760-09-13T00:00:00.000Z')
    expect(() => isoTime(8.64e15 + 1)).toThrow(RangeError)
  })
})
