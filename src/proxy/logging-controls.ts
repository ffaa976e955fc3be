/**
 * What a proxy request may say about its own logging, as LiteLLM's clients say it: `no-log: true`
 * in the body (or `metadata`) sends it to no callback; the `x-litellm-disable-callbacks` header
 * (`langfuse,datadog`) keeps it from the callbacks it names; `litellm_settings.
 * global_disable_no_log_param: true` forbids both. The `x-litellm-tags` header's tags join the
 * event's `tags`, beside the request's `tags` and `metadata.tags`.
 */
import { requestedNoLog } from '../../middleware/route'
import type { Context } from '../context'
import type { Middleware } from '../types'
import { declareLayerSinks, sinksOfLayer } from '../delivery/layer-sinks'
import type { Sink } from '../delivery/sink'

const disabledKey = Symbol('callbacks disabled for this request')

/** The names the request disabled, or `all` for `no-log`. */
type Disabled = ReadonlySet<string> | 'all'

function listHeader(ctx: Context, name: string): string[] {
  const value = ctx.http?.headers[name]
  return value === undefined ? [] : value.split(',').map((item) => item.trim()).filter((item) => item !== '')
}

/**
 * The outer layer that reads a request's logging controls once: the tags header always, the opt-outs
 * unless `allowOptOut` is false.
 *
 * @example
 * ```ts
 * layers.push(loggingControls({ allowOptOut: !config.forbidLoggingOptOut }))
 * ```
 */
export function loggingControls(options: { allowOptOut: boolean }): Middleware {
  return async function loggingControls(ctx, next) {
    const headerTags = listHeader(ctx, 'x-litellm-tags').filter((tag) => !ctx.tags.includes(tag))
    if (headerTags.length > 0) ctx.tags = [...ctx.tags, ...headerTags]
    if (options.allowOptOut) {
      if (requestedNoLog(ctx)) ctx.setSlot(disabledKey, 'all')
      else {
        const named = listHeader(ctx, 'x-litellm-disable-callbacks').map((name) => name.toLowerCase())
        if (named.length > 0) ctx.setSlot(disabledKey, new Set(named))
      }
    }
    await next()
  }
}

/**
 * What the request switched off: `'all'` for `no-log`, the lower-cased names of the disable header,
 * or undefined (nothing, or opt-out forbidden).
 *
 * @example
 * ```ts
 * const disabled = callbacksDisabled(ctx)
 * if (disabled === 'all' || disabled?.has('langfuse')) return next()
 * ```
 */
export function callbacksDisabled(ctx: Context): Disabled | undefined {
  return ctx.slot<Disabled>(disabledKey)
}

/**
 * A logging layer the request can switch off: skipped for `no-log`, and when the disable header
 * names any of `names` (a layer that serves several integrations is skipped whole: a request that
 * asked not to be logged somewhere is never logged there).
 *
 * @example
 * ```ts
 * layers.push(unlessDisabled(callbacks(lists), ['langfuse', 'datadog']))
 * ```
 */
export function unlessDisabled(layer: Middleware, names: ReadonlyArray<string>): Middleware {
  const lowered = names.map((name) => name.toLowerCase())
  const wrapped: Middleware = (ctx, next) => {
    const disabled = ctx.slot<Disabled>(disabledKey)
    if (disabled === 'all' || (disabled && lowered.some((name) => disabled.has(name)))) return next()
    return layer(ctx, next)
  }
  Object.defineProperty(wrapped, 'name', { value: layer.name })
  // A client with a durable spool replays the wrapped layer's sinks when this layer is added.
  declareLayerSinks(wrapped, sinksOfLayer(layer) as ReadonlyArray<Sink<never>>)
  return wrapped
}
