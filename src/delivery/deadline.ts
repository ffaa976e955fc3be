/**
 * Waiting with a deadline, for `flush({ timeoutMs })` and `close()`: the wait always ends by then,
 * and keeps the process alive while it lasts.
 */

/**
 * Resolves `true` once `promise` settles (a rejection counts as settled), or `false` after
 * `timeoutMs`. The timer is not `unref()`ed, on purpose: the queue's retry timers are, and a process
 * with nothing else alive would otherwise exit in the middle of the wait.
 *
 * @example
 * ```ts
 * const finished = await settlesWithin(queue.flush(), 2_000)
 * if (!finished) console.warn('still delivering')
 * ```
 */
export function settlesWithin(promise: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs)
    const settled = () => {
      clearTimeout(timer)
      resolve(true)
    }
    promise.then(settled, settled)
  })
}

/** Milliseconds left until `deadline` (a `Date.now()` time), never negative. */
export const timeLeft = (deadline: number): number => Math.max(0, deadline - Date.now())
