/**
 * Observing layers side by side in a chain (`observability()`, `callbacks()`), run in one frame: the
 * moments of every layer in the order their nesting would give (starts and inputs outermost first,
 * outcomes innermost first), with one `await next()` for all of them.
 *
 * Why: each nested async layer costs its own suspended frame, promise and dispatch closure per call
 * (about 500 bytes; the preset's 27 integrations allocated 16 KB per call in them, most of what the
 * preset allocated), and a call's garbage is what its collections cost. A group runs the same
 * handlers, isolated the same way, at the same moments; only the frames are gone.
 */
import type { Context } from '../context'
import { isAbortError } from '../errors'
import type { Middleware } from '../types'
import { isolated, markObservations, observationsOfLayer, recordError, type Observation } from './observing-layer'

/**
 * `layers` with every run of two or more adjacent observing layers (made by `defineObservingLayer`,
 * without `around`, or groups of them) replaced by one layer that runs them as their nesting would.
 *
 * @example
 * ```ts
 * const [grouped] = groupObservingLayers([sentry(), helicone(), posthog()]) // one layer, three integrations
 * ```
 */
export function groupObservingLayers(layers: ReadonlyArray<Middleware>): Middleware[] {
  const grouped: Middleware[] = []
  let run: Middleware[] = []
  const endRun = () => {
    if (run.length === 1) grouped.push(run[0]!)
    else if (run.length > 1) grouped.push(observingGroup(run.flatMap((layer) => observationsOfLayer(layer)!)))
    run = []
  }
  for (const layer of layers) {
    const observations = observationsOfLayer(layer)
    // A layer with `around` runs the inner ones inside something of its own (a span's context): it keeps its frame.
    if (observations && observations.every((observation) => !observation.around)) {
      run.push(layer)
      continue
    }
    endRun()
    grouped.push(layer)
  }
  endRun()
  return grouped
}

/** One layer running `observations` (outermost first) as nested observing layers would. */
function observingGroup(observations: ReadonlyArray<Observation>): Middleware {
  const count = observations.length
  const takesState = observations.some((observation) => observation.start !== undefined)
  const layer: Middleware = async (ctx, next) => {
    // One slot per member, only when a member keeps state for its later moments.
    const states: unknown[] | undefined = takesState ? new Array(count) : undefined
    for (let index = 0; index < count; index++) {
      const { start, input, hookNames } = observations[index]!
      let state: unknown
      if (start) {
        try {
          state = start(ctx)
        } catch (error) {
          ctx.services.reportHookError(error, hookNames.start)
        }
        states![index] = state
      }
      if (input) {
        const waiting = isolated(ctx, hookNames.input, input, state, undefined)
        if (waiting) await waiting
      }
    }
    try {
      await next()
    } catch (thrown) {
      await outcomes(ctx, observations, states, thrown)
      throw thrown
    }
    for (let index = count - 1; index >= 0; index--) {
      const { success, hookNames } = observations[index]!
      if (!success) continue
      const waiting = isolated(ctx, hookNames.success, success, states?.[index], undefined)
      if (waiting) await waiting
    }
  }
  Object.defineProperty(layer, 'name', { value: [...new Set(observations.map((observation) => observation.name))].join('+') })
  // A group inside a chain (datadog()'s two outputs in observability()) joins the chain's own group.
  markObservations(layer, observations)
  return layer
}

/** After a failure or a cancel: each member, innermost first, records the error if it should, then runs its handler. */
async function outcomes(ctx: Context, observations: ReadonlyArray<Observation>, states: unknown[] | undefined, thrown: unknown): Promise<void> {
  const cancel = isAbortError(thrown)
  for (let index = observations.length - 1; index >= 0; index--) {
    const { recordsError, failure, cancelled, hookNames } = observations[index]!
    if (recordsError) recordError(ctx, thrown)
    const handler = cancel ? cancelled : failure
    if (!handler) continue
    const waiting = isolated(ctx, handler === failure ? hookNames.failure : hookNames.cancelled, handler, states?.[index], thrown)
    if (waiting) await waiting
  }
}
