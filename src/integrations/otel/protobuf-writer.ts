/**
 * A protobuf writer over one growing buffer, reused from batch to batch: what the OTLP encoder
 * (./otlp-protobuf.ts) writes its messages with. A nested message reserves one byte for its length
 * and moves its bytes along when the length needs more.
 */

/** Strings shorter than this are written character by character when they are ASCII. */
const shortString = 32

const twoTo16 = 65_536
const twoTo32 = 4_294_967_296

/** A writer made by {@link createProtobufWriter}. */
export type ProtobufWriter = ReturnType<typeof createProtobufWriter>

/**
 * A writer starting with a 64 KB buffer; `copy()` gives the bytes written since the last `reset()`.
 *
 * @example
 * ```ts
 * const writer = createProtobufWriter()
 * writer.tag(1, 2)
 * writer.string('llm-onion')
 * const bytes = writer.copy()
 * ```
 */
export function createProtobufWriter() {
  let buffer = Buffer.allocUnsafe(64 * 1024)
  let position = 0
  const ensure = (bytes: number) => {
    if (position + bytes <= buffer.length) return
    const grown = Buffer.allocUnsafe(Math.max(buffer.length * 2, position + bytes))
    buffer.copy(grown, 0, 0, position)
    buffer = grown
  }
  /** Writes `value` as a varint at `at`, in room already there; returns where it ends. */
  const putVarint = (at: number, value: number): number => {
    while (value > 127) {
      buffer[at++] = (value & 127) | 128
      value = Math.floor(value / 128)
    }
    buffer[at++] = value
    return at
  }
  const varint = (value: number) => {
    ensure(10)
    if (value < 128) buffer[position++] = value
    else position = putVarint(position, value)
  }
  return {
    reset() {
      position = 0
    },
    tag(field: number, wireType: number) {
      varint((field << 3) | wireType)
    },
    varint,
    /** protobufjs's `int64` of a JS number: a negative one as its 64-bit two's complement (ten bytes). */
    int64(value: number) {
      if (value >= 0 && value <= Number.MAX_SAFE_INTEGER) varint(value)
      else {
        ensure(10)
        let bits = BigInt.asUintN(64, BigInt(value))
        while (bits > 127n) {
          buffer[position++] = Number(bits & 127n) | 128
          bits >>= 7n
        }
        buffer[position++] = Number(bits)
      }
    },
    fixed32(value: number) {
      ensure(4)
      buffer.writeUInt32LE(value >>> 0, position)
      position += 4
    },
    /** Epoch milliseconds as the fixed64 epoch nanoseconds the SDK writes (see {@link nanosOf}). */
    nanos(epochMillis: number) {
      ensure(8)
      const [low, high] = nanosOf(epochMillis)
      buffer.writeUInt32LE(low, position)
      buffer.writeUInt32LE(high, position + 4)
      position += 8
    },
    double(value: number) {
      ensure(8)
      buffer.writeDoubleLE(value, position)
      position += 8
    },
    string(value: string) {
      const length = value.length
      // Short strings (keys, models, ids) written by hand when they are ASCII: a native call costs
      // more than the copy. Longer ones take one native write, at an offset that leaves room for
      // the longest their byte length can be, moved back when it is shorter.
      if (length < shortString) {
        ensure(length + 1)
        const from = position + 1
        let index = 0
        while (index < length) {
          const code = value.charCodeAt(index)
          if (code > 127) break
          buffer[from + index++] = code
        }
        if (index === length) {
          buffer[position] = length
          position = from + length
          return
        }
      }
      const room = varintSize(3 * length)
      ensure(room + 3 * length)
      const written = buffer.write(value, position + room, 'utf8')
      const size = varintSize(written)
      if (size < room) buffer.copyWithin(position + size, position + room, position + room + written)
      // The length goes in the room reserved before the bytes (not through varint(), whose ensure()
      // may grow the buffer and copy only what is before `position`).
      position = putVarint(position, written) + written
    },
    /** A span or trace id: lower-case hex digits (`toOtelTraceId`, the span ids) as bytes. */
    hex(value: string) {
      const length = value.length >>> 1
      varint(length)
      ensure(length)
      for (let index = 0; index < length; index++) buffer[position + index] = (hexDigit(value.charCodeAt(2 * index)) << 4) | hexDigit(value.charCodeAt(2 * index + 1))
      position += length
    },
    bytes(value: Uint8Array) {
      varint(value.length)
      ensure(value.length)
      buffer.set(value, position)
      position += value.length
    },
    /** Opens a nested message: returns where its length goes. */
    begin(): number {
      ensure(1)
      return position++
    },
    /** Closes the nested message opened at `at`, writing its length there. */
    end(at: number) {
      const length = position - at - 1
      if (length < 128) {
        buffer[at] = length
        return
      }
      const extra = varintSize(length) - 1
      ensure(extra)
      buffer.copyWithin(at + 1 + extra, at + 1, position)
      position += extra
      putVarint(at, length)
    },
    /** The bytes written since the last reset, as a buffer of their own. */
    copy(): Buffer {
      const bytes = Buffer.allocUnsafe(position)
      buffer.copy(bytes, 0, 0, position)
      return bytes
    },
  }
}

/**
 * Epoch milliseconds to epoch nanoseconds as the SDK rounds them (`millisToHrTime`, then
 * `hrTimeToNanos`), as the low and high 32 bits: past 2^53, so worked in 16-bit halves of the
 * seconds rather than through a BigInt (each one an allocation).
 */
function nanosOf(epochMillis: number): [number, number] {
  const seconds = Math.trunc(epochMillis / 1000)
  const nanos = Math.trunc(Math.round((epochMillis % 1000) * 1_000_000))
  // seconds * 1e9 + nanos = high * 2^16 + low, each part exact in a double.
  const highPart = Math.floor(seconds / twoTo16) * 1_000_000_000
  const lowPart = (seconds % twoTo16) * 1_000_000_000 + nanos
  const low = (highPart % twoTo16) * twoTo16 + lowPart
  return [low % twoTo32, Math.floor(highPart / twoTo16) + Math.floor(low / twoTo32)]
}

/** How many bytes the varint of `value` takes. */
function varintSize(value: number): number {
  let size = 1
  while (value > 127) {
    value = Math.floor(value / 128)
    size++
  }
  return size
}

/** The value of a lower-case hex digit's character code. */
function hexDigit(code: number): number {
  return code <= 57 ? code - 48 : code - 87
}
