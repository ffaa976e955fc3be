/**
 * Which sinks a layer sends to, so a client with a durable spool can replay what an earlier process
 * left for them as soon as the layer is added (`createClient({ middleware })` or `use()`), not only
 * when a sink gets its first new item. Exporters declare their sink; layers bundling others
 * (`observability()`, `callbacks()`, the proxy's callbacks) declare their layers' sinks.
 */
import type { Sink } from './sink'

const sinks = new WeakMap<object, ReadonlyArray<Sink<unknown>>>()

/**
 * Records that `layer` sends to `layerSinks` (`defineExporter` and `chainLayers` do it).
 *
 * @example
 * ```ts
 * const layer = defineObservingLayer({ name: 'myDatabase', success })
 * declareLayerSinks(layer, [sink])
 * ```
 */
export function declareLayerSinks(layer: object, layerSinks: ReadonlyArray<Sink<never>>): void {
  if (layerSinks.length > 0) sinks.set(layer, layerSinks as ReadonlyArray<Sink<unknown>>)
}

/**
 * The sinks `layer` declared it sends to (none when it declared nothing).
 *
 * @example
 * ```ts
 * for (const sink of sinksOfLayer(layer)) client.services.queue.replay(sink)
 * ```
 */
export function sinksOfLayer(layer: object): ReadonlyArray<Sink<unknown>> {
  return sinks.get(layer) ?? []
}
