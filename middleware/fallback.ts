/**
 * fallback(): when the primary model fails, tries other models in order, each a fresh dispatch of
 * the layers inside it. The call's attempts record every model tried; `ctx.model`, `ctx.provider`
 * and `ctx.responseModel` (and so the event) name the one that answered.
 */
import { z } from 'zod'
import { defineRepeatingMiddleware } from '../src/compose'
import type { Context } from '../src/context'
import { isAbortError, isAPIConnectionError, isContextWindowExceededError, isLlmError, isTimeoutError } from '../src/errors'
import { contextWindowOf } from '../src/model-windows'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { lazySchema } from '../src/lazy-schema'

/** Decides whether to move on to the next model; `ctx.request.model` is the model that failed. */
export type ShouldFallback = (error: Error, ctx: Context) => boolean | Promise<boolean>

export interface FallbackOptions {
  /** Models to try, in order, after the request's own model fails (`['openai/gpt-4o', 'gemini/gemini-2.5-flash']`). Required. */
  models: string[]
  /**
   * Replaces the default decision: fall back on 429, 5xx, connection errors and timeouts, and on
   * `ContextWindowExceededError` only to a listed model with a larger context window. Never asked
   * for aborts or after a stream chunk reached the caller.
   */
  shouldFallback?: ShouldFallback
  /** Context-window sizes in tokens for models the built-in data does not know (`{ 'mock/large': 200000 }`). Default: none. */
  contextWindows?: Record<string, number>
}

const fallbackOptionsSchema = lazySchema(() =>
  z
    .object({
      models: z.array(z.string().min(1, 'must name a model')).min(1, 'list at least one model to fall back to'),
      shouldFallback: z
        .custom<ShouldFallback>((value) => typeof value === 'function', { message: 'must be a function (error, ctx) => boolean' })
        .optional(),
      contextWindows: z.record(z.string(), z.number().int().positive()).default({}),
    })
    .strict(),
)

type FallbackSettings = z.output<typeof fallbackOptionsSchema>

/**
 * Tries `models` in order after the request's model fails. The order against `retry()` says what it
 * means: `fallback` outside `retry` retries each model before moving on; `retry` outside `fallback`
 * runs the whole list again on each retry. After the call `ctx.request.model` is the primary again.
 *
 * @example
 * ```ts
 * client.use(fallback({ models: ['openai/gpt-4o', 'gemini/gemini-2.5-flash'] }), retry({ retries: 1 }))
 * ```
 */
export function fallback(options: FallbackOptions): Middleware {
  const settings = validate(fallbackOptionsSchema, options, 'fallback() options')
  return defineRepeatingMiddleware(async function fallback(ctx, _next, inner) {
    const primary = ctx.request.model
    let next = 0
    try {
      for (;;) {
        try {
          await inner()
          return
        } catch (thrown) {
          const error = thrown instanceof Error ? thrown : new Error(String(thrown))
          // ctx.signal is read on a failure, not per call: reading it creates the call's AbortController.
          const index = await nextModel(error, ctx, ctx.signal, next, settings)
          if (index === undefined) throw thrown
          next = index + 1
          ctx.request.model = settings.models[index]!
          ctx.attempt++
        }
      }
    } finally {
      ctx.request.model = primary
    }
  })
}

/** The index in `models` of the model to try next, or undefined to give up with `error`. */
async function nextModel(error: Error, ctx: Context, signal: AbortSignal, from: number, settings: FallbackSettings): Promise<number | undefined> {
  if (from >= settings.models.length || signal.aborted || isAbortError(error)) return undefined
  // Once a chunk reached the caller another model's answer would be spliced onto it.
  if (ctx.streaming && ctx.chunksDelivered > 0) return undefined
  if (settings.shouldFallback) return (await settings.shouldFallback(error, ctx)) ? from : undefined
  if (isContextWindowExceededError(error)) return largerWindow(ctx.request.model, from, settings)
  return isFallbackError(error) ? from : undefined
}

function isFallbackError(error: Error): boolean {
  if (isAPIConnectionError(error) || isTimeoutError(error)) return true
  const status = isLlmError(error) ? error.status : undefined
  return status !== undefined && (status === 429 || status >= 500)
}

function largerWindow(failed: string, from: number, settings: FallbackSettings): number | undefined {
  const failedWindow = contextWindowOf(failed, settings.contextWindows)
  if (failedWindow === undefined) return undefined
  for (let index = from; index < settings.models.length; index++) {
    const window = contextWindowOf(settings.models[index]!, settings.contextWindows)
    if (window !== undefined && window > failedWindow) return index
  }
  return undefined
}
