/**
 * A layer that spins the CPU a known time before and after `next()`: what profiling tests and
 * examples rank (docs/profile.md).
 */
import type { Context } from '../context'
import type { Middleware } from '../types'

/**
 * Spins the CPU for `milliseconds` (work, not waiting: the event loop is held).
 *
 * @example
 * ```ts
 * busyWait(5) // five milliseconds of a layer's own work
 * ```
 */
export function busyWait(milliseconds: number): void {
  const until = performance.now() + milliseconds
  while (performance.now() < until) {
    // spinning
  }
}

/**
 * A layer named `name` that works `before` ms before `next()` and `after` ms after it.
 *
 * @example
 * ```ts
 * const client = createClient({ profile: true, middleware: [busyLayer('slow', 20, 5), busyLayer('quick', 1, 1)] })
 * ```
 */
export function busyLayer(name: string, before: number, after: number): Middleware {
  const layer = async (_ctx: Context, next: () => Promise<void>) => {
    busyWait(before)
    await next()
    busyWait(after)
  }
  Object.defineProperty(layer, 'name', { value: name })
  return layer
}
