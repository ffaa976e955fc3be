/**
 * The public types of the onion: layers, providers and what they exchange.
 */
import type { Context } from './context'
import type { ChatChunk, ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse } from './schema'

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

/** A per-chunk function registered with `ctx.onChunk`: return a replacement chunk, or nothing to keep it. */
export type ChunkHandler = ((chunk: ChatChunk, ctx: Context) => ChatChunk | void | undefined | Promise<ChatChunk | void | undefined>) & {
  /**
   * Called once when the provider's stream has ended, for a function that held text back (the
   * guardrails' stream window): a chunk it returns passes through the outer functions to the caller.
   */
  flush?: (ctx: Context) => ChatChunk | undefined
}

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

/** Token counts of a call, whatever the provider called them. */
export interface Usage {
  inputTokens: number
  outputTokens: number
  totalTokens: number
  cachedInputTokens?: number
  reasoningTokens?: number
  /** True when counted locally (a tokenizer), not reported by the provider. */
  estimated?: boolean
}

/** USD cost of a call. */
export interface Cost {
  input: number
  output: number
  total: number
}

/** Epoch milliseconds. */
export interface Timing {
  start: number
  firstChunk?: number
  end?: number
}

/** One attempt at the provider (retries and fallbacks make several). */
export interface AttemptRecord {
  attempt: number
  model: string
  provider?: string
  start: number
  end?: number
  status: 'success' | 'failure' | 'cancelled' | 'pending'
  error?: { type: string; message: string; status?: number }
}

/** The HTTP request that reached the proxy, credentials removed. */
export interface HttpInfo {
  method: string
  url: string
  headers: Record<string, string>
  clientIp?: string
  body?: unknown
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
   * Credentials this call carries besides the request's `api_key` (the proxy passes those of the
   * HTTP request): scrubbed from its event, its error messages and every export. Default none.
   */
  secrets?: string[]
}
