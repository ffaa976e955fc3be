/**
 * `customLogger(handler)`: a LiteLLM-style handler (a `CustomLogger` subclass, or any object with its
 * camelCased methods) as a layer. Hooks are isolated like observers.
 */
import { z } from 'zod'
import type { Context } from '../src/context'
import {
  buildLoggerKwargs,
  chooseLoggerHooks,
  handlerName,
  loggerMoments,
  snakeCaseHint,
  type ChosenHook,
  type LoggerKwargs,
  type LoggerMethods,
  type LoggerResponse,
} from '../src/litellm/custom-logger'
import { ValidationError } from '../src/errors'
import { redactChunk, type RedactOptions } from '../src/redact'
import type { ChatChunk } from '../src/schema'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { defineObservingLayer } from '../src/integrations/observing-layer'
import { runHook } from '../src/integrations/run-hook'

// The base class and its types are re-exported so `llm-onion/middleware/custom-logger` is enough to port a handler.
export { CustomLogger } from '../src/litellm/custom-logger'
export type { LoggerKwargs, LoggerMethods, LoggerResponse } from '../src/litellm/custom-logger'

/** Options of {@link customLogger}; every one has a default. */
export interface CustomLoggerOptions {
  /** Wait for async hooks before the call goes on (default false: they run in the background, `client.flush()` waits). */
  await?: boolean
  /** Redaction of what the hooks receive (default: the client's `redact`). */
  redact?: RedactOptions
  /** How long an async hook may stay pending before it is reported and no longer waited for (default 10,000 ms). */
  timeoutMs?: number
}

/** The layer `customLogger()` returns, with its per-attempt companion. */
export interface CustomLoggerLayer extends Middleware {
  /**
   * Place it inside a retry or fallback layer to have the pre/post API call hooks fire around every
   * attempt: `client.use(logger, retry(), logger.attempts)`. Without it they fire once, around the call.
   */
  readonly attempts: Middleware
}

const optionsSchema = z
  .object({
    await: z.boolean().default(false),
    redact: z.object({ messages: z.boolean().optional() }).strict().optional(),
    timeoutMs: z.number().positive().default(10_000),
  })
  .strict()

const methodNames = Object.values(loggerMoments).flat()

/**
 * Turns a LiteLLM-style handler into a layer. Place it outside retry and fallback layers: success,
 * failure and stream hooks then fire once per call (success after the last chunk of a stream, with the
 * assembled response), pre/post once around the call, or around each attempt where `logger.attempts`
 * is placed inside the retry. For each moment exactly one of the sync/async twins runs: the async
 * one when the handler defines it.
 *
 * @example
 * ```ts
 * class Printer extends CustomLogger {
 *   override logSuccessEvent(kwargs: LoggerKwargs, response: LoggerResponse) {
 *     console.log('success', kwargs.litellm_call_id, response.usage)
 *   }
 * }
 * const logger = customLogger(new Printer())
 * client.use(logger, retry({ retries: 2 }), logger.attempts)
 * ```
 */
export function customLogger(handler: LoggerMethods | object, options: CustomLoggerOptions = {}): CustomLoggerLayer {
  const { redact, ...settings } = validate(optionsSchema, options, 'customLogger() options')
  if (handler === null || typeof handler !== 'object') {
    throw new ValidationError(
      `customLogger() takes a handler object (an instance of a CustomLogger subclass); got ${handler === null ? 'null' : typeof handler}.`,
      [{ path: 'handler', message: 'must be an object' }],
    )
  }
  const hooks = chooseLoggerHooks(handler)
  if (Object.keys(hooks).length === 0) {
    throw new ValidationError(
      `customLogger(): ${handlerName(handler)} defines none of the hook methods (${methodNames.join(', ')}).${snakeCaseHint(handler)}`,
      [{ path: 'handler', message: 'defines no hook method' }],
    )
  }
  const { preApiCall, postApiCall, success, failure, stream } = hooks
  // Per call: the CallMarks the `attempts` layer inside reads and sets.
  const marksKey = Symbol('customLogger marks')
  const eventOptions = { redact }
  const redacting = (ctx: Context) => redact?.messages ?? ctx.services.redact.messages ?? false

  function fire(ctx: Context, hook: ChosenHook, args: () => unknown[]): Promise<void> | undefined {
    return runHook(ctx, hook.label, settings, () => (hook.method as (...args: unknown[]) => unknown).call(handler, ...args()))
  }

  function firePre(ctx: Context): Promise<void> | undefined {
    if (!preApiCall) return undefined
    return fire(ctx, preApiCall, () => {
      const kwargs = buildLoggerKwargs(ctx, ctx.toEvent(eventOptions), 'none', redacting(ctx))
      return [ctx.request.model, kwargs.messages, kwargs]
    })
  }

  function firePost(ctx: Context, started: number): Promise<void> | undefined {
    if (!postApiCall) return undefined
    const ended = Date.now()
    return fire(ctx, postApiCall, () => {
      const event = ctx.toEvent(eventOptions)
      const response = ctx.error ? undefined : (event.response as LoggerResponse | undefined)
      return [buildLoggerKwargs(ctx, event, 'attempt', redacting(ctx)), response, new Date(started), new Date(ended)]
    })
  }

  function fireOutcome(ctx: Context): Promise<void> | undefined {
    const hook = ctx.error ? failure : success
    if (!hook) return undefined
    return fire(ctx, hook, () => {
      const event = ctx.toEvent(eventOptions)
      const response = ctx.error ? undefined : (event.response as LoggerResponse | undefined)
      return [buildLoggerKwargs(ctx, event, 'call', redacting(ctx)), response, new Date(event.startTime), new Date(event.endTime)]
    })
  }

  function watchChunks(ctx: Context, hook: ChosenHook): void {
    // Built at the first chunk and shared by the rest: per-chunk work stays small.
    let kwargs: LoggerKwargs | undefined
    const started = new Date(ctx.timing.start)
    ctx.onChunk((chunk: ChatChunk) => {
      const waiting = fire(ctx, hook, () => {
        const redacted = redacting(ctx)
        kwargs ??= buildLoggerKwargs(ctx, ctx.toEvent(eventOptions), 'none', redacted)
        return [kwargs, redacted ? redactChunk(chunk) : chunk, started, new Date()]
      })
      return waiting?.then(() => undefined)
    })
  }

  const settle = (ctx: Context, marks: CallMarks | undefined) => {
    // Unless an `attempts` layer inside fired pre/post around each attempt, post goes around the call.
    const post = marks && !marks.attemptsLayerRan ? firePost(ctx, marks.started) : undefined
    return post ? post.then(() => fireOutcome(ctx)) : fireOutcome(ctx)
  }

  const layer = defineObservingLayer<CallMarks>({
    name: 'customLogger',
    recordError: true,
    start: (ctx) => {
      const marks: CallMarks = { attemptsLayerRan: false, started: Date.now() }
      ctx.setSlot(marksKey, marks)
      return marks
    },
    input: (ctx) => {
      if (stream && ctx.streaming) watchChunks(ctx, stream)
      return firePre(ctx)
    },
    success: settle,
    failure: settle,
  })

  const attempts = defineObservingLayer<{ started: number }>({
    name: 'customLoggerAttempts',
    recordError: true,
    start: () => ({ started: Date.now() }),
    input: (ctx, attempt) => {
      const marks = ctx.slot<CallMarks>(marksKey)
      // The outer layer already fired pre for the first attempt; later attempts get their own.
      const preAlreadyFired = marks !== undefined && !marks.attemptsLayerRan
      if (marks) marks.attemptsLayerRan = true
      const pre = preAlreadyFired ? undefined : firePre(ctx)
      // The attempt starts once its pre hook is done.
      return pre?.then(() => void (attempt && (attempt.started = Date.now())))
    },
    success: (ctx, attempt) => firePost(ctx, attempt?.started ?? Date.now()),
    failure: (ctx, attempt) => firePost(ctx, attempt?.started ?? Date.now()),
  })

  return Object.assign(layer, { attempts })
}

/** Per call: when it started, and whether an `attempts` layer inside took over the pre/post hooks. */
interface CallMarks {
  attemptsLayerRan: boolean
  started: number
}
