/**
 * The delivery worker's drops, reported to the calling thread once per turn of its event loop: a
 * queue that falls behind drops an event per call, and a message per drop would cost both threads
 * more work exactly when the worker has none to spare. Drops of one sink and reason without an error
 * (`queue_full`, `closed`) are summed into one report; a drop with an error is reported as it is.
 */
import type { DropInfo } from './queue-options'
import { cloneable } from './worker-protocol'

/**
 * Collects drops (`onDrop`) and hands them to `send` together after the current turn, or at once
 * with `flush()` (before a reply that says the worker's counts, so the drops arrive first).
 *
 * @example
 * ```ts
 * const reports = createDropReports((infos) => port.postMessage({ type: 'drops', infos }))
 * const queue = createDeliveryQueue({ onDrop: reports.onDrop })
 * ```
 */
export function createDropReports(send: (infos: unknown[]) => void): { onDrop: (info: DropInfo) => void; flush: () => void } {
  let summed = new Map<string, DropInfo>()
  let single: unknown[] = []
  let scheduled: NodeJS.Immediate | undefined

  const flush = () => {
    if (scheduled === undefined) return
    clearImmediate(scheduled)
    scheduled = undefined
    const infos = [...summed.values(), ...single]
    summed = new Map()
    single = []
    send(infos)
  }

  const onDrop = (info: DropInfo) => {
    if (info.error === undefined) {
      const key = `${info.sink}\n${info.reason}`
      const earlier = summed.get(key)
      if (earlier) earlier.count += info.count
      else summed.set(key, { ...info })
    } else {
      single.push(cloneable(info))
    }
    scheduled ??= setImmediate(flush)
  }
  return { onDrop, flush }
}
