/**
 * The shape every exporting integration shares: a named layer that, once the call is over, hands the
 * call's event and the integration's mapping to the client's delivery queue. The call pays for the
 * event (built once and shared by every integration) and a hand-off; the mapping to the service's
 * items runs in the background. The call never waits for delivery, and a mapping error goes to
 * `onHookError`, never to the caller.
 */
import type { Context } from '../context'
import type { Sink } from '../delivery/queue'
import { declareLayerSinks } from '../delivery/layer-sinks'
import { recordExporter } from '../delivery/worker-routes'
import type { CallEvent } from '../event'
import { defineObservingLayer, type IntegrationMoment } from './observing-layer'
import type { RedactOptions } from '../redact'
import type { ClientServices } from '../services'
import type { Middleware } from '../types'

export type { IntegrationMoment } from './observing-layer'

/** When an exporter sends unless told otherwise. */
export const defaultMoments: ReadonlyArray<IntegrationMoment> = ['success', 'failure']

interface ExporterBasics<Item> {
  /** The layer's name (`helicone`), used as the function name and in warnings. */
  name: string
  sink: Sink<Item>
  /** Which moments send (default success and failure); `callbacks({ success: [...] })` narrows these. */
  moments?: ReadonlyArray<IntegrationMoment>
  /** Maps the call as it starts (for `input`) to items; runs at once, since the context changes later. */
  toInputItems?: (ctx: Context) => Item | Item[] | undefined
  redact?: RedactOptions
}

/** An exporter whose mapping reads the finished call's event alone (most of them). */
export interface ExporterDefinition<Item> extends ExporterBasics<Item> {
  /**
   * Maps the finished call's event to zero or more items for the sink. It runs in the background,
   * after the call has returned, so it reads only the event (a read-only snapshot: never change it).
   */
  toItems?: (event: CallEvent) => Item | Item[] | undefined
  capture?: undefined
}

/** An exporter whose mapping needs more of the call than its event: `capture` takes it as the call ends. */
export interface CapturingExporterDefinition<Item, Captured> extends ExporterBasics<Item> {
  /**
   * What the call hands to the background: the event plus what only the context knows (the model it
   * ended on, `ctx.model`), and `firstAttempt`, the index of the first attempt made inside this layer.
   */
  capture: (event: CallEvent, ctx: Context, firstAttempt: number) => Captured
  /** Maps what `capture` took to items, in the background. */
  toItems: (captured: Captured) => Item | Item[] | undefined
}

/**
 * Builds an exporting layer from a sink and a mapping: the call pays for its event and a hand-off to
 * the delivery queue, and the mapping runs in the background. An OTLP exporter is the same thing with
 * `otlpSink()` and a mapping to span trees (see `defineOtlpExporter`).
 *
 * @example
 * ```ts
 * export function myDatabase(options: { url: string }) {
 *   return defineExporter({
 *     name: 'myDatabase',
 *     sink: httpSink({ name: 'myDatabase', url: options.url, encode: (rows) => ({ rows }) }),
 *     toItems: (event) => ({ id: event.id, model: event.model, cost: event.cost?.total }),
 *   })
 * }
 * ```
 */
export function defineExporter<Item, Captured = CallEvent>(definition: ExporterDefinition<Item> | CapturingExporterDefinition<Item, Captured>): Middleware {
  const { name, sink, toInputItems, redact, moments = defaultMoments } = definition
  const eventOptions = { redact }
  const reporterFor = backgroundReporter(name, sink)

  const enqueueInput = (ctx: Context) => {
    const items = toInputItems!(ctx)
    if (items === undefined) return
    // Seen by the client, so the sink is closed with it.
    reporterFor(ctx.services)
    const queue = ctx.services.queue
    if (Array.isArray(items)) for (const item of items) queue.enqueue(sink, item)
    else queue.enqueue(sink, items)
  }

  let enqueueOutcome: ((ctx: Context, firstAttempt: number | undefined) => void) | undefined
  if (definition.capture !== undefined) {
    const { capture, toItems } = definition
    enqueueOutcome = (ctx, firstAttempt) => {
      const services = ctx.services
      services.queue.enqueueMapped(sink, capture(ctx.toEvent(eventOptions), ctx, firstAttempt ?? 0), toItems, reporterFor(services))
    }
  } else if (definition.toItems !== undefined) {
    const toItems = definition.toItems
    enqueueOutcome = (ctx) => {
      const services = ctx.services
      services.queue.enqueueMapped(sink, ctx.toEvent(eventOptions), toItems, reporterFor(services))
    }
  }

  const layer = defineObservingLayer<number>({
    name,
    moments,
    start: definition.capture === undefined ? undefined : (ctx) => ctx.attempts.length,
    input: toInputItems && enqueueInput,
    success: enqueueOutcome,
    failure: enqueueOutcome,
  })
  // So a client with a durable spool replays this sink's leftovers when the layer is added.
  declareLayerSinks(layer, [sink])
  // So a delivery worker can build this exporter again when its integration came from the catalogue.
  recordExporter(sink, definition.toItems as ((source: never) => unknown) | undefined)
  return layer
}

/**
 * For a layer whose work runs in the background: per client, the function its errors go to
 * (`onHookError`, under the layer's `name`), made once. The first time a client is seen, `sink.close()`
 * is registered to run when that client closes (after its queue has drained), freeing connections.
 *
 * @example
 * ```ts
 * const reporterFor = backgroundReporter('myDatabase', sink)
 * ctx.services.queue.enqueueMapped(sink, ctx.toEvent(), toRow, reporterFor(ctx.services))
 * ```
 */
export function backgroundReporter(name: string, sink: Sink<never>): (services: ClientServices) => (error: unknown) => void {
  const reporters = new WeakMap<ClientServices, (error: unknown) => void>()
  return (services) => {
    let report = reporters.get(services)
    if (report) return report
    report = (error: unknown) => services.reportHookError(error, name)
    reporters.set(services, report)
    if (sink.close) services.onClose(() => sink.close!())
    return report
  }
}
