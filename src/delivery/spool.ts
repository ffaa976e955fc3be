/**
 * The durable spool: what sinks were handed and have not acknowledged, kept in append-only,
 * checksummed segment files so that a crash or a restart loses none of it. The call path only
 * buffers (an object and a map entry per item); encoding and writing happen in the background, one
 * write per `flushIntervalMs`, never one per item. See docs/spool.md for the file format and what
 * happens on a full disk or a corrupt segment.
 */
import { mkdirSync } from 'node:fs'
import { open, unlink, type FileHandle } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { z } from 'zod'
import { validate } from '../validate'
import { releaseSpoolLock, takeSpoolLock } from './spool-lock'
import { encodeAcknowledge, encodeAppend } from './spool-record'
import { recoverSpool, segmentName, type LiveRecord, type Segment } from './spool-recovery'

/** Options of {@link openSpool}; every one but `dir` has a default. */
export interface SpoolOptions {
  /** The directory of the segment files; created when missing. One process per directory. */
  dir: string
  /** Most bytes on disk (default 256 MiB); items appended past it are refused and counted (`refused`, reason `spool_full`). */
  maxBytes?: number
  /** A segment file is closed and a new one started once it is past this size (default 8 MiB). */
  segmentBytes?: number
  /** Appends and acknowledgements are written together at most once per this interval (default 100 ms). */
  flushIntervalMs?: number
  /** Where the spool's one-time warnings go (default: a line on stderr). */
  onWarning?: (message: string) => void
}

/** A record an earlier process spooled and never acknowledged. */
export interface SpoolRecord {
  id: number
  item: unknown
}

/** The spool's counters. */
export interface SpoolStats {
  /** Bytes of the segment files on disk. */
  bytes: number
  segments: number
  /** Records found unacknowledged at open. */
  recovered: number
  /** Records skipped at open because their checksum or JSON was wrong. */
  corruptRecords: number
  /** Items not spooled because `maxBytes` was reached (reason `spool_full`). */
  refused: number
  /** Items not spooled because JSON could not encode them (a cycle, for instance). */
  unencodable: number
  /** Writes that failed (ENOSPC, EIO, ...); their items stay with the queue but not on disk. */
  writeErrors: number
  /** Items appended and not written yet. */
  pending: number
}

export interface Spool {
  /**
   * Spools items a sink accepted; returns their ids in order (undefined for an item refused because
   * the spool is full or closed). Never throws and never touches the disk: the items are encoded and
   * written in the background. Items must not change afterwards.
   */
  append(sink: string, items: unknown[]): Array<number | undefined>
  /** Marks records delivered or definitively dropped: they are never replayed again. Written in the background too. */
  acknowledge(sink: string, ids: number[]): void
  /** What an earlier process spooled for `sink` and never acknowledged, in append order; handed out once per process. */
  recover(sink: string): SpoolRecord[]
  /** Sinks with recovered records not yet taken by {@link Spool.recover}. */
  recoveredSinks(): string[]
  /** Writes everything appended or acknowledged so far and syncs it to disk. Never rejects. */
  flush(): Promise<void>
  /** Flushes, then closes the files; later appends are refused. Idempotent. */
  close(): Promise<void>
  stats(): SpoolStats
}

const optionsSchema = z.object({
  dir: z.string({ message: 'must be the path of a directory for the spool files, e.g. "./.llm-onion-spool"' }).min(1, 'must not be empty: give the path of a directory for the spool files'),
  maxBytes: z.number().int().positive().default(256 * 2 ** 20),
  segmentBytes: z.number().int().positive().default(8 * 2 ** 20),
  flushIntervalMs: z.number().min(0).default(100),
  onWarning: z.custom<(message: string) => void>((value) => typeof value === 'function', { message: 'must be a function (message) => void' }).optional(),
})

// Acknowledgement records are split so no single record grows without bound.
const idsPerAcknowledgement = 10_000

/**
 * Opens (or creates) a spool in `options.dir`, reading what earlier processes left there
 * synchronously: call it once at startup.
 *
 * @example
 * const spool = openSpool({ dir: './.llm-onion-spool' })
 * for (const record of spool.recover('posthog')) resend(record.item, record.id)
 * const [id] = spool.append('posthog', [event])
 * // ... once posthog confirmed the batch, or it was dropped for good:
 * spool.acknowledge('posthog', [id!])
 * await spool.close()
 */
export function openSpool(options: SpoolOptions): Spool {
  const settings = validate(optionsSchema, options, 'openSpool() options')
  const dir = resolve(settings.dir)
  const warned = new Set<string>()
  const warn = settings.onWarning ?? ((message: string) => void process.stderr.write(`${message}\n`))
  const warnOnce = (kind: string, message: string) => {
    if (warned.has(kind)) return
    warned.add(kind)
    try {
      warn(message)
    } catch {
      // A failing warning handler must not break spooling.
    }
  }
  try {
    mkdirSync(dir, { recursive: true })
  } catch (error) {
    throw new Error(`Cannot create the spool directory ${dir} (${(error as Error).message}): give a writable path in openSpool({ dir }).`)
  }
  takeSpoolLock(dir)
  const recovered = (() => {
    try {
      return recoverSpool(dir, warn)
    } catch (error) {
      releaseSpoolLock(dir)
      throw new Error(`Cannot read the spool directory ${dir} (${(error as Error).message}): make it readable, or move it away to start empty.`)
    }
  })()
  const { segments, live, bySink } = recovered
  let nextId = recovered.nextId
  let nextSequence = recovered.nextSequence
  let bytes = segments.reduce((total, segment) => total + segment.bytes, 0)
  const counters = { recovered: live.size, corruptRecords: recovered.corruptRecords, refused: 0, unencodable: 0, writeErrors: 0 }
  const sinkJson = new Map<string, string>()
  let pendingAppends: LiveRecord[] = []
  let pendingAcknowledgements: number[] = []
  let active: { segment: Segment; handle: FileHandle | undefined } | undefined
  let timer: NodeJS.Timeout | undefined
  let chain: Promise<void> = Promise.resolve()
  let closed = false
  let closing: Promise<void> | undefined

  function refuse(sink: string, count: number): void {
    counters.refused += count
    warnOnce('spool_full', `[llm-onion] spool: ${dir} is full (maxBytes ${settings.maxBytes}); items of ${sink} and later ones are delivered but not spooled until acknowledgements free space (counted in spool.stats().refused). Raise maxBytes or fix the sink that is not acknowledging.`)
  }

  function schedule(): void {
    if (timer || closed) return
    timer = setTimeout(() => {
      timer = undefined
      void write().then(() => {
        if (pendingAppends.length > 0 || pendingAcknowledgements.length > 0) schedule()
      })
    }, settings.flushIntervalMs)
    timer.unref()
  }

  /** Queues one batch write behind the one in flight; resolves when it is done. Never rejects. */
  function write(): Promise<void> {
    chain = chain.then(writeBatch).catch((error: unknown) => {
      counters.writeErrors++
      warnOnce('write', `[llm-onion] spool: writing to ${dir} failed (${(error as Error).message}); the items stay with the delivery queue but would be lost in a restart.`)
    })
    return chain
  }

  function activeSegment(): { segment: Segment; handle: FileHandle | undefined } {
    if (active) return active
    const segment: Segment = { path: join(dir, segmentName(nextSequence++)), sequence: nextSequence - 1, bytes: 0, live: 0 }
    segments.push(segment)
    return (active = { segment, handle: undefined })
  }

  async function writeBatch(): Promise<void> {
    if (pendingAppends.length === 0 && pendingAcknowledgements.length === 0) return compact()
    const target = activeSegment()
    const buffers: Buffer[] = []
    const acknowledgements = pendingAcknowledgements
    pendingAcknowledgements = []
    for (let start = 0; start < acknowledgements.length; start += idsPerAcknowledgement) {
      buffers.push(encodeAcknowledge(acknowledgements.slice(start, start + idsPerAcknowledgement)))
    }
    const written: LiveRecord[] = []
    let batchBytes = buffers.reduce((total, buffer) => total + buffer.length, 0)
    for (const record of pendingAppends) {
      if (live.get(record.id) !== record) continue // acknowledged before it was written
      let buffer: Buffer
      try {
        buffer = encodeAppend(record.id, sinkJsonOf(record.sink), record.item)
      } catch (error) {
        live.delete(record.id)
        counters.unencodable++
        warnOnce(`unencodable:${record.sink}`, `[llm-onion] spool: an item of ${record.sink} cannot be stored as JSON (${(error as Error).message}); it is delivered but not spooled. Items must be JSON values (bigint and Uint8Array are allowed).`)
        continue
      }
      if (bytes + batchBytes + buffer.length > settings.maxBytes) {
        live.delete(record.id)
        refuse(record.sink, 1)
        continue
      }
      record.item = undefined
      record.segment = target.segment
      target.segment.live++
      written.push(record)
      buffers.push(buffer)
      batchBytes += buffer.length
    }
    pendingAppends = []
    if (buffers.length === 0) return compact()
    const data = buffers.length === 1 ? buffers[0]! : Buffer.concat(buffers, batchBytes)
    try {
      target.handle ??= await open(target.segment.path, 'a')
      for (let offset = 0; offset < data.length; ) offset += (await target.handle.write(data, offset)).bytesWritten
      target.segment.bytes += data.length
      bytes += data.length
    } catch (error) {
      counters.writeErrors++
      warnOnce('write', `[llm-onion] spool: writing ${target.segment.path} failed (${(error as Error).message}); the items stay with the delivery queue but would be lost in a restart (counted in spool.stats().writeErrors). Free disk space or give a writable openSpool({ dir }).`)
      for (const record of written) {
        if (live.get(record.id) !== record) continue
        live.delete(record.id)
        target.segment.live--
      }
      // Acknowledgements are retried with the next write: without them a restart would replay delivered items.
      pendingAcknowledgements = acknowledgements.concat(pendingAcknowledgements)
      await undoPartialWrite(target)
      return
    }
    if (target.segment.bytes >= settings.segmentBytes) await roll(target)
    await compact()
  }

  /** A failed write may have left part of a record: cut it off, or start a new segment when that fails too. */
  async function undoPartialWrite(target: { segment: Segment; handle: FileHandle | undefined }): Promise<void> {
    try {
      await target.handle?.truncate(target.segment.bytes)
    } catch {
      await roll(target)
    }
  }

  async function roll(target: { segment: Segment; handle: FileHandle | undefined }): Promise<void> {
    if (active === target) active = undefined
    try {
      await target.handle?.sync()
      await target.handle?.close()
    } catch {
      // The segment's records are checksummed: a bad tail is found and skipped at the next open.
    }
    target.handle = undefined
  }

  /** Deletes segments at the head of the log whose every record was acknowledged. */
  async function compact(): Promise<void> {
    while (segments.length > 0 && segments[0]!.live === 0 && segments[0] !== active?.segment) {
      const segment = segments.shift()!
      bytes -= segment.bytes
      await unlink(segment.path).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') warnOnce('unlink', `[llm-onion] spool: could not delete ${segment.path} (${error.message}); it is deleted at the next start.`)
      })
    }
  }

  function sinkJsonOf(sink: string): string {
    let json = sinkJson.get(sink)
    if (json === undefined) sinkJson.set(sink, (json = JSON.stringify(sink)))
    return json
  }

  async function flush(): Promise<void> {
    if (timer) clearTimeout(timer)
    timer = undefined
    await write()
    try {
      await active?.handle?.datasync()
    } catch (error) {
      counters.writeErrors++
      warnOnce('write', `[llm-onion] spool: syncing ${active?.segment.path} failed (${(error as Error).message}); what was written may not survive a power loss.`)
    }
    if (pendingAppends.length > 0 || pendingAcknowledgements.length > 0) schedule()
  }

  return {
    append(sink, items) {
      const ids = new Array<number | undefined>(items.length)
      if (closed) return ids
      if (bytes >= settings.maxBytes) {
        refuse(sink, items.length)
        return ids
      }
      for (let index = 0; index < items.length; index++) {
        const record: LiveRecord = { id: nextId++, sink, item: items[index], segment: undefined }
        live.set(record.id, record)
        pendingAppends.push(record)
        ids[index] = record.id
      }
      schedule()
      return ids
    },
    acknowledge(sink, ids) {
      if (closed) return
      let changed = false
      for (const id of ids) {
        const record = live.get(id)
        if (record === undefined || record.sink !== sink) continue
        live.delete(id)
        // Not written yet: the write skips it, and no acknowledgement is needed.
        if (record.segment === undefined) continue
        record.segment.live--
        pendingAcknowledgements.push(id)
        changed = true
      }
      if (changed) schedule()
    },
    recover(sink) {
      const records = bySink.get(sink)
      if (!records) return []
      bySink.delete(sink)
      const result: SpoolRecord[] = []
      for (const record of records) {
        // Already acknowledged (by id) before it was taken: not handed out.
        if (live.get(record.id) !== record) continue
        result.push({ id: record.id, item: record.item })
        record.item = undefined
      }
      return result
    },
    recoveredSinks: () => [...bySink.keys()],
    flush,
    close() {
      closing ??= (async () => {
        closed = true
        await flush()
        try {
          await active?.handle?.close()
        } catch {
          // Nothing left to lose: everything was written and synced above.
        }
        active = undefined
        releaseSpoolLock(dir)
      })()
      return closing
    },
    stats: () => ({ ...counters, bytes, segments: segments.length, pending: pendingAppends.length }),
  }
}
