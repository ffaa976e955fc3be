/**
 * The public types of the onion: layers, providers and what they exchange.
 */
import type { HttpInfo } from './call-facts'
import type { Context } from './context'
import type { ChatChunk, ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse } from './schema'

// The data of a call lives in src/call-facts.ts and `ChunkHandler` beside `Context`, so that neither
// src/context.ts nor src/event.ts imports this file (which names `Context`): no import circle.
export type { AttemptRecord, Cost, HttpInfo, Timing, Usage } from './call-facts'
export type { ChunkHandler } from './context'

/**
 * A layer of the onion. Code before `await next()` sees the request on its way in; code after it
 * sees the response (or catches the error) on its way out. The first layer `use()`d is the outermost.
 *
 * @example
 * ```ts
 * const timing: Middleware = async (ctx, next) => {
 *   const started = performance.now()
 *   await next()
 *   console.log(ctx.model, `${performance.now() - started} ms`)
 * }
 * ```
 */
export type Middleware = (ctx: Context, next: () => Promise<void>) => Promise<void> | void

/**
 * A layer that runs the layers inside it more than once (retry, fallback). `inner()` is a fresh
 * dispatch of everything inside this layer, provider included; `next()` is the ordinary single one.
 */
export type RepeatingMiddleware = (
  ctx: Context,
  next: () => Promise<void>,
  inner: () => Promise<void>,
) => Promise<void> | void


/** What a provider gets besides the request. */
export interface ProviderCall {
  /** The model name the provider knows, without the `provider/` prefix. */
  model: string
  /** Aborted when the caller cancels or a timeout fires; pass it to the SDK. */
  signal: AbortSignal
  /** The call's context, for providers that record extra facts (response id, api base). */
  context: Context
}

/**
 * An LLM backend. Requests and responses are OpenAI-shaped whatever the provider speaks;
 * every failure is thrown as an {@link LlmError}.
 */
export interface Provider {
  readonly name: string
  /** Base URL of the provider's API, for events (`apiBase`). */
  readonly apiBase?: string
  /**
   * The credentials this provider was built with (its key, a key in its base URL's query, secret
   * headers): the client scrubs them from everything that leaves the process. Default none.
   */
  readonly secrets?: ReadonlyArray<string>
  chat(request: ChatRequest, call: ProviderCall): Promise<ChatResponse>
  stream(request: ChatRequest, call: ProviderCall): AsyncIterable<ChatChunk>
  embed(request: EmbeddingRequest, call: ProviderCall): Promise<EmbeddingResponse>
  /** Frees sockets and timers; called by `client.close()`. */
  close?(): Promise<void> | void
}

/** Options for `client.chat`, `client.stream` and `client.embed` besides the request. */
export interface CallOptions {
  /** Cancels the call; the upstream request is aborted and the call is recorded as cancelled. */
  signal?: AbortSignal
  /** Proxy only: the HTTP request behind the call. */
  http?: HttpInfo
  /** Proxy only: `model_info` of the config entry that serves the call. */
  modelInfo?: Record<string, unknown>
  /**
   * Proxy only: the id (`model_info.id`) of the deployment the caller chose for this call; the
   * proxy's router tries it first and falls back to the others of its model name. Default: the
   * router picks one.
   */
  deployment?: string
  /**
   * Keep the reply as the upstream sent it on the call's context (its body text, read by the proxy
   * to pass the reply on without serialising it again, and its `x-request-id`): for a proxy. The
   * `http` transport of `openai()` honours it; other providers keep nothing. Default false.
   */
  keepRawReply?: boolean
  /**
   * Called with the call's context once the client created it, before any layer runs: how a caller
   * that needs the call itself (its id, its upstream request id, its cancellation) gets it.
   *
   * @example
   * ```ts
   * let call: Context | undefined
   * await client.chat(request, { onContext: (ctx) => (call = ctx) })
   * console.log(call?.id)
   * ```
   */
  onContext?: (ctx: Context) => void
  /**
   * Credentials this call carries besides the request's `api_key` (the proxy passes those of the
   * HTTP request): scrubbed from its event, its error messages and every export. Default none.
   */
  secrets?: string[]
}
