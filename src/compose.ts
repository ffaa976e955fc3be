/**
 * Composition of layers. koa-compose does the dispatch, and its guard stands: a layer calls `next()`
 * at most once. A layer that must run the inside of the onion again (retry, fallback) is marked with
 * {@link defineRepeatingMiddleware} and gets the part of the stack inside it composed as its own
 * function, so every attempt is a fresh dispatch.
 */
import { createRequire } from 'node:module'
import type koaCompose from 'koa-compose'
import type { Context } from './context'
import type { Middleware, RepeatingMiddleware } from './types'
import { dropStreamWrappers, streamWrapperCount } from './streamed-call'

const repeating = Symbol.for('llm-onion.repeating')

let loadedKoaCompose: typeof koaCompose | undefined

/**
 * koa-compose, required on the first composition rather than imported: it is CommonJS, and an ES
 * import of it made `import 'llm-onion'` start Node's CommonJS-in-ESM translation (its export
 * lexer), about 3 ms of a cold start against under 2 ms for `require` (docs/benchmarks.md, "Cold start").
 */
function koaComposeModule(): typeof koaCompose {
  return (loadedKoaCompose ??= createRequire(import.meta.url)('koa-compose') as typeof koaCompose)
}

/**
 * Identity helper that types `ctx` and `next` for a layer written on its own.
 *
 * @example
 * ```ts
 * export const logModel = defineMiddleware(async function logModel(ctx, next) {
 *   console.log('calling', ctx.request.model)
 *   await next()
 * })
 * ```
 */
export function defineMiddleware(layer: Middleware): Middleware {
  return layer
}

/**
 * Marks a layer that re-runs the layers inside it. It receives `inner()`, a fresh dispatch of every
 * layer inside it and the provider; each call of `inner()` starts from a clean attempt (no response,
 * no error, no chunk functions registered by inner layers in earlier attempts).
 *
 * @example
 * ```ts
 * const twice = defineRepeatingMiddleware(async function twice(ctx, _next, inner) {
 *   try { await inner() } catch { ctx.attempt++; await inner() }
 * })
 * ```
 */
export function defineRepeatingMiddleware(layer: RepeatingMiddleware): Middleware {
  ;(layer as unknown as Record<symbol, boolean>)[repeating] = true
  return layer as unknown as Middleware
}

export function isRepeatingMiddleware(layer: Middleware): boolean {
  return (layer as unknown as Record<symbol, boolean>)[repeating] === true
}

/** Throws a TypeError that says what was passed instead of a layer. */
export function assertMiddleware(layer: unknown, position: number, where = 'client.use()'): asserts layer is Middleware {
  if (typeof layer === 'function') return
  const found = layer === null ? 'null' : Array.isArray(layer) ? 'an array' : typeof layer
  throw new TypeError(
    `${where} takes middleware functions (ctx, next) => { ... await next() ... }; argument ${position + 1} is ${found}. ` +
      (typeof layer === 'string'
        ? `To enable a built-in integration by name use callbacks({ success: ['${layer}'] }).`
        : 'For a LiteLLM-style handler object wrap it with customLogger(handler) or observer({...}).'),
  )
}

/**
 * Composes `layers` around `terminal` (the provider call). The first layer is the outermost.
 * Done once per change of the stack, not per call.
 */
export function composeLayers(
  layers: ReadonlyArray<Middleware>,
  terminal: (ctx: Context) => Promise<void>,
): (ctx: Context) => Promise<void> {
  const stack: Middleware[] = layers.map((layer, index) => {
    if (!isRepeatingMiddleware(layer)) return layer
    const innerStack = composeLayers(layers.slice(index + 1), terminal)
    const repeatingLayer = layer as unknown as RepeatingMiddleware
    return (ctx: Context, next: () => Promise<void>) => {
      const mark = ctx.chunkHandlers.length
      const wrapperMark = streamWrapperCount(ctx)
      const inner = () => {
        startAttempt(ctx, mark, wrapperMark)
        return innerStack(ctx)
      }
      return repeatingLayer(ctx, next, inner)
    }
  })
  stack.push((ctx: Context) => terminal(ctx))
  const dispatch = koaComposeModule()(stack as Array<koaCompose.Middleware<Context>>)
  return (ctx: Context) => dispatch(ctx)
}

/**
 * @internal clears what an earlier attempt of the layers inside a repeating layer left: the chunk
 * functions and stream wrappers registered after `mark` and `wrapperMark`, the response and the error.
 */
export function startAttempt(ctx: Context, mark: number, wrapperMark: number): void {
  ctx.chunkHandlers.length = mark
  dropStreamWrappers(ctx, wrapperMark)
  ctx.response = undefined
  ctx.error = undefined
}
