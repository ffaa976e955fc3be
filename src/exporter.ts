/**
 * The shape every exporting integration shares: a named layer that, once the call is over, hands the
 * call's event and the integration's mapping to the client's delivery queue. The call pays for the
 * event (built once and shared by every integration) and a hand-off; the mapping to the service's
 * items runs in the background. The call never waits for delivery, and a mapping error goes to
 * `onHookError`, never to the caller.
 */
import type { Context } from './context'
import type { Sink } from './delivery-queue'
import type { CallEvent } from './event'
import type { RedactOptions } from './redact'
import type { ClientServices } from './services'
import type { Middleware } from './types'

/** When an integration acts: before the call (`input`), after a success, after a failure (cancels included). */
export type IntegrationMoment = 'input' | 'success' | 'failure'

/** When an exporter sends unless told otherwise. */
export const defaultMoments: ReadonlyArray<IntegrationMoment> = ['success', 'failure']

export interface ExporterDefinition<Item> {
  /** The layer's name (`helicone`), used as the function name and in warnings. */
  name: string
  sink: Sink<Item>
  /** Which moments send (default success and failure); `callbacks({ success: [...] })` narrows these. */
  moments?: ReadonlyArray<IntegrationMoment>
  /**
   * Maps the finished call's event to zero or more items for the sink. It runs in the background,
   * after the call has returned, so it reads only the event (a read-only snapshot: never change it).
   */
  toItems?: (event: CallEvent) => Item | Item[] | undefined
  /** Maps the call as it starts (for `input`) to items; runs at once, since the context changes later. */
  toInputItems?: (ctx: Context) => Item | Item[] | undefined
  redact?: RedactOptions
}

/**
 * Builds an exporting layer from a sink and a mapping.
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
export function defineExporter<Item>(definition: ExporterDefinition<Item>): Middleware {
  const { name, sink, toItems, toInputItems, redact, moments = defaultMoments } = definition
  const onInput = moments.includes('input') && toInputItems !== undefined
  const onSuccess = moments.includes('success') && toItems !== undefined
  const onFailure = moments.includes('failure') && toItems !== undefined
  const eventOptions = { redact }
  const reporterFor = backgroundReporter(name, sink)

  const enqueueInput = (ctx: Context) => {
    try {
      const items = toInputItems!(ctx)
      if (items === undefined) return
      // Seen by the client, so the sink is closed with it.
      reporterFor(ctx.services)
      const queue = ctx.services.queue
      if (Array.isArray(items)) for (const item of items) queue.enqueue(sink, item)
      else queue.enqueue(sink, items)
    } catch (error) {
      ctx.services.reportHookError(error, name)
    }
  }

  const enqueueOutcome = (ctx: Context) => {
    try {
      const services = ctx.services
      services.queue.enqueueMapped(sink, ctx.toEvent(eventOptions), toItems!, reporterFor(services))
    } catch (error) {
      ctx.services.reportHookError(error, name)
    }
  }

  const layer: Middleware = async (ctx, next) => {
    if (onInput) enqueueInput(ctx)
    try {
      await next()
    } catch (error) {
      if (onFailure) enqueueOutcome(ctx)
      throw error
    }
    if (onSuccess) enqueueOutcome(ctx)
  }
  Object.defineProperty(layer, 'name', { value: name })
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
