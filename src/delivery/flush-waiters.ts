/**
 * What `flush()` waits for: the items a queue held when it was called, each counted off as it is
 * delivered or dropped. Items enqueued later carry a later sequence number and do not count.
 */
import type { Entry, FlushWaiter } from './buffer'

/**
 * The flush waiters of one queue.
 *
 * @example
 * ```ts
 * const waiters = createFlushWaiters()
 * const { done } = waiters.wait(lastSeq, totals.held)
 * waiters.settled(batch) // done resolves once every item held at wait() is settled
 * ```
 */
export function createFlushWaiters() {
  const waiters: FlushWaiter[] = []
  return {
    /** Resolves once `remaining` items numbered up to `mark` are settled; `forget` stops waiting. */
    wait(mark: number, remaining: number): { done: Promise<void>; forget: () => void } {
      let waiter: FlushWaiter | undefined
      const done = new Promise<void>((resolve) => {
        waiter = { mark, remaining, resolve }
        waiters.push(waiter)
      })
      const forget = () => {
        const index = waiters.indexOf(waiter!)
        if (index >= 0) waiters.splice(index, 1)
      }
      return { done, forget }
    },

    /** Counts `batch` off every waiter that waits for its items. */
    settled(batch: Entry[]): void {
      if (waiters.length === 0) return
      for (let index = waiters.length - 1; index >= 0; index--) {
        const waiter = waiters[index]!
        for (const entry of batch) if (entry.seq <= waiter.mark) waiter.remaining--
        if (waiter.remaining <= 0) {
          waiters.splice(index, 1)
          waiter.resolve()
        }
      }
    },
  }
}
