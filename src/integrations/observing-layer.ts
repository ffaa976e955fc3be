/**
 * The one way to write a layer that watches calls: `defineObservingLayer` owns the moments (input,
 * success, failure, cancelled), the isolation of what runs at each (a throw or a rejected promise goes
 * to the client's `onHookError`, never to the call) and the layer's name, so an integration writes
 * only what it does at each moment. `defineExporter`, `observer()`, `callbacks()`, `customLogger()`
 * and the built-in layers that are not plain exporters stand on it.
 */
import type { Context } from '../context'
import { isAbortError, toError } from '../errors'
import type { Middleware } from '../types'

/** Where a layer made by defineObservingLayer, or a group of them, keeps what it runs (see observationsOfLayer). */
const observationKey = Symbol('llm-onion observation')

/** When an integration acts: before the call (`input`), after a success, after a failure (cancels included). */
export type IntegrationMoment = 'input' | 'success' | 'failure'

/** What runs at a moment. A returned promise is awaited by the layer; a throw or a rejection is reported, never rethrown. */
export type MomentHandler<State> = (ctx: Context, state: State) => void | PromiseLike<void>

/** What runs after a failure or a cancel; `error` is what came out of the inner layers. */
export type OutcomeHandler<State> = (ctx: Context, state: State, error: unknown) => void | PromiseLike<void>

export interface ObservingLayerDefinition<State = undefined> {
  /** The layer's name (`sentry`): its function name in stack traces, and the hook name errors are reported under. */
  name: string
  /** Which moments run (default: every handler given); `failure` includes `cancelled`. `callbacks()` narrows these. */
  moments?: ReadonlyArray<IntegrationMoment>
  /**
   * Taken as the call reaches the layer, before `input`, and handed to every other moment (the first
   * attempt's index, a span). Keep it cheap and safe: a throw is reported and the state is `undefined`.
   */
  start?: (ctx: Context) => State
  /** Before the call goes inside. */
  input?: MomentHandler<State | undefined>
  /** After a successful call (streams: after the last chunk). */
  success?: MomentHandler<State | undefined>
  /** After a failed call, and after a cancelled one unless `cancelled` is given. */
  failure?: OutcomeHandler<State | undefined>
  /** After the caller cancelled (an abort), instead of `failure`; `false`: nothing runs for a cancel. */
  cancelled?: OutcomeHandler<State | undefined> | false
  /** How the inner layers are called (default `next()`): a tracing layer runs them inside its span's context. */
  around?: (ctx: Context, next: () => Promise<void>, state: State | undefined) => Promise<void>
  /** Record the error on `ctx.error` before `failure` runs, so the event describes it (default false: the provider layer already does for its own errors). */
  recordError?: boolean
  /** Hook names errors are reported under, per moment (default: the layer's name). */
  hookNames?: Partial<Record<'start' | 'input' | 'success' | 'failure' | 'cancelled', string>>
}

/**
 * Builds an observing layer from what it does at each moment. Handlers run isolated: a throw or a
 * rejected promise goes to `onHookError` under the layer's name and the call goes on unchanged. A
 * handler that returns a promise is awaited (return nothing to stay out of the call's way).
 *
 * @example
 * ```ts
 * const audit = defineObservingLayer({
 *   name: 'audit',
 *   success: (ctx) => console.log('ok', ctx.request.model),
 *   failure: (ctx, _state, error) => console.error('failed', ctx.request.model, error),
 * })
 * client.use(audit)
 * ```
 */
export function defineObservingLayer<State = undefined>(definition: ObservingLayerDefinition<State>): Middleware {
  const observation = observationOf(definition)
  const { name, start, input, success, failure, cancelled, around, recordsError, hookNames } = observation

  const layer: Middleware = async (ctx, next) => {
    let state: State | undefined
    if (start) {
      try {
        state = start(ctx)
      } catch (error) {
        ctx.services.reportHookError(error, hookNames.start)
      }
    }
    if (input) {
      const waiting = isolated(ctx, hookNames.input, input, state, undefined)
      if (waiting) await waiting
    }
    try {
      await (around ? around(ctx, next, state) : next())
    } catch (thrown) {
      if (recordsError) recordError(ctx, thrown)
      const handler = isAbortError(thrown) ? cancelled : failure
      if (handler) {
        const waiting = isolated(ctx, handler === failure ? hookNames.failure : hookNames.cancelled, handler, state, thrown)
        if (waiting) await waiting
      }
      throw thrown
    }
    if (success) {
      const waiting = isolated(ctx, hookNames.success, success, state, undefined)
      if (waiting) await waiting
    }
  }
  Object.defineProperty(layer, 'name', { value: name })
  // So a chain of observing layers (observability(), callbacks()) can run them in one frame (observing-group.ts).
  // (Its state type is its own: a group hands each member back only the state that member made.)
  markObservations(layer, [observation as unknown as Observation])
  return layer
}

/** A definition with its moments applied and its defaults filled in: what a layer, or a group of them, runs. */
export interface Observation<State = unknown> {
  readonly name: string
  readonly start?: (ctx: Context) => State
  readonly input?: MomentHandler<State | undefined>
  readonly success?: MomentHandler<State | undefined>
  readonly failure?: OutcomeHandler<State | undefined>
  readonly cancelled?: OutcomeHandler<State | undefined>
  readonly around?: (ctx: Context, next: () => Promise<void>, state: State | undefined) => Promise<void>
  readonly recordsError: boolean
  readonly hookNames: Readonly<Record<'start' | 'input' | 'success' | 'failure' | 'cancelled', string>>
}


/**
 * @internal what a layer made by {@link defineObservingLayer} (one observation) or a group of them
 * (several, outermost first) runs; undefined for any other layer
 */
export function observationsOfLayer(layer: Middleware): ReadonlyArray<Observation> | undefined {
  return (layer as { [observationKey]?: ReadonlyArray<Observation> })[observationKey]
}

/** @internal records what `layer` runs, for {@link observationsOfLayer} */
export function markObservations(layer: Middleware, observations: ReadonlyArray<Observation>): void {
  Object.defineProperty(layer, observationKey, { value: observations })
}

function observationOf<State>(definition: ObservingLayerDefinition<State>): Observation<State> {
  const { name, moments } = definition
  const runs = (moment: IntegrationMoment) => moments === undefined || moments.includes(moment)
  const failure = runs('failure') ? definition.failure : undefined
  return {
    name,
    start: definition.start,
    input: runs('input') ? definition.input : undefined,
    success: runs('success') ? definition.success : undefined,
    failure,
    cancelled: runs('failure') && definition.cancelled !== false ? (definition.cancelled ?? failure) : undefined,
    around: definition.around,
    recordsError: definition.recordError ?? false,
    hookNames: {
      start: definition.hookNames?.start ?? name,
      input: definition.hookNames?.input ?? name,
      success: definition.hookNames?.success ?? name,
      failure: definition.hookNames?.failure ?? name,
      cancelled: definition.hookNames?.cancelled ?? definition.hookNames?.failure ?? name,
    },
  }
}

/** @internal runs a handler; returns a promise only when it returned one (then settled, never rejecting) */
export function isolated<State>(ctx: Context, hook: string, handler: OutcomeHandler<State>, state: State, error: unknown): Promise<void> | undefined {
  let result: void | PromiseLike<void>
  try {
    result = handler(ctx, state, error)
  } catch (thrown) {
    ctx.services.reportHookError(thrown, hook)
    return undefined
  }
  if (!isPromiseLike(result)) return undefined
  return Promise.resolve(result).then(undefined, (thrown: unknown) => ctx.services.reportHookError(thrown, hook))
}

/** The error a layer saw come out of `next()`, recorded on the context so the event describes it. */
export function recordError(ctx: Context, thrown: unknown): void {
  if (ctx.error !== thrown) ctx.error = toError(thrown)
}

export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<unknown>).then === 'function'
}
