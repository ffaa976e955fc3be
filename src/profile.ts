/**
 * The onion profile: each layer's own time before and after `next()`, the layers inside it
 * excluded, on every call of a client made with `createClient({ profile: true })`.
 *
 * Chosen once, when the stack is composed: a profiled client composes every layer wrapped by
 * {@link profileLayers}; an unprofiled one composes the layers themselves, so its calls run exactly
 * the code they ran before profiling existed (no branch per call).
 *
 * Clock reads are shared at the boundaries: a layer's call of `next()` is the moment the layer inside
 * it starts, and the end of the inner layer is the moment the outer one resumes, so a layer costs two
 * reads of `performance.now()` and one promise reaction (docs/profile.md, "Cost").
 *
 * Streams: a layer's `afterUs` includes its per-chunk work, the time its `ctx.onChunk` functions and
 * its `wrapChunkStream` wrappers spent on the chunks (waiting for the chunks inside excluded).
 */
import { isRepeatingMiddleware, defineRepeatingMiddleware } from './compose'
import type { LayerProfile } from './call-facts'
import type { ChunkHandler, Context } from './context'
import type { ChatChunk } from './schema'
import { mapStreamWrappers, streamWrapperCount, type ChunkStreamWrapper } from './streamed-call'
import type { Middleware, RepeatingMiddleware } from './types'

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

/** Per layer, per call. Times in milliseconds of `performance.now()`. */
class LayerRecord {
  before = 0
  after = 0
  /** When the layer's `next()` last settled (stamped by the layer inside it, or by the provider step). */
  resumed = -1
  /** Calls of the layer in progress (a layer inside retry runs more than once). */
  running = 0
  /** Entered at least once. */
  entered = false
  /** When the layer first started and last finished (for spans). */
  firstStart = -1
  lastEnd = -1
  constructor(readonly name: string) {}
}

/**
 * @internal The profile of one call, on `ctx.profile` of a profiled client. `stamp` is the latest
 * boundary clock read and `tag` who took it (`2 × index` when layer `index` called `next()`,
 * `2 × index + 1` when it finished), so the next boundary reuses it instead of reading the clock.
 */
export class CallProfile implements LayerProfile {
  readonly records: Array<LayerRecord | undefined>
  stamp = 0
  tag = -1
  /** Layers entered and no longer running. */
  finished = 0
  listeners?: Array<(layers: LayerTime[], profile: CallProfile) => void>

  constructor(
    readonly names: readonly string[],
    readonly options: ProfileOptions | undefined,
  ) {
    this.records = new Array(names.length)
  }

  /**
   * The finished layers as spans: their own times, and when each first started and last finished,
   * in epoch milliseconds.
   */
  spans(): LayerSpan[] {
    const spans: LayerSpan[] = []
    const origin = performance.timeOrigin
    for (const record of this.records) {
      if (record && record.running === 0) {
        spans.push({ name: record.name, beforeUs: microseconds(record.before), afterUs: microseconds(record.after), start: origin + record.firstStart, end: origin + record.lastEnd })
      }
    }
    return spans
  }

  /** The layers that have finished, outermost first; those still running (the one asking, those outside it) are left out. */
  layers(): LayerTime[] {
    const layers: LayerTime[] = []
    for (const record of this.records) {
      if (record && record.running === 0) layers.push({ name: record.name, beforeUs: microseconds(record.before), afterUs: microseconds(record.after) })
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

/**
 * `layers`, each wrapped to record its own time on `ctx.profile`. Compose the result instead of the
 * layers (`composeLayers(profileLayers(layers), terminal)`); repeating layers stay repeating.
 *
 * @example
 * ```ts
 * const dispatch = composeLayers(profileLayers(layers), callProvider)
 * ```
 */
export function profileLayers(layers: ReadonlyArray<Middleware>, options?: ProfileOptions): Middleware[] {
  const names = layerNames(layers)
  return layers.map((layer, index) => profiledLayer(layer, index, names, options))
}

function profiledLayer(layer: Middleware, index: number, names: readonly string[], options: ProfileOptions | undefined): Middleware {
  const innermost = index === names.length - 1
  const repeating = isRepeatingMiddleware(layer)
  const profiled = (ctx: Context, next: () => Promise<void>, inner?: () => Promise<void>): Promise<void> | void => {
    let profile = ctx.profile as CallProfile | undefined
    if (!profile) ctx.profile = profile = new CallProfile(names, options)
    const record = (profile.records[index] ??= new LayerRecord(names[index]!))
    if (record.running++ === 0 && record.entered) profile.finished--
    record.entered = true
    // Started the moment the layer outside called next(): its clock read is reused.
    const start = profile.tag === 2 * index - 2 ? profile.stamp : performance.now()
    if (record.firstStart < 0) record.firstStart = start
    let called = false
    const handlersAtStart = ctx.chunkHandlers.length
    const wrappersAtStart = ctx.streaming ? streamWrapperCount(ctx) : 0
    const timed = (step: () => Promise<void>) => (): Promise<void> => {
      const now = performance.now()
      if (called) record.after += now - record.resumed
      else {
        called = true
        record.before += now - start
        if (ctx.streaming) timeChunkWork(ctx, record, handlersAtStart, wrappersAtStart)
      }
      profile.stamp = now
      profile.tag = 2 * index
      if (!innermost) return step()
      // Inside it is the provider step, which stamps nothing: read the clock when it settles.
      return step().then(
        () => void (record.resumed = performance.now()),
        (error: unknown) => {
          record.resumed = performance.now()
          throw error
        },
      )
    }
    const finish = () => {
      const end = performance.now()
      if (called) record.after += record.resumed >= 0 ? end - record.resumed : 0
      else record.before += end - start
      record.lastEnd = end
      if (--record.running === 0) profile.finished++
      profile.stamp = end
      profile.tag = 2 * index + 1
      if (index > 0) profile.records[index - 1]!.resumed = end
      else complete(ctx, profile)
    }
    let result: Promise<void> | void
    try {
      result = repeating ? (layer as unknown as RepeatingMiddleware)(ctx, timed(next), timed(inner!)) : layer(ctx, timed(next))
    } catch (error) {
      finish()
      throw error
    }
    if (!(result instanceof Promise)) {
      finish()
      return result
    }
    return result.then(finish, (error: unknown) => {
      finish()
      throw error
    })
  }
  Object.defineProperty(profiled, 'name', { value: layer.name })
  return repeating ? defineRepeatingMiddleware(profiled as RepeatingMiddleware) : (profiled as Middleware)
}

/** The outermost layer finished: hand the profile to whoever asked for it. */
function complete(ctx: Context, profile: CallProfile): void {
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

/** Times the chunk functions and stream wrappers the layer registered before `next()`, into its `after`. */
function timeChunkWork(ctx: Context, record: LayerRecord, handlersAtStart: number, wrappersAtStart: number): void {
  const handlers = ctx.chunkHandlers
  for (let position = handlersAtStart; position < handlers.length; position++) handlers[position] = timedHandler(handlers[position]!, record)
  mapStreamWrappers(ctx, wrappersAtStart, (wrapper) => timedWrapper(wrapper, record))
}

function timedHandler(handler: ChunkHandler, record: LayerRecord): ChunkHandler {
  const timed: ChunkHandler = (chunk, ctx) => {
    const start = performance.now()
    const result = handler(chunk, ctx)
    if (!(result instanceof Promise)) {
      record.after += performance.now() - start
      return result
    }
    return result.then((replaced) => {
      record.after += performance.now() - start
      return replaced
    })
  }
  const flush = handler.flush
  if (flush) {
    timed.flush = (ctx) => {
      const start = performance.now()
      try {
        return flush(ctx)
      } finally {
        record.after += performance.now() - start
      }
    }
  }
  return timed
}

/**
 * A stream wrapper whose own time is counted: the time in each `next()` of its chunks, less the time
 * it waited in that `next()` for the chunks inside it. (Reading ahead outside a `next()` is not counted.)
 */
function timedWrapper(wrapper: ChunkStreamWrapper, record: LayerRecord): ChunkStreamWrapper {
  return (chunks, ctx) => {
    let waited = 0
    const input: AsyncIterable<ChatChunk> = {
      [Symbol.asyncIterator]() {
        const iterator = chunks[Symbol.asyncIterator]()
        return {
          async next() {
            const start = performance.now()
            try {
              return await iterator.next()
            } finally {
              waited += performance.now() - start
            }
          },
          return: iterator.return && ((value?: unknown) => iterator.return!(value)),
          throw: iterator.throw && ((error?: unknown) => iterator.throw!(error)),
        }
      },
    }
    const setup = performance.now()
    const output = wrapper(input, ctx)
    record.after += performance.now() - setup
    return {
      [Symbol.asyncIterator]() {
        const iterator = output[Symbol.asyncIterator]()
        return {
          async next() {
            waited = 0
            const start = performance.now()
            try {
              return await iterator.next()
            } finally {
              record.after += Math.max(0, performance.now() - start - waited)
            }
          },
          return: iterator.return && ((value?: unknown) => iterator.return!(value)),
          throw: iterator.throw && ((error?: unknown) => iterator.throw!(error)),
        }
      },
    }
  }
}
