/**
 * Reading a spool directory at open: every segment in order, torn tails cut off, corrupt records
 * skipped (counted and reported once per file), acknowledged records dropped, and segments holding
 * nothing unacknowledged at the head of the log deleted. Synchronous: it runs once, at startup.
 */
import { readdirSync, readFileSync, truncateSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { scanSegment } from './spool-record'

/** One segment file and how many of its appends are still unacknowledged. */
export interface Segment {
  path: string
  sequence: number
  bytes: number
  live: number
}

/** An unacknowledged record: where it is on disk, and its item until something takes it. */
export interface LiveRecord {
  id: number
  sink: string
  item: unknown
  /** The segment it was (or is being) written to; undefined while it waits for a write. */
  segment: Segment | undefined
}

export interface RecoveredSpool {
  segments: Segment[]
  live: Map<number, LiveRecord>
  /** Unacknowledged records per sink, in append order. */
  bySink: Map<string, LiveRecord[]>
  nextId: number
  nextSequence: number
  corruptRecords: number
}

const segmentPattern = /^segment-(\d{12})\.spool$/

export function segmentName(sequence: number): string {
  return `segment-${String(sequence).padStart(12, '0')}.spool`
}

export function recoverSpool(dir: string, warn: (message: string) => void): RecoveredSpool {
  const files = readdirSync(dir)
    .map((name) => segmentPattern.exec(name))
    .filter((match) => match !== null)
    .map((match) => ({ name: match[0], sequence: Number(match[1]) }))
    .sort((left, right) => left.sequence - right.sequence)
  const segments: Segment[] = []
  const live = new Map<number, LiveRecord>()
  let maxId = 0
  let corruptRecords = 0
  for (const file of files) {
    const path = join(dir, file.name)
    const data = readFileSync(path)
    const scan = scanSegment(data)
    const segment: Segment = { path, sequence: file.sequence, bytes: scan.validLength, live: 0 }
    segments.push(segment)
    if (scan.corrupt > 0) {
      corruptRecords += scan.corrupt
      warn(`[llm-onion] spool: skipped ${scan.corrupt} corrupt record(s) in ${path}; the rest of the file was recovered. Those records are lost (counted in spool.stats().corruptRecords).`)
    }
    // A crash mid-write leaves a partial record at the end; cut it off so the file reads cleanly.
    if (scan.validLength < data.length) tryTruncate(path, scan.validLength, warn)
    for (const entry of scan.entries) {
      if (entry.kind === 'append') {
        maxId = Math.max(maxId, entry.id)
        live.set(entry.id, { id: entry.id, sink: entry.sink, item: entry.item, segment })
        continue
      }
      for (const id of entry.ids) {
        maxId = Math.max(maxId, id)
        live.delete(id)
      }
    }
  }
  const bySink = new Map<string, LiveRecord[]>()
  for (const record of [...live.values()].sort((left, right) => left.id - right.id)) {
    record.segment!.live++
    const records = bySink.get(record.sink)
    if (records) records.push(record)
    else bySink.set(record.sink, [record])
  }
  // Deleting from the head only: a later segment may hold the acknowledgements of an earlier one.
  while (segments.length > 0 && segments[0]!.live === 0) {
    const segment = segments.shift()!
    try {
      unlinkSync(segment.path)
    } catch (error) {
      warn(`[llm-onion] spool: could not delete ${segment.path} (${(error as Error).message}); delete it by hand, nothing in it is needed.`)
    }
  }
  const nextSequence = files.length > 0 ? files[files.length - 1]!.sequence + 1 : 1
  return { segments, live, bySink, nextId: maxId + 1, nextSequence, corruptRecords }
}

function tryTruncate(path: string, length: number, warn: (message: string) => void): void {
  try {
    truncateSync(path, length)
  } catch (error) {
    warn(`[llm-onion] spool: could not cut the torn end off ${path} (${(error as Error).message}); it is skipped at every start until the file is writable.`)
  }
}
