/**
 * The least a per-layer profile can cost (issue 20, docs/profile.md "Cost"): a koa-compose-shaped
 * dispatch that reads the clock when each layer starts and once more when it settles (one promise
 * reaction), and records nothing. Beside the same dispatch without the clock and the reaction, its
 * cost per layer is the floor under `createClient({ profile: true })` on this machine and Node.
 */

type Layer<Context> = (ctx: Context, next: () => Promise<void>) => Promise<void>

/**
 * Composes `layers` as koa-compose does; with `clocked`, each layer costs two `performance.now()`
 * and one `.then` more, the measurement a profile cannot do without.
 *
 * @example
 * ```ts
 * const floor = floorCompose([...noOps, terminal], true)
 * await floor(context)
 * ```
 */
export function floorCompose<Context>(layers: ReadonlyArray<Layer<Context>>, clocked: boolean): (ctx: Context) => Promise<void> {
  const clock = performance
  const settled = () => {
    clock.now()
  }
  return (ctx) => {
    const dispatch = (index: number): Promise<void> => {
      const layer = layers[index]
      if (!layer) return Promise.resolve()
      if (!clocked) return layer(ctx, () => dispatch(index + 1))
      clock.now()
      return layer(ctx, () => dispatch(index + 1)).then(settled)
    }
    return dispatch(0)
  }
}

/** Nanoseconds of one `performance.now()`, the cheapest clock Node offers here: the least of 5 runs of 1,000,000 reads. */
export function clockReadNs(): number {
  const clock = performance
  let best = Number.POSITIVE_INFINITY
  for (let run = 0; run < 5; run++) {
    const started = process.hrtime.bigint()
    for (let read = 0; read < 1_000_000; read++) clock.now()
    best = Math.min(best, Number(process.hrtime.bigint() - started) / 1_000_000)
  }
  return best
}
