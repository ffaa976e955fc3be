import type { Entry } from './buffer'
import type { Dropped, SendResult } from './sink'

/**
 * How each part of a sent batch ended, from what `sendWithRetries` gave back: the whole batch
 * delivered (`undefined`) or dropped for one reason, or, when the sink left items out as
 * unencodable, the rest delivered and each of those dropped with its own error.
 *
 * @example
 * ```ts
 * for (const [entries, dropped] of batchOutcome(batch.entries, outcome)) settle(state, entries, dropped)
 * ```
 */
export function batchOutcome(entries: Entry[], outcome: Dropped | SendResult | undefined): Array<[Entry[], Dropped | undefined]> {
  if (outcome && 'reason' in outcome) return [[entries, outcome]]
  if (!outcome?.unencodable) return [[entries, undefined]]
  const bad = new Map(outcome.unencodable.map(({ index, error }) => [index, error]))
  const parts: Array<[Entry[], Dropped | undefined]> = [[entries.filter((_, index) => !bad.has(index)), undefined]]
  for (const [index, error] of bad) {
    const entry = entries[index]
    if (entry) parts.push([[entry], { reason: 'unencodable', error }])
  }
  return parts
}

/** The spool records of `entries` (those that have one), for the spool's acknowledgement. */
export function spoolIdsOf(entries: Entry[]): number[] {
  const ids: number[] = []
  for (const entry of entries) if (entry.spoolId !== undefined) ids.push(entry.spoolId)
  return ids
}
