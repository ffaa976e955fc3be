/**
 * A streamed call: the iterator `client.stream()` returns, and the innermost step that reads the
 * provider's stream and hands each chunk, through the `onChunk` functions, to the caller.
 */
import type { Context } from './context'
import { AbortError, toError } from './errors'
import type { ChatChunk, ChatRequest, ChatResponse } from './schema'
import { ChunkAssembler, ChunkChannel, responseToChunks } from './stream'
import { estimateUsage } from './token-estimate'
import type { Provider, ProviderCall } from './types'
import { usageFromProvider } from './usage'

/** What `client.stream()` returns: the chunks, and the call's context once the first chunk was asked for. */
export interface ChatStream extends AsyncIterableIterator<ChatChunk> {
  /** The call's context (available at once). */
  readonly context: Context
}

const channelKey = Symbol('chunk channel')
const wrappersKey = Symbol('stream wrappers')
const answeredKey = Symbol('answered with chunks by a layer')

/** Takes the chunks of a streamed call and returns the chunks to send on (more, fewer, changed). */
export type ChunkStreamWrapper = (chunks: AsyncIterable<ChatChunk>, ctx: Context) => AsyncIterable<ChatChunk>

/**
 * Wraps the chunk stream of a streamed call, for a layer that needs the stream as a whole (buffer
 * it, drop or add chunks), where `ctx.onChunk` sees one chunk at a time. Register before `await
 * next()`; the wrapper of the outermost layer is applied last. Chunks pass the `onChunk` functions
 * after every wrapper. What a wrapper throws fails the call.
 *
 * @example
 * ```ts
 * client.use(async (ctx, next) => {
 *   if (ctx.streaming) wrapChunkStream(ctx, async function* (chunks) { for await (const chunk of chunks) if (chunk.choices.length > 0) yield chunk })
 *   await next()
 * })
 * ```
 */
export function wrapChunkStream(ctx: Context, wrapper: ChunkStreamWrapper): void {
  const wrappers = ctx.slot<ChunkStreamWrapper[]>(wrappersKey)
  if (wrappers) wrappers.push(wrapper)
  else ctx.setSlot(wrappersKey, [wrapper])
}

/** @internal how many wrappers are registered, for a repeating layer to drop those of an earlier attempt */
export function streamWrapperCount(ctx: Context): number {
  return ctx.slot<ChunkStreamWrapper[]>(wrappersKey)?.length ?? 0
}

/** @internal drops the wrappers registered after the first `count` (by the layers inside a retry) */
export function dropStreamWrappers(ctx: Context, count: number): void {
  const wrappers = ctx.slot<ChunkStreamWrapper[]>(wrappersKey)
  if (wrappers && wrappers.length > count) wrappers.length = count
}

/** `chunks` through the wrappers registered on `ctx`, the innermost layer's first. */
function wrapped(ctx: Context, chunks: AsyncIterable<ChatChunk>): AsyncIterable<ChatChunk> {
  const wrappers = ctx.slot<ChunkStreamWrapper[]>(wrappersKey)
  if (!wrappers) return chunks
  let current = chunks
  for (let index = wrappers.length - 1; index >= 0; index--) current = wrappers[index]!(current, ctx)
  return current
}

/**
 * The iterator of a streamed call. Nothing runs until the first `next()`; `run` then dispatches the
 * onion while the caller reads. `return()` (a `break`) aborts upstream and waits for every layer.
 */
export function createChatStream(ctx: Context, run: (ctx: Context) => Promise<unknown>): ChatStream {
  const channel = new ChunkChannel()
  ctx.setSlot(channelKey, channel)
  let settled: Promise<void> | undefined
  const start = () => {
    settled = run(ctx)
      .then(
        () => deliverShortCircuit(ctx, channel).then(() => channel.finish()),
        (error) => channel.finish(error),
      )
      .catch((error) => channel.finish(error))
  }
  return {
    context: ctx,
    next() {
      if (settled) return channel.pull()
      const first = channel.pull()
      start()
      return first
    },
    async return() {
      if (!settled) {
        settled = Promise.resolve()
        return { value: undefined, done: true }
      }
      const reason = new AbortError('The caller stopped reading the stream.', { model: ctx.request.model })
      channel.cancel(reason)
      if (!ctx.signal.aborted) ctx.abortController.abort(reason)
      await settled
      return { value: undefined, done: true }
    },
    [Symbol.asyncIterator]() {
      return this
    },
  }
}

/** Reads the provider's stream (the innermost step of a streamed attempt), passing each chunk through the `onChunk` functions to the caller. */
export async function streamFromProvider(ctx: Context, provider: Provider, request: ChatRequest, call: ProviderCall): Promise<void> {
  const channel = ctx.slot<ChunkChannel>(channelKey)!
  const assembler = new ChunkAssembler()
  const iterator = wrapped(ctx, provider.stream(request, call))[Symbol.asyncIterator]()
  let ended = false
  try {
    for (;;) {
      const next = await iterator.next()
      if (next.done) {
        ended = true
        break
      }
      ctx.timing.firstChunk ??= Date.now()
      const chunk = await applyChunkHandlers(ctx, next.value)
      assembler.add(chunk)
      ctx.chunksDelivered++
      await channel.deliver(chunk)
    }
  } finally {
    if (!ended) await closeQuietly(iterator)
  }
  for (const chunk of await flushChunkHandlers(ctx)) {
    assembler.add(chunk)
    ctx.chunksDelivered++
    await channel.deliver(chunk)
  }
  ctx.response = assembler.response()
  ctx.usage = usageFromProvider(assembler.usage) ?? (await estimateUsage(request, ctx.response))
}

/** The chunks functions with a `flush` still hold at the end of the stream, each passed through the functions outside it. */
async function flushChunkHandlers(ctx: Context): Promise<ChatChunk[]> {
  const chunks: ChatChunk[] = []
  const handlers = ctx.chunkHandlers
  for (let index = handlers.length - 1; index >= 0; index--) {
    const held = handlers[index]!.flush?.(ctx)
    if (held) chunks.push(await applyChunkHandlers(ctx, held, index - 1))
  }
  return chunks
}

async function applyChunkHandlers(ctx: Context, chunk: ChatChunk, from = ctx.chunkHandlers.length - 1): Promise<ChatChunk> {
  const handlers = ctx.chunkHandlers
  let current = chunk
  for (let index = from; index >= 0; index--) {
    let replaced = handlers[index]!(current, ctx)
    if (replaced instanceof Promise) replaced = await replaced
    if (replaced) current = replaced
  }
  return current
}

/**
 * Answers a call from a layer with `chunks` instead of the provider (a cache replaying a recorded
 * stream). On a streamed call they pass the stream wrappers and `onChunk` functions of the layers
 * outside, as a provider's chunks would, and reach the caller before the returned promise resolves,
 * so the outer layers' `await next()` still ends after the last chunk. `ctx.response` is then the
 * assembled response. On a non-streamed call it only assembles `ctx.response`. A caller that stops
 * reading rejects it with `AbortError`.
 *
 * @example
 * ```ts
 * client.use(async (ctx, next) => {
 *   const recorded = myRecordings.get(JSON.stringify(ctx.request.messages))
 *   if (recorded) return answerWithChunks(ctx, recorded)
 *   await next()
 * })
 * ```
 */
export async function answerWithChunks(ctx: Context, chunks: Iterable<ChatChunk>): Promise<void> {
  const assembler = new ChunkAssembler()
  const channel = ctx.streaming ? ctx.slot<ChunkChannel>(channelKey) : undefined
  if (!channel) {
    for (const chunk of chunks) assembler.add(chunk)
    ctx.response = assembler.response()
    return
  }
  ctx.setSlot(answeredKey, true)
  try {
    for await (const chunk of ctx.slot(wrappersKey) ? wrapped(ctx, iterate(chunks)) : chunks) {
      ctx.timing.firstChunk ??= Date.now()
      const delivered = await applyChunkHandlers(ctx, chunk)
      assembler.add(delivered)
      ctx.chunksDelivered++
      await channel.deliver(delivered)
    }
    for (const chunk of await flushChunkHandlers(ctx)) {
      assembler.add(chunk)
      ctx.chunksDelivered++
      await channel.deliver(chunk)
    }
  } catch (thrown) {
    // As for a provider's stream: the layers outside read the outcome from ctx.error.
    ctx.error = toError(thrown)
    throw thrown
  }
  ctx.response = assembler.response()
}

/** A layer answered a streamed call by itself: deliver its response as chunks. */
async function deliverShortCircuit(ctx: Context, channel: ChunkChannel): Promise<void> {
  if (ctx.providerCalls > 0 || !ctx.response || ctx.slot(answeredKey)) return
  const chunks = responseToChunks(ctx.response as ChatResponse)
  for await (const chunk of ctx.slot(wrappersKey) ? wrapped(ctx, iterate(chunks)) : chunks) {
    // Stamped before the chunk handlers run, as for a provider's chunks: they may read it (completion_start_time).
    ctx.timing.firstChunk ??= Date.now()
    const delivered = await applyChunkHandlers(ctx, chunk)
    ctx.chunksDelivered++
    await channel.deliver(delivered)
  }
  for (const chunk of await flushChunkHandlers(ctx)) {
    ctx.chunksDelivered++
    await channel.deliver(chunk)
  }
}

async function* iterate(chunks: Iterable<ChatChunk>): AsyncGenerator<ChatChunk> {
  yield* chunks
}

async function closeQuietly(iterator: AsyncIterator<unknown>): Promise<void> {
  try {
    await iterator.return?.()
  } catch {
    // The stream is being abandoned; its own error is the one that matters.
  }
}

/** @internal replaces each wrapper registered after the first `from` by `map(wrapper)` (the profiler's timed wrappers) */
export function mapStreamWrappers(ctx: Context, from: number, map: (wrapper: ChunkStreamWrapper) => ChunkStreamWrapper): void {
  const wrappers = ctx.slot<ChunkStreamWrapper[]>(wrappersKey)
  if (!wrappers) return
  for (let index = from; index < wrappers.length; index++) wrappers[index] = map(wrappers[index]!)
}
