/**
 * cache(): answers a call from a cache when the same request was answered before, as LiteLLM's
 * `litellm.cache` does, and logs it right: `ctx.cacheHit`, a cost of 0, and what the call would have
 * cost as `ctx.savedCost`. Exact match on model, messages (or embedding input) and parameters;
 * streams are answered as streams (the recorded chunks replayed); embeddings are cached per input.
 * In this process's memory (a bounded LRU) by default, or on the shared store when it is Redis,
 * or on Redis at `REDIS_URL`. docs/middleware/cache.md.
 */
import { z } from 'zod'
import type { Context } from '../src/context'
import { cacheKeyOf, defaultIgnoredParameters, type CacheKeyFunction } from '../src/cache/cache-key'
import { cachedEmbeddingCall, type CacheAccess } from '../src/cache/embedding-call'
import { entryVersion, hasOutput, parseEntry, type ChatEntry } from '../src/cache/entries'
import { createMemoryLru, type MemoryLru } from '../src/cache/memory-lru'
import { lazySchema } from '../src/lazy-schema'
import type { ChatChunk, ChatResponse } from '../src/schema'
import type { ClientServices } from '../src/services'
import { redisStore, type RedisSharedStore } from '../src/shared-state/redis-store'
import type { SharedStore } from '../src/shared-state/store'
import { responseToChunks } from '../src/stream'
import { answerWithChunks, wrapChunkStream } from '../src/streamed-call'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'

/** Options of {@link cache}; every one has a default. */
export interface CacheOptions {
  /**
   * Where entries live. Default: the client's shared store when it is Redis (`createClient({ store:
   * redisStore() })`, the proxy with Redis configured), else Redis at `REDIS_URL` when that is set,
   * else an LRU in this process's memory. `'memory'` always takes the LRU; a store always that store.
   */
  store?: SharedStore | 'memory'
  /** The memory LRU's most entries (default 1,000; an embedding input is one entry). */
  maxEntries?: number
  /** The memory LRU's most characters of stored JSON, all entries together (default 67,108,864: 64 MiB). */
  maxSize?: number
  /** How long an entry lives, in seconds (default 600); a request's `cache.ttl` wins. */
  ttlSeconds?: number
  /** Put in front of every key (LiteLLM's `cache_params.namespace`); a request's `cache.namespace` wins. Default none. */
  namespace?: string
  /** Which calls are cached (default both: `['chat', 'embedding']`). */
  callTypes?: Array<'chat' | 'embedding'>
  /** `default-on` (default): every call; `default-off`: only requests that send `cache: { 'use-cache': true }`. */
  mode?: 'default-on' | 'default-off'
  /** More request fields to leave out of the key, besides `stream`, `metadata`, `tags`, `cache`, credentials and the like. Default none. */
  ignoreParameters?: string[]
  /** Replaces what the key is made of: its result is hashed (for an embedding batch it is called once per input). Default: model, messages or input, and every other parameter. */
  key?: CacheKeyFunction
}

/** LiteLLM's per-request cache controls, the request's `cache` field. */
export interface CacheControls {
  /** Do not answer from the cache (the reply is still stored). */
  'no-cache'?: boolean
  /** Do not store the reply. */
  'no-store'?: boolean
  /** Store the reply for this many seconds. */
  ttl?: number
  /** Accept a cached reply only if it is at most this many seconds old. */
  's-maxage'?: number
  's-max-age'?: number
  /** Store and look up under this namespace. */
  namespace?: string
  /** With `mode: 'default-off'`, cache this call. */
  'use-cache'?: boolean
}

const isStore = (value: unknown): value is SharedStore => typeof value === 'object' && value !== null && typeof (value as SharedStore).get === 'function' && typeof (value as SharedStore).set === 'function'

const optionsSchema = lazySchema(() =>
  z
    .object({
      store: z.union([z.literal('memory'), z.custom<SharedStore>(isStore)], { error: "must be 'memory' or a shared store, for example redisStore({ url })" }).optional(),
      maxEntries: z.number().int().positive().optional(),
      maxSize: z.number().int().positive().optional(),
      ttlSeconds: z.number().positive().finite().optional(),
      namespace: z.string().min(1).optional(),
      callTypes: z.array(z.enum(['chat', 'embedding'])).min(1).optional(),
      mode: z.enum(['default-on', 'default-off']).optional(),
      ignoreParameters: z.array(z.string()).optional(),
      key: z.custom<CacheKeyFunction>((value) => typeof value === 'function', 'must be a function (request, type) => what identifies the request').optional(),
    })
    .strict(),
)

const seconds = lazySchema(() => z.number({ error: 'must be a number of seconds' }).min(0).finite())
const controlsSchema = lazySchema(() =>
  z.object({
    cache: z.looseObject(
      {
        'no-cache': z.boolean().optional(),
        'no-store': z.boolean().optional(),
        ttl: seconds.refine((value) => value > 0, 'must be more than 0 seconds').optional(),
        's-maxage': seconds.optional(),
        's-max-age': seconds.optional(),
        namespace: z.string().optional(),
        'use-cache': z.boolean().optional(),
      },
      { error: "must be an object of cache controls, for example { 'no-cache': true } or { ttl: 300 }" },
    ),
  }),
)

/** Where a layer's entries go: the memory LRU or a shared store, behind the same two calls. */
interface Backend {
  get(key: string): Promise<string | undefined> | string | undefined
  set(key: string, value: string, ttlMs: number): Promise<unknown> | void
}

const zeroCost = { input: 0, output: 0, total: 0 }

/**
 * Answers a call from the cache when the same request was answered before; otherwise calls the
 * layers inside and stores the reply. Defaults: every chat and embedding call, exact match on model,
 * messages (or input) and parameters, entries for 600 s, an LRU of 1,000 entries in memory unless the
 * client's shared store is Redis or `REDIS_URL` is set. A request's `cache` field (`no-cache`,
 * `no-store`, `ttl`, `s-maxage`, `namespace`) steers one call, as LiteLLM's does. On a hit
 * `ctx.cacheHit` is true, `ctx.cost` is 0 and `ctx.savedCost` what the call cost when it was stored;
 * no layer inside runs and the provider is not called.
 *
 * Put it inside the observing layers (they log hits) and outside `retry()`, `fallback()` and
 * `cost()` (so a hit skips them, and the prices stored are theirs).
 *
 * @example
 * ```ts
 * client.use(observability())
 * client.use(cache({ ttlSeconds: 3600 }))
 * client.use(retry())
 * await client.chat({ model: 'openai/gpt-4o-mini', messages })                        // the provider answers
 * await client.chat({ model: 'openai/gpt-4o-mini', messages })                        // the cache answers
 * await client.chat({ model: 'openai/gpt-4o-mini', messages, cache: { 'no-cache': true } }) // the provider again
 * ```
 */
export function cache(options: CacheOptions = {}): Middleware {
  const settings = validate(optionsSchema, options, 'cache() options')
  const ttlMs = (settings.ttlSeconds ?? 600) * 1000
  const callTypes = new Set(settings.callTypes ?? ['chat', 'embedding'])
  const ignored = new Set([...defaultIgnoredParameters, ...(settings.ignoreParameters ?? [])])
  const defaultOff = settings.mode === 'default-off'
  const redisUrl = process.env.REDIS_URL || undefined
  const backends = new WeakMap<ClientServices, Backend>()
  const storeBackends = new WeakMap<SharedStore, Backend>()
  let lru: MemoryLru | undefined
  let ownRedis: { store: RedisSharedStore; backend: Backend; users: Set<ClientServices> } | undefined

  const ofStore = (store: SharedStore): Backend => {
    let backend = storeBackends.get(store)
    if (!backend) {
      backend = { get: (key) => store.get(key), set: (key, value, ttl) => store.set(key, value, { ttlMs: ttl }) }
      storeBackends.set(store, backend)
    }
    return backend
  }
  const memory = (): Backend => {
    const map = (lru ??= createMemoryLru({ maxEntries: settings.maxEntries, maxSize: settings.maxSize }))
    return { get: (key) => map.get(key), set: (key, value, ttl) => map.set(key, value, ttl) }
  }
  // Redis at REDIS_URL, opened on first use and closed when the last client that used it closes.
  const redisAtUrl = (services: ClientServices, url: string): Backend => {
    const own = (ownRedis ??= ((store) => ({ store, backend: ofStore(store), users: new Set<ClientServices>() }))(redisStore({ url })))
    if (!own.users.has(services)) {
      own.users.add(services)
      services.onClose(async () => {
        own.users.delete(services)
        if (own.users.size > 0) return
        if (ownRedis === own) ownRedis = undefined
        await own.store.close()
      })
    }
    return own.backend
  }
  const backendOf = (ctx: Context): Backend => {
    let backend = backends.get(ctx.services)
    if (backend) return backend
    if (settings.store === 'memory') backend = memory()
    else if (settings.store !== undefined) backend = ofStore(settings.store)
    else if (ctx.store.kind === 'redis') backend = ofStore(ctx.store)
    else backend = redisUrl !== undefined ? redisAtUrl(ctx.services, redisUrl) : memory()
    backends.set(ctx.services, backend)
    return backend
  }

  return async function cache(ctx: Context, next: () => Promise<void>): Promise<void> {
    if (!callTypes.has(ctx.type)) return next()
    const raw = (ctx.request as { cache?: unknown }).cache
    const controls: CacheControls | undefined = raw === undefined ? undefined : validate(controlsSchema, { cache: raw }, 'request').cache
    if (defaultOff && controls?.['use-cache'] !== true) return next()
    const backend = backendOf(ctx)
    const namespace = controls?.namespace || (typeof ctx.metadata.redis_namespace === 'string' && ctx.metadata.redis_namespace) || settings.namespace
    const prefix = namespace ? `cache:${ctx.scrub(namespace)}:` : 'cache:'
    const maxAgeSeconds = controls?.['s-maxage'] ?? controls?.['s-max-age']
    const access: CacheAccess = {
      keyOf: (request) => prefix + cacheKeyOf(request as Record<string, unknown>, ctx.type, ignored, settings.key),
      read: !controls?.['no-cache'] ? (key) => read(ctx, backend, key) : undefined,
      write: !controls?.['no-store'] ? (key, text) => write(ctx, backend, key, ctx.scrub(text), controls?.ttl === undefined ? ttlMs : controls.ttl * 1000) : undefined,
      maxAgeMs: maxAgeSeconds === undefined ? undefined : maxAgeSeconds * 1000,
    }
    if (ctx.type === 'embedding') return cachedEmbeddingCall(ctx, next, access)

    const key = access.keyOf(ctx.request)
    if (access.read) {
      const entry = parseEntry(await access.read(key), 'chat', Date.now(), access.maxAgeMs)
      if (entry) return answer(ctx, entry)
    }
    const chunks: ChatChunk[] | undefined = access.write && ctx.streaming ? [] : undefined
    // Recorded as the layers inside produced them, before the stream wrappers and onChunk functions
    // of the layers outside, which a replay passes through again. Each attempt starts the list anew.
    if (chunks) wrapChunkStream(ctx, async function* record(stream) {
      chunks.length = 0
      for await (const chunk of stream) {
        chunks.push(chunk)
        yield chunk
      }
    })
    await next()
    // Only what a provider answered is stored: never a reply a layer inside made up (a refusal).
    const response = ctx.response as ChatResponse | undefined
    if (!access.write || ctx.providerCalls === 0 || !response || !hasOutput(response)) return
    const entry: ChatEntry = {
      v: entryVersion,
      kind: 'chat',
      createdAt: Date.now(),
      provider: ctx.provider,
      model: ctx.model,
      responseModel: ctx.responseModel,
      cost: ctx.cost,
      usage: ctx.usage,
      ...(chunks ? { chunks } : { response }),
    }
    await access.write(key, JSON.stringify(entry))
  }
}

/** Answers `ctx` with a stored chat reply: replayed as chunks for a stream. */
async function answer(ctx: Context, entry: ChatEntry): Promise<void> {
  ctx.cacheHit = true
  if (entry.provider !== undefined) ctx.provider = entry.provider
  if (entry.model !== undefined) ctx.model = entry.model
  ctx.responseModel = entry.responseModel
  ctx.usage = entry.usage
  ctx.cost = { ...zeroCost }
  ctx.costUnknownReason = undefined
  ctx.savedCost = entry.cost
  if (ctx.streaming || entry.chunks) await answerWithChunks(ctx, entry.chunks ?? responseToChunks(entry.response!))
  else ctx.response = entry.response
}

/** The stored text under `key`; a store that fails is a miss, reported once, never the call's failure. */
async function read(ctx: Context, backend: Backend, key: string): Promise<string | undefined> {
  try {
    return await backend.get(key)
  } catch (error) {
    ctx.services.reportHookError(error, 'cache')
    return undefined
  }
}

async function write(ctx: Context, backend: Backend, key: string, text: string, ttlMs: number): Promise<void> {
  try {
    await backend.set(key, text, ttlMs)
  } catch (error) {
    ctx.services.reportHookError(error, 'cache')
  }
}
