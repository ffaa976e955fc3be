/**
 * A call's spend-log row encoded for a destination with a size limit per record (a DynamoDB item,
 * an SQS message, a Pub/Sub message). A record over the limit keeps every spend column and loses
 * its prompt and reply (`messages` and `response` become {@link omittedContent}): the call is
 * still counted, billed and traceable. One still over the limit without them cannot be sent: the
 * mapping throws, and the queue counts it as dropped (`mapping_failed`) and says why.
 */
import type { CallEvent } from '../event'
import { toSpendLogRow, type SpendLogRow } from './spend-log'

/** What `messages` and `response` hold in a record that was over its destination's limit. */
export const omittedContent = '[omitted: the record was over the size limit of its destination]'

/**
 * The event's spend-log row, encoded by `encode`, within `maxBytes` as `sizeOf` measures it.
 *
 * @example
 * ```ts
 * const body = sizedSpendLogRecord(event, JSON.stringify, Buffer.byteLength, 262_144, 'an SQS message')
 * ```
 */
export function sizedSpendLogRecord<Encoded>(
  event: CallEvent,
  encode: (row: SpendLogRow) => Encoded,
  sizeOf: (encoded: Encoded) => number,
  maxBytes: number,
  destination: string,
): Encoded {
  const row = toSpendLogRow(event)
  const whole = encode(row)
  if (sizeOf(whole) <= maxBytes) return whole
  const trimmed = encode({ ...row, messages: omittedContent, response: omittedContent })
  const size = sizeOf(trimmed)
  if (size <= maxBytes) return trimmed
  throw new Error(`call ${event.id} is ${size} bytes as ${destination} even without its messages and response, over the ${maxBytes}-byte limit; it is not sent`)
}
