/**
 * Several layers as one, for the layers that bundle integrations (`observability()`, `callbacks()`):
 * the first is the outermost, and the chain's `next` is the call's own.
 */
import type { Middleware } from '../types'
import { declareLayerSinks, sinksOfLayer } from '../delivery/layer-sinks'

/**
 * Chains `layers` into one layer, built once. Like koa-compose, a layer that calls `next()` twice
 * gets a rejection instead of running the inner layers again.
 *
 * @example
 * ```ts
 * client.use(chainLayers([sentry(), helicone()]))
 * ```
 */
export function chainLayers(layers: ReadonlyArray<Middleware>): Middleware {
  const count = layers.length
  const chain: Middleware = function chained(ctx, next) {
    let reached = -1
    const dispatch = (index: number): Promise<void> => {
      if (index <= reached) return Promise.reject(new Error('next() called multiple times'))
      reached = index
      if (index === count) return next()
      try {
        return Promise.resolve(layers[index]!(ctx, () => dispatch(index + 1)))
      } catch (error) {
        return Promise.reject(error)
      }
    }
    return dispatch(0)
  }
  // The chain sends to its layers' sinks: a client with a durable spool replays them when it is added.
  declareLayerSinks(chain, layers.flatMap((layer) => sinksOfLayer(layer)))
  return chain
}
