/**
 * The messages between the delivery queue and its worker thread, and how their counters add up.
 * Both sides import this file; it imports neither.
 */
import type { DeliveryQueueOptions, DeliveryStats } from './queue-options'

/** What the worker is started with: the queue's options that are plain data (no `onDrop`). */
export interface WorkerSetup {
  queue: Omit<DeliveryQueueOptions, 'onDrop' | 'worker'>
}

/**
 * Handed-over items, two entries each: the item's route ({@link routeCode}) and its payload (the event,
 * or the item when already mapped). Flat: a structured clone of one small array per item cost more
 * than cloning the events themselves (with 14 exporters, 5.5 against 2.1 µs per event).
 */
export type WorkerItems = unknown[]

/** Exporters an integration may have: a route code keeps the exporter's index below this. */
const exportersPerIntegration = 512

/**
 * The route of a handed-over item as one number: the integration's id, the exporter's index among its
 * exporters, and whether the payload is already mapped.
 *
 * @example
 * ```ts
 * outbox.push(routeCode(spec, index, true), item)
 * ```
 */
export function routeCode(spec: number, index: number, mapped: boolean): number {
  return (spec * exportersPerIntegration + index) * 2 + (mapped ? 1 : 0)
}

/** What {@link routeCode} encoded; `exporter` names the exporter (integration and index) without the mapped flag. */
export function readRouteCode(code: number): { spec: number; index: number; mapped: boolean; exporter: number } {
  const exporter = Math.floor(code / 2)
  return { spec: Math.floor(exporter / exportersPerIntegration), index: exporter % exportersPerIntegration, mapped: code % 2 === 1, exporter }
}

/**
 * The exporter an error report names (integration id and exporter index) as one number, the key the
 * calling thread keeps its error handlers under.
 *
 * @example
 * ```ts
 * onErrors.get(exporterKey(message.spec, message.index))?.(message.error)
 * ```
 */
export function exporterKey(spec: number, index: number): number {
  return spec * exportersPerIntegration + index
}

export type ToWorker =
  | { type: 'spec'; id: number; name: string; options: unknown }
  | { type: 'items'; items: WorkerItems }
  | { type: 'flush' | 'close' | 'stats'; request: number; timeoutMs?: number }
  /** Answer once the worker's queue holds `below` items or fewer, or once it held no fewer for `patienceMs`. */
  | { type: 'drain'; request: number; below: number; patienceMs: number }
  | { type: 'crash' }

export type ToMain =
  | { type: 'stats'; stats: DeliveryStats; received: number }
  | { type: 'reply'; request: number; stats: DeliveryStats; received: number }
  /** Drops since the last report (src/delivery/drop-reports.ts). */
  | { type: 'drops'; infos: unknown[] }
  | { type: 'hookError'; spec: number; index: number; error: unknown }

/**
 * The counters of the queue on this thread and of the worker's, added up (per sink name too).
 *
 * @example
 * ```ts
 * const stats = mergeStats(local.stats(), workerStats)
 * ```
 */
export function mergeStats(local: DeliveryStats, worker: DeliveryStats | undefined): DeliveryStats {
  if (!worker) return local
  const dropped = { ...local.dropped }
  for (const [reason, count] of Object.entries(worker.dropped)) dropped[reason] = (dropped[reason] ?? 0) + count
  const sinks = { ...local.sinks }
  for (const [name, theirs] of Object.entries(worker.sinks)) {
    const ours = sinks[name]
    if (!ours) {
      sinks[name] = theirs
      continue
    }
    const sinkDropped = { ...ours.dropped }
    for (const [reason, count] of Object.entries(theirs.dropped)) sinkDropped[reason as keyof typeof sinkDropped] = (sinkDropped[reason as keyof typeof sinkDropped] ?? 0) + (count ?? 0)
    sinks[name] = {
      enqueued: ours.enqueued + theirs.enqueued,
      delivered: ours.delivered + theirs.delivered,
      pending: ours.pending + theirs.pending,
      retries: ours.retries + theirs.retries,
      dropped: sinkDropped,
    }
  }
  return {
    enqueued: local.enqueued + worker.enqueued,
    delivered: local.delivered + worker.delivered,
    pending: local.pending + worker.pending,
    retries: local.retries + worker.retries,
    dropped,
    sinks,
    ...(local.spool || worker.spool ? { spool: worker.spool ?? local.spool } : {}),
  }
}

/** An error or drop info as the other thread can receive it (a structured clone of an Error keeps its message). */
export function cloneable(value: unknown): unknown {
  try {
    structuredClone(value)
    return value
  } catch {
    if (value instanceof Error) return new Error(value.message)
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, each]) => [key, cloneable(each)]))
    return String(value)
  }
}
