/**
 * Which sink an exporting layer sends to, so a client with a durable spool can replay what an
 * earlier process left for that sink as soon as the layer is added (`createClient({ middleware })`
 * or `use()`), not only when the sink gets its first new item.
 */
import type { Sink } from './sink'

const sinks = new WeakMap<object, Sink<unknown>>()

/**
 * Records that `layer` sends to `sink` (`defineExporter` does it for every exporter).
 *
 * @example
 * ```ts
 * const layer = defineObservingLayer({ name: 'myDatabase', success })
 * declareLayerSink(layer, sink)
 * ```
 */
export function declareLayerSink(layer: object, sink: Sink<never>): void {
  sinks.set(layer, sink as Sink<unknown>)
}

/**
 * The sink `layer` sends to, when it declared one.
 *
 * @example
 * ```ts
 * const sink = layerSink(layer)
 * if (sink) client.services.queue.replay(sink)
 * ```
 */
export function layerSink(layer: object): Sink<unknown> | undefined {
  return sinks.get(layer)
}
