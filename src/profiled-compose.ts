/**
 * The dispatch of a profiled client: the onion of {@link composeLayers}, with each layer's own time
 * written on the call's profile (src/profile.ts) by the dispatch itself rather than by a wrapper
 * around each layer.
 *
 * Chosen once, when the stack is composed: a client made with `profile: true` composes its layers
 * with {@link composeProfiledLayers}, an unprofiled one with `composeLayers`, so its calls run
 * exactly the code they ran before profiling existed (no branch per call).
 *
 * Per layer per call it costs two clock reads, shared at the boundaries (a layer's call of `next()`
 * is the moment the layer inside it starts; the moment the inner layer settles is the moment the
 * outer one resumes), the `next` function koa-compose makes too, and one promise reaction on the
 * layer's promise: the layer outside gets the promise chained on it, which settles as the layer's
 * did, within the same microtask, so no turn is added (docs/profile.md, "Cost").
 */
import { composeLayers, isRepeatingMiddleware, startAttempt } from './compose'
import type { Context } from './context'
import { blankTimes, CallProfile, clockNow, completeProfile, layerNames, startClock, timeChunkWork, type ProfileOptions } from './profile'
import { streamWrapperCount } from './streamed-call'
import type { Middleware, RepeatingMiddleware } from './types'

/**
 * Composes `layers` around `terminal` like `composeLayers`, recording each layer's own time on
 * `ctx.profile` of every call (what `createClient({ profile: true })` does). Done once per change of
 * the stack. Without layers there is nothing to profile: the plain composition.
 *
 * @example
 * ```ts
 * const dispatch = composeProfiledLayers(layers, callProvider, { onProfile: (layers) => console.log(layers) })
 * ```
 */
export function composeProfiledLayers(
  layers: ReadonlyArray<Middleware>,
  terminal: (ctx: Context) => Promise<void>,
  options?: ProfileOptions,
): (ctx: Context) => Promise<void> {
  if (layers.length === 0) return composeLayers(layers, terminal)
  startClock()
  const stack = new ProfiledStack(layers, terminal, options)
  return (ctx: Context) => {
    const profile = new CallProfile(stack.names, stack.options, stack.blankTimes)
    ctx.profile = profile
    return new ProfiledRun(stack, ctx, profile, 0).dispatch(0)
  }
}

/** What is fixed per composition: the layers, their names, which of them repeat, a call's blank times. */
class ProfiledStack {
  readonly names: string[]
  readonly repeating: boolean[]
  readonly blankTimes: number[]

  constructor(
    readonly layers: ReadonlyArray<Middleware>,
    readonly terminal: (ctx: Context) => Promise<void>,
    readonly options: ProfileOptions | undefined,
  ) {
    this.names = layerNames(layers)
    this.repeating = layers.map((layer) => isRepeatingMiddleware(layer))
    this.blankTimes = blankTimes(layers.length)
  }
}

/**
 * One dispatch of the layers from `from` inward: the whole stack for a call, or the layers inside a
 * repeating layer for one of its attempts (`inner()`). koa-compose's guard stands: each layer's
 * `next()` at most once. A small object rather than closures made per call (a named function made
 * per call is also renamed per call where names are kept: tsx, esbuild's keepNames).
 *
 * Layers are dispatched in order, so the state of the layer dispatched last (`reached`) is all a
 * run keeps: when it started, whether it has called the layers inside it, and how many chunk
 * functions and stream wrappers were registered before it (a stream's per-chunk work).
 */
class ProfiledRun {
  reached: number
  /** Whether the layer at `reached` has called the layers inside it. */
  called = false
  /** When the layer at `reached` started. */
  started = 0
  handlersMark = 0
  wrappersMark = 0

  constructor(
    readonly stack: ProfiledStack,
    readonly ctx: Context,
    readonly profile: CallProfile,
    readonly from: number,
  ) {
    this.reached = from - 1
  }

  /** koa-compose's `dispatch(index)`: the `next()` of the layer before `index`, or the run's start. */
  dispatch(index: number): Promise<void> {
    if (index <= this.reached) return Promise.reject(new Error('next() called multiple times'))
    const now = clockNow()
    if (index > this.from) this.calledInside(index - 1, now)
    return this.enter(index, now)
  }

  /** Starts layer `index` (or the provider step past the last layer) at `now`. */
  enter(index: number, now: number): Promise<void> {
    const { stack, ctx, profile } = this
    this.reached = index
    if (index === stack.layers.length) return this.callTerminal(index)
    this.called = false
    this.started = now
    if (ctx.streaming) {
      this.handlersMark = ctx.chunkHandlers.length
      this.wrappersMark = streamWrapperCount(ctx)
    }
    profile.enter(index, now)
    let result: Promise<void> | void
    try {
      result = stack.repeating[index]
        ? (stack.layers[index] as unknown as RepeatingMiddleware)(ctx, () => this.dispatch(index + 1), this.inner(index))
        : stack.layers[index]!(ctx, () => this.dispatch(index + 1))
    } catch (error) {
      this.finish(index)
      return Promise.reject(error)
    }
    if (!(result instanceof Promise)) {
      this.finish(index)
      return Promise.resolve(result)
    }
    // Chained rather than watched from the side (`result.then(finish, finish)`, returning `result`):
    // that would handle the layer's rejection, so one that nobody awaits (a layer calling `next()`
    // without awaiting it) would no longer be reported as unhandled. It costs one closure more.
    return result.then(
      () => this.finish(index),
      (error: unknown) => {
        this.finish(index)
        throw error
      },
    )
  }

  /** The provider step: it records nothing but when it settled, the moment the innermost layer resumes. */
  callTerminal(index: number): Promise<void> {
    const { ctx, profile } = this
    let result: Promise<void>
    try {
      result = this.stack.terminal(ctx)
    } catch (error) {
      profile.innerSettled(index - 1, clockNow())
      return Promise.reject(error)
    }
    return result.then(
      () => profile.innerSettled(index - 1, clockNow()),
      (error: unknown) => {
        profile.innerSettled(index - 1, clockNow())
        throw error
      },
    )
  }

  /** Layer `index` called the layers inside it at `now`: its before-time ends (or, on a repeat, its time between attempts does). */
  calledInside(index: number, now: number): void {
    const first = index === this.reached && !this.called
    if (!first) {
      this.profile.calledInsideAgain(index, now)
      return
    }
    this.called = true
    this.profile.calledInside(index, this.started, now)
    if (this.ctx.streaming) timeChunkWork(this.ctx, this.profile, index, this.handlersMark, this.wrappersMark)
  }

  /** `inner()` of the repeating layer at `index`: each call a fresh run of the layers inside it, in the same profile. */
  inner(index: number): () => Promise<void> {
    const ctx = this.ctx
    const mark = ctx.chunkHandlers.length
    const wrapperMark = streamWrapperCount(ctx)
    return () => {
      const now = clockNow()
      this.calledInside(index, now)
      startAttempt(ctx, mark, wrapperMark)
      return new ProfiledRun(this.stack, ctx, this.profile, index + 1).enter(index + 1, now)
    }
  }

  /** Layer `index` finished now. */
  finish(index: number): void {
    const end = clockNow()
    const calledInside = index < this.reached || this.called
    this.profile.finish(index, calledInside ? -1 : this.started, end)
    if (index === 0) completeProfile(this.ctx, this.profile)
  }
}
