import { randomUUID } from 'node:crypto'
import { CallAbort } from './call-abort'
import type { AttemptRecord, Cost, HttpInfo, LayerProfile, Timing, Usage } from './call-facts'
import type { ChatChunk, ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse } from './schema'
import type { CallEvent, EventOptions } from './event'
import { buildEvent } from './event'
import { maxContentLengthOf } from './content-cut'
import { contentMaskOf } from './redact'
import type { ClientServices } from './services'
import type { SharedStore } from './shared-state/store'

export type CallType = 'chat' | 'embedding'

/** A per-chunk function registered with `ctx.onChunk`: return a replacement chunk, or nothing to keep it. */
export type ChunkHandler = ((chunk: ChatChunk, ctx: Context) => ChatChunk | void | undefined | Promise<ChatChunk | void | undefined>) & {
  /**
   * Called once when the provider's stream has ended, for a function that held text back (the
   * guardrails' stream window): a chunk it returns passes through the outer functions to the caller.
   */
  flush?: (ctx: Context) => ChatChunk | undefined
}

/**
 * Everything about one call, shared by every layer: the request on the way in, the response,
 * usage, cost and timing on the way out, and free per-call `state`.
 *
 * @example
 * ```ts
 * client.use(async (ctx, next) => {
 *   ctx.state.started = performance.now()
 *   ctx.request.temperature ??= 0.2          // change the request before it is sent
 *   await next()
 *   console.log(ctx.id, ctx.model, ctx.usage?.totalTokens, ctx.cost?.total)
 * })
 * ```
 */
export class Context {
  /** Unique id of this call (a UUID, made when first read). */
  get id(): string {
    return (this.#id ??= randomUUID())
  }

  /** Groups the calls of one logical operation; `metadata.trace_id` when given, else the call id. */
  get traceId(): string {
    return this.#traceId ?? this.id
  }

  set traceId(traceId: string) {
    this.#traceId = traceId
  }

  readonly type: CallType
  readonly streaming: boolean
  /** The request; change it before `await next()` to change what is sent. */
  request: ChatRequest | EmbeddingRequest
  /** The reply, after `await next()`. Set it before calling `next()` to answer without the provider. */
  response?: ChatResponse | EmbeddingResponse
  /** The error of a failed call, once it is known. */
  error?: Error
  /** The model as the caller asked for it (`openai/gpt-4o-mini`), before any layer changed it. */
  readonly requestedModel: string
  /** The model name the provider was asked for, without the `provider/` prefix. */
  model: string
  /** The provider that serves the call (`mock`, `openai`, `gemini`, ...). */
  provider?: string
  /** Base URL of the provider's API. */
  apiBase?: string
  /** The model the provider says answered (`gpt-4o-mini-2024-07-18`). */
  responseModel?: string
  user?: string
  metadata: Record<string, unknown>
  tags: string[]
  /** Free per-call scratch space, as in Koa: set it before `next()`, read it after. */
  state: Record<string, unknown> = {}
  usage?: Usage
  cost?: Cost
  /** Why `cost` is absent (unknown model, no usage), when it is. */
  costUnknownReason?: string
  timing: Timing
  /** Counts attempts from 1; retry and fallback layers raise it. */
  attempt = 1
  /** Every attempt made, in order. */
  readonly attempts: AttemptRecord[] = []
  /** True when a layer answered from a cache. */
  cacheHit = false
  /**
   * What the part of the reply a cache answered would have cost (all of it on a hit, the cached
   * inputs of a partly cached embedding batch), in USD; set by `cache()`. `cost` is what was paid.
   */
  savedCost?: Cost
  /**
   * Aborted when the caller cancels (or a timeout layer fires). A layer may narrow it for the layers
   * inside it (a signal that also aborts on its own timer) and restore it after `await next()`;
   * read it where you use it rather than keeping it.
   */
  get signal(): AbortSignal {
    return this.cancellation.signal
  }

  set signal(signal: AbortSignal) {
    this.cancellation.signal = signal
  }

  /** Proxy only: the HTTP request behind the call, credentials removed. */
  http?: HttpInfo
  /** Proxy only: `model_info` from the config entry that serves this call. */
  modelInfo?: Record<string, unknown>
  /** Proxy only: the id of the deployment the caller chose (`CallOptions.deployment`), which the router tries first. */
  readonly deployment?: string

  /** @internal the caller asked for the reply as the upstream sent it (`CallOptions.keepRawReply`) */
  readonly keepRawReply: boolean

  /** @internal per-chunk functions in registration order (outermost first). */
  readonly chunkHandlers: ChunkHandler[] = []
  /** @internal how many chunks have reached the caller. */
  chunksDelivered = 0
  /** @internal how many attempts reached the provider (0: a layer answered by itself). */
  providerCalls = 0
  /** The client's shared services: the delivery queue every exporter enqueues on (`ctx.services.queue`), the credential scrubber. */
  readonly services: ClientServices
  /**
   * @internal the body a provider's reply came in, with what it parsed it to, on calls with
   * `keepRawReply`: the proxy writes `text` as it is when `parsed` is still `response` (docs/proxy.md,
   * "Performance")
   */
  receivedReply?: { parsed: unknown; text: string }
  /**
   * @internal the upstream's request id (its `x-request-id` header) of the latest attempt, on calls
   * with `keepRawReply`: the proxy passes it on to its client (docs/proxy.md, "Response headers")
   */
  upstreamRequestId?: string
  /** @internal this call's own credentials (the request's `api_key`, the proxy request's), scrubbed by value */
  readonly callSecrets?: string[]
  /** @internal the call's cancellation; its controller and signal are created on first use */
  readonly cancellation: CallAbort
  /** @internal each layer's own time, on a client made with `profile: true` (src/profile.ts) */
  profile?: LayerProfile
  #id?: string
  #traceId?: string
  #eventCache?: { key: unknown; redacted: boolean; event: CallEvent }
  #slots?: Map<symbol, unknown>

  constructor(init: {
    type: CallType
    streaming: boolean
    request: ChatRequest | EmbeddingRequest
    services: ClientServices
    signal?: AbortSignal
    http?: HttpInfo
    modelInfo?: Record<string, unknown>
    deployment?: string
    keepRawReply?: boolean
    secrets?: string[]
  }) {
    this.type = init.type
    this.streaming = init.streaming
    this.request = init.request
    this.requestedModel = init.request.model
    this.model = init.request.model
    this.user = init.request.user
    this.metadata = init.request.metadata ?? {}
    this.tags = init.request.tags ?? []
    // LiteLLM's clients send tags in metadata.tags: they join the call's tags.
    const metadataTags = this.metadata.tags
    if (Array.isArray(metadataTags)) this.tags = [...new Set([...this.tags, ...metadataTags.filter((tag): tag is string => typeof tag === 'string')])]
    const traceId = this.metadata.trace_id
    if (typeof traceId === 'string' && traceId !== '') this.#traceId = traceId
    this.services = init.services
    this.cancellation = new CallAbort(init.signal)
    this.http = init.http
    this.modelInfo = init.modelInfo
    this.deployment = init.deployment
    this.keepRawReply = init.keepRawReply === true
    const apiKey = (init.request as { api_key?: unknown }).api_key
    if (typeof apiKey === 'string' || init.secrets) this.callSecrets = typeof apiKey === 'string' ? [apiKey, ...(init.secrets ?? [])] : init.secrets
    this.timing = { start: Date.now() }
  }

  /** @internal aborting it cancels the call */
  get abortController(): AbortController {
    return this.cancellation.controller
  }

  /**
   * Registers a function every stream chunk passes through before it reaches the caller.
   * Functions run from the innermost layer outward; one may return a replacement chunk.
   * Register before `await next()`. Non-streamed calls never call it.
   */
  onChunk(handler: ChunkHandler): void {
    this.chunkHandlers.push(handler)
  }

  /**
   * @internal per-call data of the client and of built-in layers, under a key of their own. It dies
   * with the call; V8's young collections do not free the entries of a `WeakMap` keyed by the
   * context, so one would keep the data (and the context) until the next full collection.
   */
  slot<T>(key: symbol): T | undefined {
    return this.#slots?.get(key) as T | undefined
  }

  /** @internal see {@link Context.slot} */
  setSlot(key: symbol, value: unknown): void {
    ;(this.#slots ??= new Map()).set(key, value)
  }

  /**
   * The client's shared store: counters with expiry, values with a time to live and sliding-window
   * sums, in this process's memory by default, or on Redis (`createClient({ store: redisStore() })`,
   * the proxy with `REDIS_URL`) so every worker and replica counts together. docs/shared-state.md.
   *
   * @example
   * ```ts
   * client.use(async (ctx, next) => {
   *   await next()
   *   await ctx.store.increment(`requests:${ctx.model}`)
   * })
   * ```
   */
  get store(): SharedStore {
    return this.services.store
  }

  /** Registers background work (an export, a write) that `client.flush()` and `client.close()` wait for. */
  waitUntil(promise: Promise<unknown>): void {
    this.services.track(promise)
  }

  /**
   * The standard event of this call, built once per outcome and shared by every sink.
   * With `redact: { messages: true }` (or the client's redact option) prompt and reply content are
   * replaced by `"[redacted]"`; credentials are always removed.
   */
  toEvent(options: EventOptions = {}): CallEvent {
    const redacted = options.redact?.messages ?? this.services.redact.messages ?? false
    const key = this.error ?? this.response
    const cached = this.#eventCache
    if (cached && cached.key === key && cached.redacted === redacted && cached.event.attempts.length === this.attempts.length && cached.event.layers?.length === this.profile?.finished) {
      return cached.event
    }
    const event = buildEvent(this, redacted, contentMaskOf(this.services.redact), maxContentLengthOf(this.services.redact))
    this.#eventCache = { key, redacted, event }
    return event
  }

  /**
   * `text` with every credential the client knows, and this call's own, replaced by `"[redacted]"`:
   * for anything a layer sends or logs that does not come from the event (which is scrubbed already).
   *
   * @example
   * ```ts
   * client.use(async (ctx, next) => {
   *   try { await next() } catch (error) { myLog.write(ctx.scrub(String(error))); throw error }
   * })
   * ```
   */
  scrub(text: string): string {
    return this.services.secrets.scrub(text, this.callSecrets)
  }

  /** The reply of a chat call, or undefined for embeddings and failures. */
  get chatResponse(): ChatResponse | undefined {
    return this.type === 'chat' ? (this.response as ChatResponse | undefined) : undefined
  }

  /** The reply of an embedding call. */
  get embeddingResponse(): EmbeddingResponse | undefined {
    return this.type === 'embedding' ? (this.response as EmbeddingResponse | undefined) : undefined
  }
}

/** A stream chunk, for `onChunk` functions that want the type. */
export type { ChatChunk }
