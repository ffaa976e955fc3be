/**
 * OpenTelemetry ids for our calls. Backends reject a whole batch for one malformed id (Langfuse
 * does), so every id is exactly 32 or 16 lower-case hex digits and never all zeros.
 */
import { randomFillSync } from 'node:crypto'
import { digestHex } from '../../text-digest'

const traceIdPattern = /^[0-9a-f]{32}$/
const invalidTraceId = '0'.repeat(32)

/**
 * The 32-hex trace id of a call's trace id: used as it is when it already is one (or a UUID, such as
 * our call ids), else derived from it by hashing, so calls that share `metadata.trace_id` share a trace.
 *
 * @example
 * ```ts
 * toOtelTraceId('0b8e5c1e-7f6d-4b7a-9c55-2f1e8d4c3b2a') // '0b8e5c1e7f6d4b7a9c552f1e8d4c3b2a'
 * toOtelTraceId('checkout-42')                           // 32 hex digits, the same every time
 * ```
 */
export function toOtelTraceId(traceId: string): string {
  // Our call ids are lower-case UUIDs already: dropping the dashes is all they need.
  const uuid = isLowerCaseUuid(traceId)
  const compact = uuid ? traceId.slice(0, 8) + traceId.slice(9, 13) + traceId.slice(14, 18) + traceId.slice(19, 23) + traceId.slice(24) : traceId.toLowerCase().replaceAll('-', '')
  if ((uuid || traceIdPattern.test(compact)) && compact !== invalidTraceId) return compact
  return digestHex('sha256', traceId).slice(0, 32)
}

/** Whether `value` is a UUID in lower-case hex (the shape of every call id): checked by hand, a regular expression costs several times more. */
function isLowerCaseUuid(value: string): boolean {
  if (value.length !== 36) return false
  for (let index = 0; index < 36; index++) {
    const code = value.charCodeAt(index)
    if (index === 8 || index === 13 || index === 18 || index === 23) {
      if (code !== 45) return false
    } else if (!((code >= 48 && code <= 57) || (code >= 97 && code <= 102))) return false
  }
  return true
}

/** Random bytes for span ids, drawn 4 KB at a time (512 ids) rather than one call into crypto per span. */
const pool = Buffer.alloc(4096)
let used = pool.length

/** A random 16-hex span id. */
export function randomSpanId(): string {
  for (;;) {
    if (used === pool.length) {
      randomFillSync(pool)
      used = 0
    }
    const id = pool.toString('hex', used, used + 8)
    used += 8
    if (id !== '0000000000000000') return id
  }
}
