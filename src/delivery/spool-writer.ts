/**
 * The spool's background writer: takes what was appended and acknowledged since the last write,
 * encodes it and writes it to the active segment in one write; rolls to a new segment past
 * `segmentBytes`; deletes segments at the head of the log once all their records are acknowledged.
 * A failed write is counted, reported once, and cut back off the file so the segment stays readable.
 */
import { open, unlink, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { encodeAcknowledge, encodeAppend } from './spool-record'
import { segmentName, type LiveRecord, type Segment } from './spool-recovery'

/** What the spool and its writer share. */
export interface SpoolLog {
  dir: string
  maxBytes: number
  segmentBytes: number
  /** Segment files in log order; the last may be the active one. */
  segments: Segment[]
  /** Every record not acknowledged yet, by id. */
  live: Map<number, LiveRecord>
  /** Appended since the last write (the writer takes the whole list). */
  pendingAppends: LiveRecord[]
  /** Acknowledged ids whose records are on disk, since the last write. */
  pendingAcknowledgements: number[]
  /** Bytes of the segment files. */
  bytes: number
  counters: { refused: number; unencodable: number; writeErrors: number }
  refuse(sink: string, count: number): void
  warnOnce(kind: string, message: string): void
}

export interface SpoolWriter {
  /** Writes what is pending as one batch, then compacts. Never rejects. */
  write(): Promise<void>
  /** Syncs the active segment to disk. */
  sync(): Promise<void>
  /** Closes the active segment's file. */
  close(): Promise<void>
}

interface ActiveSegment {
  segment: Segment
  handle: FileHandle | undefined
}

// Acknowledgement records are split so no single record grows without bound.
const idsPerAcknowledgement = 10_000

export function createSpoolWriter(log: SpoolLog, firstSequence: number): SpoolWriter {
  let nextSequence = firstSequence
  let active: ActiveSegment | undefined
  // Writes run one after another: each takes what is pending when it starts.
  let chain: Promise<void> = Promise.resolve()
  const sinkJson = new Map<string, string>()

  function activeSegment(): ActiveSegment {
    if (active) return active
    const sequence = nextSequence++
    const segment: Segment = { path: join(log.dir, segmentName(sequence)), sequence, bytes: 0, live: 0 }
    log.segments.push(segment)
    return (active = { segment, handle: undefined })
  }

  function sinkJsonOf(sink: string): string {
    let json = sinkJson.get(sink)
    if (json === undefined) sinkJson.set(sink, (json = JSON.stringify(sink)))
    return json
  }

  /** Encodes what is pending; items that cannot be encoded or do not fit under maxBytes are counted and left out. */
  function take(target: ActiveSegment): { buffers: Buffer[]; size: number; written: LiveRecord[]; acknowledgements: number[] } {
    const acknowledgements = log.pendingAcknowledgements
    log.pendingAcknowledgements = []
    const buffers: Buffer[] = []
    for (let start = 0; start < acknowledgements.length; start += idsPerAcknowledgement) {
      buffers.push(encodeAcknowledge(acknowledgements.slice(start, start + idsPerAcknowledgement)))
    }
    let size = buffers.reduce((total, buffer) => total + buffer.length, 0)
    const written: LiveRecord[] = []
    const appends = log.pendingAppends
    log.pendingAppends = []
    for (const record of appends) {
      if (log.live.get(record.id) !== record) continue // acknowledged before it was written: nothing to keep
      let buffer: Buffer
      try {
        buffer = encodeAppend(record.id, sinkJsonOf(record.sink), record.item)
      } catch (error) {
        log.live.delete(record.id)
        log.counters.unencodable++
        log.warnOnce(`unencodable:${record.sink}`, `[llm-onion] spool: an item of ${record.sink} cannot be stored as JSON (${(error as Error).message}); it is delivered but not spooled. Items must be JSON values (bigint and Uint8Array are allowed).`)
        continue
      }
      // Acknowledgements are never refused: they are what frees space.
      if (log.bytes + size + buffer.length > log.maxBytes) {
        log.live.delete(record.id)
        log.refuse(record.sink, 1)
        continue
      }
      record.item = undefined
      record.segment = target.segment
      target.segment.live++
      written.push(record)
      buffers.push(buffer)
      size += buffer.length
    }
    return { buffers, size, written, acknowledgements }
  }

  async function writeBatch(): Promise<void> {
    if (log.pendingAppends.length === 0 && log.pendingAcknowledgements.length === 0) return compact()
    const target = activeSegment()
    const { buffers, size, written, acknowledgements } = take(target)
    if (buffers.length === 0) return compact()
    const data = buffers.length === 1 ? buffers[0]! : Buffer.concat(buffers, size)
    try {
      target.handle ??= await open(target.segment.path, 'a')
      for (let offset = 0; offset < data.length; ) offset += (await target.handle.write(data, offset)).bytesWritten
      target.segment.bytes += data.length
      log.bytes += data.length
    } catch (error) {
      log.counters.writeErrors++
      log.warnOnce('write', `[llm-onion] spool: writing ${target.segment.path} failed (${(error as Error).message}); the items stay with the delivery queue but would be lost in a restart (counted in spool.stats().writeErrors). Free disk space or give a writable openSpool({ dir }).`)
      for (const record of written) {
        if (log.live.get(record.id) !== record) continue
        log.live.delete(record.id)
        target.segment.live--
      }
      // Acknowledgements are retried with the next write: without them a restart would replay delivered items.
      log.pendingAcknowledgements = acknowledgements.concat(log.pendingAcknowledgements)
      await undoPartialWrite(target)
      return
    }
    if (target.segment.bytes >= log.segmentBytes) await roll(target)
    await compact()
  }

  /** A failed write may have left part of a record: cut it off, or start a new segment when that fails too. */
  async function undoPartialWrite(target: ActiveSegment): Promise<void> {
    try {
      await target.handle?.truncate(target.segment.bytes)
    } catch {
      await roll(target)
    }
  }

  async function roll(target: ActiveSegment): Promise<void> {
    if (active === target) active = undefined
    try {
      await target.handle?.sync()
      await target.handle?.close()
    } catch {
      // Records are checksummed: a bad tail is found and skipped at the next open.
    }
    target.handle = undefined
  }

  /** Deletes segments at the head of the log whose every record was acknowledged. Only from the head: a later segment may hold the acknowledgements of an earlier one. */
  async function compact(): Promise<void> {
    while (log.segments.length > 0 && log.segments[0]!.live === 0 && log.segments[0] !== active?.segment) {
      const segment = log.segments.shift()!
      log.bytes -= segment.bytes
      await unlink(segment.path).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') log.warnOnce('unlink', `[llm-onion] spool: could not delete ${segment.path} (${error.message}); it is deleted at the next start.`)
      })
    }
  }

  return {
    write() {
      chain = chain.then(writeBatch).catch((error: unknown) => {
        log.counters.writeErrors++
        log.warnOnce('write', `[llm-onion] spool: writing to ${log.dir} failed (${(error as Error).message}); the items stay with the delivery queue but would be lost in a restart.`)
      })
      return chain
    },
    async sync() {
      await chain
      try {
        await active?.handle?.datasync()
      } catch (error) {
        log.counters.writeErrors++
        log.warnOnce('write', `[llm-onion] spool: syncing ${active?.segment.path} failed (${(error as Error).message}); what was written may not survive a power loss.`)
      }
    },
    async close() {
      await chain
      try {
        await active?.handle?.close()
      } catch {
        // Nothing left to lose: everything was written and synced before.
      }
      active = undefined
    },
  }
}
