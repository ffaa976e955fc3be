/**
 * timeout(): bounds how long the layers inside it may take. On expiry it aborts the upstream request
 * through the signal the provider received, and the call fails with `TimeoutError` (408, retryable).
 */
import { z } from 'zod'
import type { Context } from '../src/context'
import { TimeoutError } from '../src/errors'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { lazySchema } from '../src/lazy-schema'

export interface TimeoutOptions {
  /** Longest time for the whole call through this layer, in ms (chat, stream and embedding). Default: no limit. */
  ms?: number
  /** Streams only: longest wait for the first chunk, in ms. Default: no limit. */
  firstChunkMs?: number
  /** Streams only: longest gap between two chunks, in ms. Default: no limit. */
  chunkGapMs?: number
}

const limit = lazySchema(() => z.number().finite().positive())
const timeoutOptionsSchema = lazySchema(() =>
  z
    .object({ ms: limit.optional(), firstChunkMs: limit.optional(), chunkGapMs: limit.optional() })
    .strict()
    .refine((options) => options.ms !== undefined || options.firstChunkMs !== undefined || options.chunkGapMs !== undefined, {
      message: 'set at least one of ms, firstChunkMs or chunkGapMs, for example timeout({ ms: 30000 })',
    }),
)

/**
 * Fails the call with `TimeoutError` when it takes longer than `ms`, when a stream's first chunk
 * takes longer than `firstChunkMs`, or when a stream stalls for `chunkGapMs` between chunks. The
 * upstream request is aborted: the layers inside see `ctx.signal` narrowed to one that also aborts
 * on this layer's clock, and the provider receives it.
 *
 * Its place says what it bounds: inside `retry()` each attempt, outside it the whole call.
 *
 * @example
 * ```ts
 * client.use(timeout({ ms: 60_000 }), retry({ retries: 2 }), timeout({ ms: 20_000, firstChunkMs: 5_000, chunkGapMs: 10_000 }))
 * ```
 */
export function timeout(options: TimeoutOptions): Middleware {
  const { ms, firstChunkMs, chunkGapMs } = validate(timeoutOptionsSchema, options, 'timeout() options')
  const watchesChunks = firstChunkMs !== undefined || chunkGapMs !== undefined

  return async function timeout(ctx: Context, next: () => Promise<void>): Promise<void> {
    const parent = ctx.signal
    const controller = new AbortController()
    const forwardAbort = () => controller.abort(parent.reason)
    if (parent.aborted) forwardAbort()
    else parent.addEventListener('abort', forwardAbort, { once: true })

    let expired: TimeoutError | undefined
    let finished = false
    const expire = (message: string) => {
      if (finished || controller.signal.aborted) return
      expired = new TimeoutError(message, { model: ctx.request.model, provider: ctx.provider })
      controller.abort(expired)
    }
    const callTimer = ms === undefined ? undefined : setTimeout(expire, ms, callMessage(ms))
    let chunkTimer: ReturnType<typeof setTimeout> | undefined
    if (ctx.streaming && watchesChunks) {
      if (firstChunkMs !== undefined) chunkTimer = setTimeout(expire, firstChunkMs, firstChunkMessage(firstChunkMs))
      let lastChunkAt = 0
      let sawChunk = false
      // One timer per gap, re-armed lazily, so a chunk costs a Date.now() rather than a new timer.
      const checkGap = () => {
        const idle = Date.now() - lastChunkAt
        if (idle >= chunkGapMs!) expire(gapMessage(chunkGapMs!))
        else chunkTimer = setTimeout(checkGap, chunkGapMs! - idle)
      }
      ctx.onChunk(function timeoutClock() {
        if (finished) return
        if (!sawChunk) {
          sawChunk = true
          clearTimeout(chunkTimer)
          chunkTimer = chunkGapMs === undefined ? undefined : setTimeout(checkGap, chunkGapMs)
        }
        lastChunkAt = Date.now()
      })
    }

    ctx.signal = controller.signal
    try {
      await next()
    } finally {
      finished = true
      ctx.signal = parent
      clearTimeout(callTimer)
      clearTimeout(chunkTimer)
      parent.removeEventListener('abort', forwardAbort)
    }
    // The clock ran out, yet a provider that ignored the abort finished anyway: the limit still holds.
    if (expired) {
      ctx.error = expired
      throw expired
    }
  }
}

function callMessage(ms: number): string {
  return `The call took longer than ${ms} ms (timeout({ ms: ${ms} })). Raise ms, or put retry() outside timeout() to try again.`
}

function firstChunkMessage(ms: number): string {
  return `No stream chunk arrived within ${ms} ms (timeout({ firstChunkMs: ${ms} })). Raise firstChunkMs, or put retry() outside timeout() to try again.`
}

function gapMessage(ms: number): string {
  return `The stream stalled: no chunk for ${ms} ms (timeout({ chunkGapMs: ${ms} })). Raise chunkGapMs if the model pauses that long.`
}
