/**
 * The durable spool: what sinks were handed and have not acknowledged, kept in append-only,
 * checksummed segment files so that a crash or a restart loses none of it. The call path only
 * buffers (an object and a map entry per item); encoding and writing happen in the background, one
 * write per `flushIntervalMs`, never one per item. See docs/delivery-queue.md ("Durable spool") for the file format and what
 * happens on a full disk or a corrupt segment.
 */
import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { z } from 'zod'
import { validate } from '../validate'
import { releaseSpoolLock, takeSpoolLock } from './spool-lock'
import { recoverSpool, type LiveRecord } from './spool-recovery'
import { createSpoolWriter, type SpoolLog } from './spool-writer'
import { lazySchema } from '../lazy-schema'

/**
 * Options of {@link openSpool}; every one but `dir` has a default.
 *
 * @example
 * openSpool({ dir: '/var/lib/my-app/spool', maxBytes: 64 * 2 ** 20, flushIntervalMs: 50 })
 */
export interface SpoolOptions {
  /** The directory of the segment files; created when missing. One process per directory. */
  dir: string
  /** Most bytes on disk (default 256 MiB); items appended past it are refused and counted (`refused`, reason `spool_full`). */
  maxBytes?: number
  /** A segment file is closed and a new one started once a write took it past this size (default 8 MiB, at most 1 GiB). */
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

/**
 * A spool opened by {@link openSpool}: `append` what a sink accepted, `acknowledge` it once delivered
 * or dropped for good, and at startup `recover` what an earlier process left unacknowledged.
 *
 * @example
 * const [id] = spool.append('posthog', [event])
 * spool.acknowledge('posthog', [id!])
 */
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

const optionsSchema = lazySchema(() =>
  z.object({
    dir: z.string({ message: 'must be the path of a directory for the spool files, e.g. "./.llm-onion-spool"' }).min(1, 'must not be empty: give the path of a directory for the spool files'),
    maxBytes: z.number().int().positive().default(256 * 2 ** 20),
    // Segments are read whole at open: keep each well under what one Buffer holds.
    segmentBytes: z.number().int().positive().max(2 ** 30, 'must be at most 1 GiB (1073741824): segments are read whole at startup').default(8 * 2 ** 20),
    flushIntervalMs: z.number().min(0).default(100),
    onWarning: z.custom<(message: string) => void>((value) => typeof value === 'function', { message: 'must be a function (message) => void' }).optional(),
  }),
)

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
      return recoverSpool(dir, (message) => warnOnce(message, message))
    } catch (error) {
      releaseSpoolLock(dir)
      throw new Error(`Cannot read the spool directory ${dir} (${(error as Error).message}): make it readable, or move it away to start empty.`)
    }
  })()
  const { live, bySink } = recovered
  let nextId = recovered.nextId
  const counters = { recovered: live.size, corruptRecords: recovered.corruptRecords, refused: 0, unencodable: 0, writeErrors: 0 }
  const log: SpoolLog = {
    dir,
    maxBytes: settings.maxBytes,
    segmentBytes: settings.segmentBytes,
    segments: recovered.segments,
    live,
    pendingAppends: [],
    pendingAcknowledgements: [],
    bytes: recovered.segments.reduce((total, segment) => total + segment.bytes, 0),
    counters,
    refuse(sink, count) {
      counters.refused += count
      warnOnce('spool_full', `[llm-onion] spool: ${dir} is full (maxBytes ${settings.maxBytes}); items of ${sink} and later ones are delivered but not spooled until acknowledgements free space (counted in spool.stats().refused). Raise maxBytes or fix the sink that is not acknowledging.`)
    },
    warnOnce,
  }
  const writer = createSpoolWriter(log, recovered.nextSequence)
  let timer: NodeJS.Timeout | undefined
  let closed = false
  let closing: Promise<void> | undefined
  const hasWork = () => log.pendingAppends.length > 0 || log.pendingAcknowledgements.length > 0

  // One write per flushIntervalMs at most: the timer starts with the first item after a write.
  function schedule(): void {
    if (timer || closed) return
    timer = setTimeout(() => {
      timer = undefined
      void writer.write().then(() => {
        if (hasWork()) schedule()
      })
    }, settings.flushIntervalMs)
    // The queue's close() flushes the spool; a timer alone never keeps a process alive.
    timer.unref()
  }

  async function flush(): Promise<void> {
    if (timer) clearTimeout(timer)
    timer = undefined
    await writer.write()
    await writer.sync()
    if (hasWork()) schedule()
  }

  return {
    append(sink, items) {
      const ids = new Array<number | undefined>(items.length)
      if (closed) return ids
      if (log.bytes >= settings.maxBytes) {
        log.refuse(sink, items.length)
        return ids
      }
      for (let index = 0; index < items.length; index++) {
        const record: LiveRecord = { id: nextId++, sink, item: items[index], segment: undefined }
        live.set(record.id, record)
        log.pendingAppends.push(record)
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
        log.pendingAcknowledgements.push(id)
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
        await writer.close()
        releaseSpoolLock(dir)
      })()
      return closing
    },
    stats: () => ({ ...counters, bytes: log.bytes, segments: log.segments.length, pending: log.pendingAppends.length }),
  }
}
