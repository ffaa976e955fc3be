/**
 * The shape every exporting integration shares: a named layer that, once the call is over, maps the
 * standard event to its service's items and enqueues them on the client's delivery queue. The call
 * never waits for delivery, and a mapping error goes to `onHookError`, never to the caller.
 */
import type { Context } from './context'
import type { Sink } from './delivery-queue'
import type { CallEvent } from './event'
import type { RedactOptions } from './redact'
import type { Middleware } from './types'

/** When an integration acts: before the call (`input`), after a success, after a failure (cancels included). */
export type IntegrationMoment = 'input' | 'success' | 'failure'

export interface ExporterDefinition<Item> {
  /** The layer's name (`helicone`), used as the function name and in warnings. */
  name: string
  sink: Sink<Item>
  /** Which moments send; `callbacks({ success: [...] })` narrows these. */
  moments: ReadonlyArray<IntegrationMoment>
  /** Maps the finished call's event to zero or more items for the sink. */
  toItems?: (event: CallEvent, ctx: Context) => Item | Item[] | undefined
  /** Maps the call as it starts (for `input`) to items. */
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
 *     moments: ['success', 'failure'],
 *     sink: httpSink({ name: 'myDatabase', url: options.url, encode: (rows) => ({ rows }) }),
 *     toItems: (event) => ({ id: event.id, model: event.model, cost: event.cost?.total }),
 *   })
 * }
 * ```
 */
export function defineExporter<Item>(definition: ExporterDefinition<Item>): Middleware {
  const { name, sink, toItems, toInputItems, redact } = definition
  const onInput = definition.moments.includes('input') && toInputItems !== undefined
  const onSuccess = definition.moments.includes('success') && toItems !== undefined
  const onFailure = definition.moments.includes('failure') && toItems !== undefined

  const enqueue = (ctx: Context, map: () => Item | Item[] | undefined) => {
    try {
      const items = map()
      if (items === undefined) return
      const queue = ctx.services.queue
      if (Array.isArray(items)) for (const item of items) queue.enqueue(sink, item)
      else queue.enqueue(sink, items)
    } catch (error) {
      ctx.services.reportHookError(error, name)
    }
  }

  const layer: Middleware = async (ctx, next) => {
    if (onInput) enqueue(ctx, () => toInputItems!(ctx))
    try {
      await next()
    } catch (error) {
      if (onFailure) enqueue(ctx, () => toItems!(ctx.toEvent({ redact }), ctx))
      throw error
    }
    if (onSuccess) enqueue(ctx, () => toItems!(ctx.toEvent({ redact }), ctx))
  }
  Object.defineProperty(layer, 'name', { value: name })
  return layer
}
