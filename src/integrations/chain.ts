/**
 * Several layers as one, for the layers that bundle integrations (`observability()`, `callbacks()`):
 * the first is the outermost, and the chain's `next` is the call's own.
 */
import type { Context } from '../context'
import type { Middleware } from '../types'
import { declareLayerSinks, sinksOfLayer } from '../delivery/layer-sinks'
import { groupObservingLayers } from './observing-group'

/**
 * Chains `layers` into one layer, built once. Like koa-compose, a layer that calls `next()` twice
 * gets a rejection instead of running the inner layers again. Adjacent observing layers (made by
 * `defineObservingLayer`) run in one frame, as their nesting would (src/integrations/observing-group.ts).
 *
 * @example
 * ```ts
 * client.use(chainLayers([sentry(), helicone()]))
 * ```
 */
export function chainLayers(layers: ReadonlyArray<Middleware>): Middleware {
  const steps = groupObservingLayers(layers)
  // Observing layers only: the one group is the chain (and may join a group around it).
  if (steps.length === 1 && steps[0] !== layers[0]) {
    declareLayerSinks(steps[0]!, layers.flatMap((layer) => sinksOfLayer(layer)))
    return steps[0]!
  }
  const chain: Middleware = function chained(ctx, next) {
    return new ChainRun(steps, ctx, next).dispatch(0)
  }
  // The chain sends to its layers' sinks: a client with a durable spool replays them when it is added.
  declareLayerSinks(chain, layers.flatMap((layer) => sinksOfLayer(layer)))
  return chain
}

/**
 * One call through a chain. A small object rather than a `dispatch` closure made per call: a named
 * function made per call is also renamed per call where names are kept (tsx, esbuild's keepNames).
 */
class ChainRun {
  #reached = -1

  constructor(
    readonly steps: ReadonlyArray<Middleware>,
    readonly ctx: Context,
    readonly next: () => Promise<void>,
  ) {}

  dispatch(index: number): Promise<void> {
    if (index <= this.#reached) return Promise.reject(new Error('next() called multiple times'))
    this.#reached = index
    if (index === this.steps.length) return this.next()
    try {
      return Promise.resolve(this.steps[index]!(this.ctx, () => this.dispatch(index + 1)))
    } catch (error) {
      return Promise.reject(error)
    }
  }
}
