/**
 * A layer built from plain hook functions that watch a call without being able to break it: a throw,
 * a rejection or a hang in a hook goes to the client's `onHookError` and the call goes on unchanged.
 */
import { z } from 'zod'
import type { Context } from '../src/context'
import type { CallEvent } from '../src/event'
import { defineObservingLayer, recordError } from '../src/integrations/observing-layer'
import { runHook, type HookSettings } from '../src/integrations/run-hook'
import type { RedactOptions } from '../src/redact'
import type { ChatChunk } from '../src/schema'
import type { AttemptRecord, Middleware } from '../src/types'
import { validate } from '../src/validate'
import { lazySchema } from '../src/lazy-schema'

// Where they lived before the observing-layer kit; `callbacks` and `customLogger` still reach them here.
export { recordError, runHook, type HookSettings }

type Hook<Args extends unknown[]> = (...args: Args) => unknown

/** Hooks and options of {@link observer}. */
export interface ObserverOptions {
  /** Before the call goes inside (before `next()`); may read, not replace, the request. */
  onStart?: Hook<[ctx: Context]>
  /** After a successful call (streams: after the last chunk), with the call's event. */
  onSuccess?: Hook<[event: CallEvent, ctx: Context]>
  /** After a failed or cancelled call (`event.status` says which). */
  onFailure?: Hook<[event: CallEvent, ctx: Context]>
  /** For every stream chunk as it passes this layer; observing only, the chunk cannot be replaced. */
  onChunk?: Hook<[chunk: ChatChunk, ctx: Context]>
  /** Once for every provider attempt made inside this layer, after `next()` settles, before onSuccess/onFailure. */
  onAttempt?: Hook<[attempt: AttemptRecord, ctx: Context]>
  /** Wait for async hooks before the call goes on (default false). */
  await?: boolean
  /** Redaction of the events this layer's hooks receive (default: the client's `redact`). */
  redact?: RedactOptions
  /** How long an async hook may stay pending before it is reported and dropped (default 10,000 ms). */
  timeoutMs?: number
  /** Names the layer in stack traces and hook errors (default `observer`). */
  name?: string
}

const hookSchema = lazySchema(() => z.custom<Hook<unknown[]>>((value) => typeof value === 'function', { message: 'must be a function' }))
const observerSchema = lazySchema(() =>
  z
    .object({
      onStart: hookSchema.optional(),
      onSuccess: hookSchema.optional(),
      onFailure: hookSchema.optional(),
      onChunk: hookSchema.optional(),
      onAttempt: hookSchema.optional(),
      await: z.boolean().default(false),
      redact: z.object({ messages: z.boolean().optional() }).strict().optional(),
      timeoutMs: z.number().positive().default(10_000),
      name: z.string().min(1).default('observer'),
    })
    .strict(),
)

/**
 * A layer from plain functions, sync or async. Hooks are isolated: a throw, a rejection or a hang goes
 * to `onHookError` (as `observer.onSuccess`, ...) and never fails, changes or delays the call. Async
 * hooks run in the background unless `await: true`; `client.flush()` waits for them.
 *
 * Placement: outside a retry or fallback layer, onStart/onSuccess/onFailure fire once per call and
 * onAttempt once per attempt, all after the call; inside one, the layer runs per attempt, so each hook
 * fires per attempt.
 *
 * @example
 * ```ts
 * client.use(observer({
 *   onStart: (ctx) => console.log('calling', ctx.request.model),
 *   onSuccess: (event) => console.log(event.model, event.latencyMs, 'ms', event.cost?.total),
 *   onFailure: (event) => console.error(event.status, event.error?.message),
 * }))
 * ```
 */
export function observer(options: ObserverOptions): Middleware {
  const { onStart, onSuccess, onFailure, onChunk, onAttempt, redact, name, ...settings } = validate(observerSchema, options, 'observer() options')
  const names = {
    start: `${name}.onStart`,
    success: `${name}.onSuccess`,
    failure: `${name}.onFailure`,
    chunk: `${name}.onChunk`,
    attempt: `${name}.onAttempt`,
  }
  const eventOptions = { redact }

  const layer = defineObservingLayer<number>({
    name,
    recordError: true,
    hookNames: { input: names.start, success: names.success, failure: names.failure },
    // The first attempt made inside this layer: onAttempt reports the attempts from there.
    start: (ctx) => ctx.attempts.length,
    input: (onStart || onChunk) && ((ctx) => {
      if (onChunk && ctx.streaming) {
        ctx.onChunk((chunk) => {
          const waiting = runHook(ctx, names.chunk, settings, () => onChunk(chunk, ctx))
          return waiting?.then(() => undefined)
        })
      }
      return onStart ? runHook(ctx, names.start, settings, () => onStart(ctx)) : undefined
    }),
    around: onAttempt
      ? async (ctx, next, firstAttempt) => {
          try {
            await next()
          } catch (thrown) {
            recordError(ctx, thrown)
            await reportAttempts(ctx, firstAttempt ?? 0)
            throw thrown
          }
          await reportAttempts(ctx, firstAttempt ?? 0)
        }
      : undefined,
    success: onSuccess && ((ctx) => runHook(ctx, names.success, settings, () => onSuccess(ctx.toEvent(eventOptions), ctx))),
    failure: onFailure && ((ctx) => runHook(ctx, names.failure, settings, () => onFailure(ctx.toEvent(eventOptions), ctx))),
  })

  async function reportAttempts(ctx: Context, from: number): Promise<void> {
    if (!onAttempt) return
    for (let index = from; index < ctx.attempts.length; index++) {
      const attempt = ctx.attempts[index]!
      const waiting = runHook(ctx, names.attempt, settings, () => onAttempt!(attempt, ctx))
      if (waiting) await waiting
    }
  }

  return layer
}
