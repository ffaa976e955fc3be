/**
 * The spool's on-disk record: a 12-byte header (the magic bytes `1e 53 50 01`, then the payload's
 * length and its CRC-32, both little-endian uint32) and a UTF-8 JSON payload. The magic starts with
 * a control byte, which JSON text never contains, so a reader that lost its place after a corrupt
 * record finds the next record by searching for it. An append is
 * `{"a":id,"s":sink,"v":item}`, an acknowledgement `{"k":[id, ...]}`. Items are JSON, with bigint
 * and Uint8Array kept by a tagged encoding. The CRC only detects corruption (torn writes, bad
 * sectors); it is no signature.
 */
import zlib from 'node:zlib'

export const recordMagic = Buffer.from([0x1e, 0x53, 0x50, 0x01])
export const headerBytes = 12

/** What a segment holds, in file order. */
export type SpoolEntry = { kind: 'append'; id: number; sink: string; item: unknown } | { kind: 'acknowledge'; ids: number[] }

// zlib.crc32 exists from Node 20.15 and 22.2; the engines field allows any Node 20, so older ones
// get the same polynomial (IEEE 802.3) from a table.
const crcTable = (() => {
  const table = new Int32Array(256)
  for (let index = 0; index < 256; index++) {
    let value = index
    for (let bit = 0; bit < 8; bit++) value = value & 1 ? 0xedb88320 ^ (value >>> 1) : value >>> 1
    table[index] = value
  }
  return table
})()

/** CRC-32 of `data` computed from a table: what `zlib.crc32` returns, for Node versions without it. */
export function tableCrc32(data: Uint8Array): number {
  let crc = -1
  for (let index = 0; index < data.length; index++) crc = crcTable[(crc ^ data[index]!) & 0xff]! ^ (crc >>> 8)
  return (crc ^ -1) >>> 0
}

const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array) => number }).crc32
const crc32: (data: Uint8Array) => number = nativeCrc32 ?? tableCrc32

// The tag is a key no JSON item of this library uses (a NUL-prefixed name).
const tagKey = '\u0000spool'
const taggedMarker = '\\u0000spool'

function encodeValue(this: Record<string, unknown>, key: string, value: unknown): unknown {
  // `this[key]` is the value before its toJSON ran: a Buffer's toJSON would give { type, data }.
  const raw = this[key]
  if (typeof raw === 'bigint') return { [tagKey]: 'bigint', value: raw.toString() }
  if (raw instanceof Uint8Array) return { [tagKey]: 'bytes', value: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') }
  return value
}

function decodeValue(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || !(tagKey in value)) return value
  const { [tagKey]: tag, value: text } = value as Record<string, unknown>
  if (tag === 'bigint' && typeof text === 'string') return BigInt(text)
  if (tag === 'bytes' && typeof text === 'string') return Buffer.from(text, 'base64')
  return value
}

/** An append record, framed; throws when the item cannot be encoded (a cycle, for instance). */
export function encodeAppend(id: number, sinkJson: string, item: unknown): Buffer {
  return frame(`{"a":${id},"s":${sinkJson},"v":${encodeItem(item)}}`)
}

// What a byte array looks like after a plain JSON.stringify: `{"0":1,...}`, `{}` when empty, and a
// Buffer's own toJSON. Only output holding one of them pays for the replacer (about twice the time).
const byteArrayTraces = ['{"0":', '{}', '"type":"Buffer"']

function encodeItem(item: unknown): string {
  let json: string | undefined
  try {
    json = JSON.stringify(item)
  } catch {
    // A bigint throws here; the replacer below handles it (and rethrows a real problem, a cycle).
  }
  if (json !== undefined && !byteArrayTraces.some((trace) => json.includes(trace))) return json
  // Wrapped, so a top-level bigint or Uint8Array goes through the replacer too.
  const wrapped = JSON.stringify({ item }, encodeValue)
  return wrapped.slice(8, -1) || 'null'
}

/** An acknowledgement record for `ids`, framed. */
export function encodeAcknowledge(ids: number[]): Buffer {
  return frame(`{"k":[${ids.join(',')}]}`)
}

function frame(json: string): Buffer {
  const length = Buffer.byteLength(json)
  const record = Buffer.allocUnsafe(headerBytes + length)
  recordMagic.copy(record, 0)
  record.write(json, headerBytes, 'utf8')
  record.writeUInt32LE(length, 4)
  record.writeUInt32LE(crc32(record.subarray(headerBytes)), 8)
  return record
}

/** What reading a segment found. */
export interface SegmentScan {
  entries: SpoolEntry[]
  /** Records whose checksum or JSON was wrong (skipped). */
  corrupt: number
  /** Bytes up to the end of the last whole record; a torn tail starts here. */
  validLength: number
}

/**
 * Reads every record of a segment. A record whose checksum or JSON is wrong is skipped and counted;
 * reading goes on at the next magic, so one bad record costs only itself. A record cut off by
 * the end of the file (a crash mid-write) ends the scan: `validLength` says where it starts.
 */
export function scanSegment(data: Buffer): SegmentScan {
  const entries: SpoolEntry[] = []
  let corrupt = 0
  let offset = 0
  while (offset < data.length) {
    if (data.length - offset < headerBytes) break
    if (data.compare(recordMagic, 0, 4, offset, offset + 4) !== 0) {
      corrupt++
      const next = data.indexOf(recordMagic, offset + 1)
      if (next === -1) break
      offset = next
      continue
    }
    const length = data.readUInt32LE(offset + 4)
    const end = offset + headerBytes + length
    if (end > data.length) {
      // Torn tail, or a corrupt length: a later magic says which.
      const next = data.indexOf(recordMagic, offset + 1)
      if (next === -1) break
      corrupt++
      offset = next
      continue
    }
    const payload = data.subarray(offset + headerBytes, end)
    const entry = crc32(payload) === data.readUInt32LE(offset + 8) ? parseEntry(payload.toString('utf8')) : undefined
    if (entry) {
      entries.push(entry)
      offset = end
      continue
    }
    corrupt++
    const next = data.indexOf(recordMagic, offset + 1)
    if (next === -1) break
    offset = next
  }
  // Whatever follows the last readable record (a torn write, or garbage) is cut off at reopen.
  return { entries, corrupt, validLength: offset }
}

function parseEntry(json: string): SpoolEntry | undefined {
  try {
    const parsed = (json.includes(taggedMarker) ? JSON.parse(json, decodeValue) : JSON.parse(json)) as Record<string, unknown>
    if (typeof parsed.a === 'number' && typeof parsed.s === 'string') return { kind: 'append', id: parsed.a, sink: parsed.s, item: parsed.v }
    if (Array.isArray(parsed.k) && parsed.k.every((id) => typeof id === 'number')) return { kind: 'acknowledge', ids: parsed.k as number[] }
  } catch {
    // Checked by the caller: an unreadable payload counts as a corrupt record.
  }
  return undefined
}
