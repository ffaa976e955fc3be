/**
 * Running a user's hook (an observer's `onSuccess`, a CustomLogger method, a function in a callbacks
 * list) so it cannot break the call: a throw, a rejection or a hang goes to the client's `onHookError`,
 * an async hook is waited for by `client.flush()`, and the call waits for it only when asked to.
 */
import type { Context } from '../context'
import { isPromiseLike } from './observing-layer'

/** How isolated hooks run; shared by `observer`, `customLogger` and `callbacks`. */
export interface HookSettings {
  /** Wait for async hooks before the call goes on (default false: they run in the background). */
  await: boolean
  /** An async hook still pending after this long is reported and no longer waited for (default 10,000 ms). */
  timeoutMs: number
}

/**
 * Runs one isolated hook. A throw or rejection is reported as `hook` to `onHookError`; a returned
 * promise is registered with `ctx.waitUntil` so `client.flush()` waits for it, bounded by
 * `timeoutMs`. Returns a promise only when the caller must wait (`await: true`); it never rejects.
 *
 * @example
 * ```ts
 * const waiting = runHook(ctx, 'audit.onSuccess', { await: false, timeoutMs: 10_000 }, () => audit(ctx))
 * if (waiting) await waiting
 * ```
 */
export function runHook(ctx: Context, hook: string, settings: HookSettings, call: () => unknown): Promise<void> | undefined {
  let result: unknown
  try {
    result = call()
  } catch (error) {
    ctx.services.reportHookError(error, hook)
    return undefined
  }
  if (!isPromiseLike(result)) return undefined
  const settled = withTimeout(result, hook, settings.timeoutMs).then(
    () => undefined,
    (error: unknown) => ctx.services.reportHookError(error, hook),
  )
  ctx.waitUntil(settled)
  return settings.await ? settled : undefined
}

function withTimeout(promise: PromiseLike<unknown>, hook: string, timeoutMs: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${hook} did not settle within ${timeoutMs} ms; the call went on without it. Make the hook resolve, or raise the layer's timeoutMs option.`)),
      timeoutMs,
    )
    // A hung hook must not keep the process alive either.
    timer.unref()
  })
  return Promise.race([promise, timedOut]).finally(() => clearTimeout(timer))
}
