/**
 * The onion profile as spans: one INTERNAL child of the call's span per layer, from the layer's
 * start to its end, with its own time before and after `next()` as attributes (docs/profile.md).
 */
import type * as Api from '@opentelemetry/api'
import type { LayerSpan } from '../../profile'

/**
 * Writes one child span of `parent` per layer: named `layer {name}`, attributes
 * `llm_onion.layer.name`, `llm_onion.layer.before_us`, `llm_onion.layer.after_us`.
 *
 * @example
 * ```ts
 * whenProfiled(ctx, (_layers, profile) => writeLayerSpans(api, tracer, span, parentContext, profile.spans()))
 * ```
 */
export function writeLayerSpans(api: typeof Api, tracer: Api.Tracer, parent: Api.Span, parentContext: Api.Context, layers: LayerSpan[]): void {
  const context = api.trace.setSpan(parentContext, parent)
  for (const layer of layers) {
    const span = tracer.startSpan(
      `layer ${layer.name}`,
      {
        kind: api.SpanKind.INTERNAL,
        startTime: layer.start,
        attributes: { 'llm_onion.layer.name': layer.name, 'llm_onion.layer.before_us': layer.beforeUs, 'llm_onion.layer.after_us': layer.afterUs },
      },
      context,
    )
    span.end(layer.end)
  }
}
