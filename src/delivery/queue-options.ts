/**
 * The delivery queue's options (with their defaults, checked by zod) and its counters.
 */
import { z } from 'zod'
import type { Sink } from './sink-contract'
import type { SpoolStats } from './spool'
import { validate } from '../validate'
import { lazySchema } from '../lazy-schema'

/**
 * Why items were dropped: `queue_full` (the sink's share of the queue was full), `rejected` (the sink
 * said a retry cannot help), `retries_exhausted`, `closed` (after `close()`, or still pending when
 * `close()` ran out of time), `unencodable` (the item could not be encoded; the rest of its batch went),
 * `mapping_failed` (an exporter's mapping of the event threw).
 */
export type DropReason = 'queue_full' | 'rejected' | 'retries_exhausted' | 'closed' | 'unencodable' | 'mapping_failed'

/**
 * What `onDrop` receives: one call per dropped batch (or per refused item). The delivery worker's
 * drops without an error (`queue_full`, `closed`) come summed per sink and reason, once per turn.
 */
export interface DropInfo {
  sink: string
  reason: DropReason
  /** Items this call reports. */
  count: number
  error?: unknown
}

/** Counters of one sink (all sinks of the same name are counted together). */
export interface SinkStats {
  enqueued: number
  delivered: number
  /** Items held: waiting for a batch, in flight or between retries. */
  pending: number
  /** Retries made (attempts after the first). */
  retries: number
  /** Items dropped, by reason. */
  dropped: Partial<Record<DropReason, number>>
}

/** Counters of the whole queue, and per sink name. */
export interface DeliveryStats {
  enqueued: number
  delivered: number
  pending: number
  retries: number
  /** Items dropped, by reason (`queue_full`, `rejected`, `retries_exhausted`, `closed`, `unencodable`, `mapping_failed`). */
  dropped: Record<string, number>
  sinks: Record<string, SinkStats>
  /** The durable spool's counters (bytes on disk, `refused` past `maxBytes`, `writeErrors`, ...), when the queue has one. */
  spool?: SpoolStats
  /** The delivery worker's state, when the queue has one (`worker: true`): restarts after crashes, items lost in them. */
  worker?: WorkerStats
}

/** The delivery worker's counters. */
export interface WorkerStats {
  /** Whether a worker thread is running now. */
  running: boolean
  /** Times the worker crashed and was started again. */
  restarts: number
  /** Items handed to a worker that crashed before it took them (spooled items are never among them). */
  lost: number
  /** Items handed to the worker so far. */
  handedOver: number
}

export interface DeliveryQueue {
  /**
   * Adds an item for `sink`; never throws and never waits. A batch this item fills is sent in the
   * background (at the next turn of the event loop), never on the caller's stack.
   */
  enqueue<Item>(sink: Sink<Item>, item: Item): void
  /**
   * Adds the items `map(source)` returns for `sink`, mapping them in the background: the caller pays
   * for a hand-off only, and `map` runs at the next turn of the event loop (or at once when `flush()`,
   * `close()` or `stats()` needs it). `source` must not change afterwards (an event is a read-only
   * snapshot). A `map` that throws goes to `onError`; `undefined` means nothing to send. Never throws.
   */
  enqueueMapped<Source, Item>(
    sink: Sink<Item>,
    source: Source,
    map: (source: Source) => Item | Item[] | undefined,
    onError: (error: unknown) => void,
  ): void
  /**
   * Resolves once every item enqueued before it was delivered or dropped, or after `timeoutMs` (the
   * items still pending then keep going). Keeps the process alive while it waits with a deadline.
   */
  flush(options?: FlushOptions): Promise<void>
  /**
   * Flushes for at most `timeoutMs` (default `closeTimeoutMs`), then drops what is still pending as
   * `closed` (reported once on stderr, with the count per sink) and stops every timer; it always
   * returns by then. Later items are dropped as `closed`.
   */
  close(options?: FlushOptions): Promise<void>
  stats(): DeliveryStats
  /**
   * With a durable spool: enqueues now what an earlier process spooled for this sink's name and
   * never got acknowledged (once per name; a sink's first item does it too). Without one: nothing.
   */
  replay<Item>(sink: Sink<Item>): void
  /**
   * For callers that may run many calls without ever giving the event loop a turn (a loop over a
   * mock provider or cached answers, where nothing waits on the network): a promise to await before
   * the next call when the items handed over since the queue last got a turn are many
   * (`maxSize / 8`), resolved after a turn of the event loop, or later while the queue is over half
   * full and draining; otherwise `undefined`. Without it such a loop fills the queue and its items
   * are dropped as `queue_full` while every sink is healthy. A queue that held no fewer items for a
   * second is not waited for again until it drains. Optional for a queue of one's own.
   */
  turnNeeded?(): Promise<void> | undefined
}

/** A deadline for `flush()` or `close()`. */
export interface FlushOptions {
  /** Longest wait in ms (for `close()`, default the queue's `closeTimeoutMs`). */
  timeoutMs?: number
}

/** Options of {@link createDeliveryQueue} (`createClient({ queue })`); every one has a default. */
export interface DeliveryQueueOptions {
  /**
   * Most items held at once across all sinks (default 10,000). Shared fairly: once it is reached, a
   * sink holding less than an equal share still gets room (the oldest waiting item of the sink holding
   * the most is dropped as `queue_full` for that sink), so a dead sink only ever loses its own items.
   */
  maxSize?: number
  /** Most items one sink holds at once (default `maxSize`); beyond it, its new items are dropped as `queue_full`. */
  maxSizePerSink?: number
  /** A partial batch is sent this long after its first item arrived (default 1,000 ms). */
  flushIntervalMs?: number
  /** Batch size for sinks that set no `maxBatchSize` (default 100). */
  maxBatchSize?: number
  /**
   * Batches of one sink in flight at once to start with, for sinks that set no `maxConcurrency`
   * (default 4); grows up to 16 times while a backlog builds and sends succeed (docs/delivery-queue.md).
   */
  concurrency?: number
  /**
   * Requests in flight at once to start with for one-item sinks (`maxBatchSize: 1`, e.g. Helicone,
   * Athina, Sentry, Slack) that set no `maxConcurrency` (default 64); grows the same way.
   */
  singleItemConcurrency?: number
  /** Retries of a failed batch after the first attempt (default 5). */
  retries?: number
  /** Backoff before the first retry (default 500 ms); doubles each retry, with jitter. */
  minTimeoutMs?: number
  /** Longest wait between retries, also the cap on a sink's `retryAfterMs` (default 30,000 ms). */
  maxTimeoutMs?: number
  /** How long `close()` (and `client.close()`) keeps delivering before it drops what is left as `closed` (default 10,000 ms). */
  closeTimeoutMs?: number
  /** Called for every drop (default: one `console.warn` per sink and reason). */
  onDrop?: (info: DropInfo) => void
  /**
   * A directory (or {@link QueueSpoolOptions}) where what the sinks have not acknowledged is kept on
   * disk, so a crash or a restart loses none of it (default: none, everything stays in memory). The
   * next process sends it again to the sink of the same name. See docs/delivery-queue.md, "Durable spool".
   */
  spool?: string | QueueSpoolOptions
  /**
   * Maps, encodes and sends in a delivery worker (`node:worker_threads`) rather than on the thread
   * that makes the calls (default false; `llm-onion serve` turns it on). Only integrations built
   * from the catalogue with plain-data options go there (`callbacks()`, `observability()`, the proxy's
   * callback lists); the rest stay on the calling thread. See docs/delivery-queue.md, "Delivery worker".
   */
  worker?: boolean
}

/**
 * The durable spool of the queue, when more than its directory is given.
 *
 * @example
 * ```ts
 * createClient({ queue: { spool: { dir: '/var/lib/my-app/spool', maxBytes: 64 * 2 ** 20 } } })
 * ```
 */
export interface QueueSpoolOptions {
  /** The directory of the segment files; created when missing. One process per directory. */
  dir: string
  /** Most bytes on disk (default 256 MiB); items past it are delivered but not spooled (counted). */
  maxBytes?: number
  /** A new segment file is started past this size (default 8 MiB). */
  segmentBytes?: number
  /** Appends and acknowledgements are written together at most once per this interval (default 100 ms). */
  flushIntervalMs?: number
}

const optionsSchema = lazySchema(() =>
  z.object({
  maxSize: z.number().int().positive().default(10_000),
  maxSizePerSink: z.number().int().positive().optional(),
  flushIntervalMs: z.number().min(0).default(1_000),
  maxBatchSize: z.number().int().positive().default(100),
  concurrency: z.number().int().positive().default(4),
  singleItemConcurrency: z.number().int().positive().default(64),
  retries: z.number().int().min(0).default(5),
  minTimeoutMs: z.number().min(0).default(500),
  maxTimeoutMs: z.number().min(0).default(30_000),
  closeTimeoutMs: z.number().min(0).default(10_000),
  worker: z.boolean().optional(),
  onDrop: z.custom<(info: DropInfo) => void>((value) => typeof value === 'function', { message: 'must be a function (info) => void' }).optional(),
  spool: z
    .union(
      [
        z.string().min(1, 'must not be empty: give the path of a directory for the spool files'),
        z
          .object({
            dir: z.string({ message: 'must be the path of a directory for the spool files, e.g. "./.llm-onion-spool"' }).min(1, 'must not be empty: give the path of a directory for the spool files'),
            maxBytes: z.number().int().positive().optional(),
            segmentBytes: z.number().int().positive().optional(),
            flushIntervalMs: z.number().min(0).optional(),
          })
          .strict(),
      ],
      { message: 'must be a directory path, or { dir, maxBytes?, segmentBytes?, flushIntervalMs? }' },
    )
    .optional(),
}),
)

export type DeliverySettings = z.output<typeof optionsSchema>

const optionsWhat = 'createDeliveryQueue() options (createClient({ queue }))'

/** Checks queue options and fills in the defaults; `createClient()` calls it early so a bad one fails there. */
export function validateDeliveryQueueOptions(options: DeliveryQueueOptions): DeliverySettings {
  return validate(optionsSchema, options, optionsWhat)
}
