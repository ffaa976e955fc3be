/**
 * retry(): runs the layers inside it again when an attempt fails with a retryable error. Layers
 * outside see one call; layers inside see every attempt. p-retry drives the attempts; the wait
 * between them is computed here, where the error's `retryAfterMs` is known.
 */
import { sleep } from '../src/abort'
import { pRetry } from '../src/delivery/p-retry'
import { z } from 'zod'
import { defineRepeatingMiddleware } from '../src/compose'
import type { Context } from '../src/context'
import { isAbortError, isLlmError, toError } from '../src/errors'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'

/** Decides whether a failed attempt is tried again; `ctx.attempt` is the attempt that failed. */
export type ShouldRetry = (error: Error, ctx: Context) => boolean | Promise<boolean>

export interface RetryOptions {
  /** Attempts after the first one. Default 2 (three attempts in all). */
  retries?: number
  /** Wait before the first retry, in ms; it grows by `factor` each retry. Default 500. */
  minTimeoutMs?: number
  /** Longest wait between attempts, in ms. Default 8000 (or minTimeoutMs when that is larger). */
  maxTimeoutMs?: number
  /** Growth of the wait per retry. Default 2. */
  factor?: number
  /** Waits a random time between half and all of the backoff, so clients do not retry in step. Default true. */
  jitter?: boolean
  /** Longest wait a provider's Retry-After (`retryAfterMs`) may ask for, in ms; longer asks are cut to it. Default 60000. */
  maxRetryAfterMs?: number
  /** Replaces the default decision (retry errors whose `retryable` is true). Never asked for aborts or after a stream chunk reached the caller. */
  shouldRetry?: ShouldRetry
}

const milliseconds = z.number().finite().min(0)
const retryOptionsSchema = z
  .object({
    retries: z.number().int().min(0).default(2),
    minTimeoutMs: milliseconds.default(500),
    maxTimeoutMs: milliseconds.optional(),
    factor: z.number().finite().min(1).default(2),
    jitter: z.boolean().default(true),
    maxRetryAfterMs: milliseconds.default(60_000),
    shouldRetry: z.custom<ShouldRetry>((value) => typeof value === 'function', { message: 'must be a function (error, ctx) => boolean' }).optional(),
  })
  .strict()
  .refine((options) => options.maxTimeoutMs === undefined || options.maxTimeoutMs >= options.minTimeoutMs, {
    message: 'must be at least minTimeoutMs',
    path: ['maxTimeoutMs'],
  })
  // A minTimeoutMs above the default cap raises the cap rather than being cut by it.
  .transform((options) => ({ ...options, maxTimeoutMs: options.maxTimeoutMs ?? Math.max(8000, options.minTimeoutMs) }))

type RetrySettings = z.output<typeof retryOptionsSchema>

/**
 * Retries failed attempts with exponential backoff and jitter, honouring a rate limit's
 * `retryAfterMs`. Each attempt is a fresh dispatch of the layers inside it, and `ctx.attempt`
 * counts from 1. It never retries an `AbortError`, stops waiting at once when the call is
 * cancelled (or an outer timeout fires), and for streams stops once a chunk has reached the caller.
 *
 * @example
 * ```ts
 * client.use(sentry(), retry({ retries: 2 }), attemptLogger) // sentry: once per call; attemptLogger: once per attempt
 * ```
 */
export function retry(options: RetryOptions = {}): Middleware {
  const settings = validate(retryOptionsSchema, options, 'retry() options')
  return defineRepeatingMiddleware(async function retry(ctx, _next, inner) {
    try {
      await pRetry(
        (attemptNumber) => {
          if (attemptNumber > 1) ctx.attempt++
          return inner()
        },
        {
          retries: settings.retries,
          // p-retry's own wait is off: the wait happens in shouldRetry, where the error's retryAfterMs is known.
          minTimeout: 0,
          shouldRetry: async ({ error, retriesConsumed }) => {
            // Read here, on a failure, not per call: reading ctx.signal creates the call's AbortController.
            const signal = ctx.signal
            if (!(await mayRetry(error, ctx, signal, settings))) return false
            await sleep(delayBeforeRetry(error, retriesConsumed, settings), signal)
            return true
          },
        },
      )
    } catch (error) {
      // A cancel during the wait replaces the last attempt's error; layers outside read ctx.error.
      ctx.error = toError(error)
      throw error
    }
  })
}

async function mayRetry(error: Error, ctx: Context, signal: AbortSignal, settings: RetrySettings): Promise<boolean> {
  if (signal.aborted || isAbortError(error)) return false
  // Once a chunk reached the caller a second attempt would repeat text they already have.
  if (ctx.streaming && ctx.chunksDelivered > 0) return false
  if (settings.shouldRetry) return settings.shouldRetry(error, ctx)
  return isLlmError(error) && error.retryable
}

/** The provider's Retry-After when it gave one (capped), else exponential backoff with jitter. */
function delayBeforeRetry(error: Error, retriesConsumed: number, settings: RetrySettings): number {
  const retryAfterMs = (error as { retryAfterMs?: unknown }).retryAfterMs
  if (typeof retryAfterMs === 'number' && retryAfterMs >= 0) return Math.min(retryAfterMs, settings.maxRetryAfterMs)
  const backoff = Math.min(settings.maxTimeoutMs, settings.minTimeoutMs * settings.factor ** retriesConsumed)
  return settings.jitter ? backoff / 2 + (Math.random() * backoff) / 2 : backoff
}
