/**
 * The onion profile: each layer's own time before and after `next()`, the layers inside it
 * excluded, on every call of a client made with `createClient({ profile: true })`. What a call's
 * profile holds and who gets it; the dispatch that writes it is src/profiled-compose.ts.
 *
 * Streams: a layer's `afterUs` includes its per-chunk work, the time its `ctx.onChunk` functions and
 * its `wrapChunkStream` wrappers spent on the chunks (waiting for the chunks inside excluded).
 */
import type { LayerProfile } from './call-facts'
import type { ChunkHandler, Context } from './context'
import type { ChatChunk } from './schema'
import { mapStreamWrappers, type ChunkStreamWrapper } from './streamed-call'
import type { Middleware } from './types'

/**
 * One layer's own time in one call, in microseconds.
 *
 * @example
 * ```ts
 * const slowest = [...ctx.toEvent().layers!].sort((a, b) => b.beforeUs + b.afterUs - (a.beforeUs + a.afterUs))[0]
 * ```
 */
export interface LayerTime {
  /** The layer function's name (`retry`, `helicone`, ...), `anonymous` for one without; a second layer of the same name gets `#2`. */
  name: string
  /** Time from the layer's start until it called `next()` (all of it when it answered without `next()`). */
  beforeUs: number
  /** Time from `next()` settling until the layer finished, plus its per-chunk work on a stream; between attempts too for retry and fallback. */
  afterUs: number
}

/**
 * Profiling options of `createClient({ profile })`: `true`, or an object with a function every
 * finished call's profile is handed to.
 *
 * @example
 * ```ts
 * const client = createClient({ profile: { onProfile: (layers) => console.log(layers) } })
 * ```
 */
export interface ProfileOptions {
  /** Called with the layers' times (outermost first) when the outermost layer has finished; errors go to `onHookError`. */
  onProfile?: (layers: LayerTime[], ctx: Context) => void
}

/** A layer's own time with when it ran, epoch milliseconds: what `otel()` writes as a child span. */
export interface LayerSpan extends LayerTime {
  start: number
  end: number
}

/**
 * The clock of every profile, `globalThis.performance`, read once when a profiled stack is composed:
 * the global is a getter run on every access, and importing node:perf_hooks instead would load it
 * (about 0.7 ms) into every process that imports llm-onion, profiled or not.
 */
let clock: typeof performance | undefined

/** @internal Makes {@link clockNow} work; composing a profiled stack calls it. */
export function startClock(): void {
  clock ??= performance
}

/** @internal `performance.now()` without the global's getter. */
export function clockNow(): number {
  return clock!.now()
}

/** A layer's slots in {@link CallProfile.times}, milliseconds of `performance.now()`; 0 is "not yet" (the clock is past 0 once a process runs). */
const before = 0
const after = 1
/** When the layer's `next()` last settled (stamped by the layer inside it, or by the provider step). */
const resumed = 2
/** When the layer first started and last finished (for spans). */
const firstStart = 3
const lastEnd = 4
/** Calls of the layer in progress (a layer inside retry runs more than once). */
const running = 5
const slots = 6

/**
 * @internal Zeroed times for `count` layers, to copy per call: an array of doubles from the start
 * (a copy keeps that), so writing a time never converts the array.
 */
export function blankTimes(count: number): number[] {
  const times = new Array<number>(count * slots).fill(0.5)
  return times.fill(0)
}

/**
 * @internal The profile of one call, on `ctx.profile` of a profiled client: every layer's times in
 * one array made per call (`slots` numbers a layer), written by the profiled dispatch
 * (src/profiled-compose.ts) at each layer's start, first call of the layers inside, and end.
 */
export class CallProfile implements LayerProfile {
  readonly times: number[]
  /** Layers entered and no longer running. */
  finished = 0
  listeners?: Array<(layers: LayerTime[], profile: CallProfile) => void>

  /** `blank` is {@link blankTimes} of the stack's layers, copied for this call. */
  constructor(
    readonly names: readonly string[],
    readonly options: ProfileOptions | undefined,
    blank: readonly number[],
  ) {
    this.times = blank.slice()
  }

  /** Layer `index` starts at `now`. */
  enter(index: number, now: number): void {
    const times = this.times
    const base = index * slots
    if (times[base + running]!++ === 0 && times[base + firstStart] !== 0) this.finished--
    if (times[base + firstStart] === 0) times[base + firstStart] = now
  }

  /** Layer `index`, started at `start`, called the layers inside it for the first time at `now`. */
  calledInside(index: number, start: number, now: number): void {
    const base = index * slots
    this.times[base + before]! += now - start
    this.times[base + resumed] = 0
  }

  /** Layer `index` called the layers inside it again (retry, fallback) at `now`: the time since the last attempt settled is its own. */
  calledInsideAgain(index: number, now: number): void {
    const base = index * slots
    const since = this.times[base + resumed]!
    if (since !== 0) this.times[base + after]! += now - since
  }

  /** The layers inside layer `index` (the provider step, for the innermost) settled at `now`. */
  innerSettled(index: number, now: number): void {
    this.times[index * slots + resumed] = now
  }

  /** Adds `milliseconds` of per-chunk work to layer `index`. */
  addAfter(index: number, milliseconds: number): void {
    this.times[index * slots + after]! += milliseconds
  }

  /**
   * Layer `index` finished at `end`; `start` is when it started if it never called the layers inside
   * it (all its time is before-time), else negative. The layer outside it resumes at `end`.
   */
  finish(index: number, start: number, end: number): void {
    const times = this.times
    const base = index * slots
    if (start >= 0) times[base + before]! += end - start
    else if (times[base + resumed] !== 0) times[base + after]! += end - times[base + resumed]!
    times[base + lastEnd] = end
    if (--times[base + running]! === 0) this.finished++
    if (index > 0) times[base - slots + resumed] = end
  }

  /**
   * The finished layers as spans: their own times, and when each first started and last finished,
   * in epoch milliseconds.
   */
  spans(): LayerSpan[] {
    const spans: LayerSpan[] = []
    const origin = performance.timeOrigin
    const times = this.times
    for (let index = 0, base = 0; index < this.names.length; index++, base += slots) {
      if (times[base + firstStart] !== 0 && times[base + running] === 0) {
        spans.push({ name: this.names[index]!, beforeUs: microseconds(times[base + before]!), afterUs: microseconds(times[base + after]!), start: origin + times[base + firstStart]!, end: origin + times[base + lastEnd]! })
      }
    }
    return spans
  }

  /** The layers that have finished, outermost first; those still running (the one asking, those outside it) are left out. */
  layers(): LayerTime[] {
    const layers: LayerTime[] = []
    const times = this.times
    for (let index = 0, base = 0; index < this.names.length; index++, base += slots) {
      if (times[base + firstStart] !== 0 && times[base + running] === 0) layers.push({ name: this.names[index]!, beforeUs: microseconds(times[base + before]!), afterUs: microseconds(times[base + after]!) })
    }
    return layers
  }
}

const microseconds = (milliseconds: number) => Math.round(milliseconds * 1_000_000) / 1000

/**
 * Runs `listener` with every layer's time once the call's outermost layer has finished; nothing on
 * a client without profiling. For layers that report the profile (Prometheus, OpenTelemetry): they
 * finish before the layers outside them, whose times are known only then.
 *
 * @example
 * ```ts
 * client.use(async function reportProfile(ctx, next) {
 *   whenProfiled(ctx, (layers) => console.log(layers))
 *   await next()
 * })
 * ```
 */
export function whenProfiled(ctx: Context, listener: (layers: LayerTime[], profile: CallProfile) => void): void {
  const profile = ctx.profile as CallProfile | undefined
  if (profile) (profile.listeners ??= []).push(listener)
}

/** Layer names as the profile shows them: the function's name, numbered from the second of a name on. */
export function layerNames(layers: ReadonlyArray<Middleware>): string[] {
  const seen = new Map<string, number>()
  return layers.map((layer) => {
    const name = layer.name || 'anonymous'
    const count = (seen.get(name) ?? 0) + 1
    seen.set(name, count)
    return count === 1 ? name : `${name}#${count}`
  })
}

/** @internal The outermost layer finished: hands the profile to whoever asked for it. */
export function completeProfile(ctx: Context, profile: CallProfile): void {
  const onProfile = profile.options?.onProfile
  if (!onProfile && !profile.listeners) return
  const layers = profile.layers()
  for (const listener of profile.listeners ?? []) {
    try {
      listener(layers, profile)
    } catch (error) {
      ctx.services.reportHookError(error, 'profile')
    }
  }
  if (onProfile) {
    try {
      onProfile(layers, ctx)
    } catch (error) {
      ctx.services.reportHookError(error, 'profile')
    }
  }
}

/** @internal Times the chunk functions and stream wrappers layer `index` registered before `next()`, into its after-time. */
export function timeChunkWork(ctx: Context, profile: CallProfile, index: number, handlersAtStart: number, wrappersAtStart: number): void {
  const handlers = ctx.chunkHandlers
  for (let position = handlersAtStart; position < handlers.length; position++) handlers[position] = timedHandler(handlers[position]!, profile, index)
  mapStreamWrappers(ctx, wrappersAtStart, (wrapper) => timedWrapper(wrapper, profile, index))
}

function timedHandler(handler: ChunkHandler, profile: CallProfile, index: number): ChunkHandler {
  const timed: ChunkHandler = (chunk, ctx) => {
    const start = clockNow()
    const result = handler(chunk, ctx)
    if (!(result instanceof Promise)) {
      profile.addAfter(index, clockNow() - start)
      return result
    }
    return result.then((replaced) => {
      profile.addAfter(index, clockNow() - start)
      return replaced
    })
  }
  const flush = handler.flush
  if (flush) {
    timed.flush = (ctx) => {
      const start = clockNow()
      try {
        return flush(ctx)
      } finally {
        profile.addAfter(index, clockNow() - start)
      }
    }
  }
  return timed
}

/**
 * A stream wrapper whose own time is counted: the time in each `next()` of its chunks, less the time
 * it waited in that `next()` for the chunks inside it. (Reading ahead outside a `next()` is not counted.)
 */
function timedWrapper(wrapper: ChunkStreamWrapper, profile: CallProfile, index: number): ChunkStreamWrapper {
  return (chunks, ctx) => {
    let waited = 0
    const input: AsyncIterable<ChatChunk> = {
      [Symbol.asyncIterator]() {
        const iterator = chunks[Symbol.asyncIterator]()
        return {
          async next() {
            const start = clockNow()
            try {
              return await iterator.next()
            } finally {
              waited += clockNow() - start
            }
          },
          return: iterator.return && ((value?: unknown) => iterator.return!(value)),
          throw: iterator.throw && ((error?: unknown) => iterator.throw!(error)),
        }
      },
    }
    const setup = clockNow()
    const output = wrapper(input, ctx)
    profile.addAfter(index, clockNow() - setup)
    return {
      [Symbol.asyncIterator]() {
        const iterator = output[Symbol.asyncIterator]()
        return {
          async next() {
            waited = 0
            const start = clockNow()
            try {
              return await iterator.next()
            } finally {
              profile.addAfter(index, Math.max(0, clockNow() - start - waited))
            }
          },
          return: iterator.return && ((value?: unknown) => iterator.return!(value)),
          throw: iterator.throw && ((error?: unknown) => iterator.throw!(error)),
        }
      },
    }
  }
}
