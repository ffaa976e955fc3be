/**
 * Epoch milliseconds as an ISO 8601 UTC time, the text of `Date.prototype.toISOString()`, for the
 * exporters that stamp every event: `new Date(ms).toISOString()` costs about half a microsecond, and
 * the times of a busy process's events fall in the same second over and over. The text up to the
 * seconds is remembered for the last second seen (and always comes from `toISOString()` itself);
 * only the milliseconds are written per call.
 */

const maximumTime = 8.64e15
let cachedSecond = Number.NaN
let cachedPrefix = ''
/** '000' to '999', made on the first call rather than when an exporter's module is imported. */
let millisecondDigits: string[] | undefined

/**
 * `new Date(epochMs).toISOString()`, the same text (and the same RangeError for a time a `Date`
 * cannot hold).
 *
 * @example
 * ```ts
 * isoTime(1796546613280) // '2026-12-06T08:43:33.280Z'
 * ```
 */
export function isoTime(epochMs: number): string {
  // A Date holds whole milliseconds within 8.64e15 of the epoch; anything else goes to it to be cut or refused.
  if (!Number.isInteger(epochMs) || Math.abs(epochMs) > maximumTime) return new Date(epochMs).toISOString()
  const second = Math.floor(epochMs / 1000)
  if (second !== cachedSecond) {
    const iso = new Date(epochMs).toISOString()
    cachedPrefix = iso.slice(0, -4)
    cachedSecond = second
  }
  millisecondDigits ??= Array.from({ length: 1000 }, (_, millisecond) => String(millisecond).padStart(3, '0'))
  return `${cachedPrefix}${millisecondDigits[epochMs - second * 1000]}Z`
}
