/**
 * LiteLLM's proxy hooks on a `CustomLogger`, camelCased: the methods that change or reject a request
 * (`asyncPreCallHook`, `asyncModerationHook`), change a reply (`asyncPostCallSuccessHook`, the two
 * streaming hooks) or see a failure (`asyncPostCallFailureHook`). Unlike the log hooks, what they
 * return and what they throw reaches the call: that is their purpose.
 */
import { errorForStatus, isLlmError, type LlmError } from '../errors'
import type { ChatChunk, ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse } from '../schema'

/**
 * LiteLLM's `user_api_key_dict` (`UserAPIKeyAuth`): who made the request. The proxy has one master key
 * and no per-user keys, so this holds what the request says of itself; never a key.
 */
export interface UserApiKeyAuth {
  /** The request's `user`. */
  user_id?: string
  /** The route the request came in on (`/v1/chat/completions`); absent outside the proxy. */
  request_route?: string
  /** The request's `metadata`. */
  metadata: Record<string, unknown>
}

/** LiteLLM's `cache` (`DualCache`) as the hooks use it: one in-memory store per handler. */
export interface HookCache {
  get(key: string): unknown
  set(key: string, value: unknown): void
  delete(key: string): void
  /** LiteLLM's `async_get_cache` / `async_set_cache`, for hooks ported word for word. */
  asyncGetCache(key: string): Promise<unknown>
  asyncSetCache(key: string, value: unknown): Promise<void>
}

/** LiteLLM's `call_type`, for the calls llm-onion makes. */
export type ProxyCallType = 'completion' | 'embeddings'

/** LiteLLM's `data`: the request body, plus the call's `litellm_call_id`. */
export type HookRequestData = (ChatRequest | EmbeddingRequest) & { litellm_call_id: string } & Record<string, unknown>

type MaybePromise<Value> = Value | Promise<Value>

/** The camelCased proxy hooks; a handler may define any of them. */
export interface ProxyHookMethods {
  /**
   * Before the call. Return a changed `data` (or change it in place and return nothing) to change the
   * request; throw (or return an Error) to reject it; return a string to answer a chat call with that
   * text instead of calling the model, as LiteLLM does.
   */
  asyncPreCallHook?(userApiKeyDict: UserApiKeyAuth, cache: HookCache, data: HookRequestData, callType: ProxyCallType): MaybePromise<unknown>
  /** Beside the provider call; throwing rejects the request and cancels the provider call. */
  asyncModerationHook?(data: HookRequestData, userApiKeyDict: UserApiKeyAuth, callType: ProxyCallType): MaybePromise<unknown>
  /** After a successful non-streamed call: return a reply to replace it; throw to fail the request. */
  asyncPostCallSuccessHook?(data: HookRequestData, userApiKeyDict: UserApiKeyAuth, response: ChatResponse | EmbeddingResponse): MaybePromise<unknown>
  /** After a failed call (a rejection by a hook included); what it throws is reported, never sent. */
  asyncPostCallFailureHook?(requestData: HookRequestData, originalException: Error, userApiKeyDict: UserApiKeyAuth, tracebackStr?: string): MaybePromise<unknown>
  /**
   * Per stream chunk. `response` is the text streamed so far, this chunk's included (LiteLLM's
   * `response` string); `chunk` is the chunk itself. Return a chunk to replace it; throw to end the
   * stream with an error.
   */
  asyncPostCallStreamingHook?(userApiKeyDict: UserApiKeyAuth, response: string, chunk: ChatChunk): MaybePromise<ChatChunk | void | undefined>
  /** Wraps the stream: receives the chunks as an async iterable and returns (yields) the chunks to send. */
  asyncPostCallStreamingIteratorHook?(userApiKeyDict: UserApiKeyAuth, response: AsyncIterable<ChatChunk>, requestData: HookRequestData): AsyncIterable<ChatChunk>
}

/**
 * The proxy hook method names, with LiteLLM's snake_case name of each.
 *
 * @example
 * ```ts
 * proxyHookNames.asyncPreCallHook // 'async_pre_call_hook'
 * ```
 */
export const proxyHookNames = {
  asyncPreCallHook: 'async_pre_call_hook',
  asyncModerationHook: 'async_moderation_hook',
  asyncPostCallSuccessHook: 'async_post_call_success_hook',
  asyncPostCallFailureHook: 'async_post_call_failure_hook',
  asyncPostCallStreamingHook: 'async_post_call_streaming_hook',
  asyncPostCallStreamingIteratorHook: 'async_post_call_streaming_iterator_hook',
} as const satisfies Record<keyof ProxyHookMethods, string>

/**
 * FastAPI's `HTTPException`, as LiteLLM hooks raise it to reject a request: the proxy answers with
 * `status_code` and `detail` as the message, in OpenAI's error shape.
 *
 * @example
 * ```ts
 * class Blocker extends CustomLogger {
 *   override async asyncPreCallHook(_auth: UserApiKeyAuth, _cache: HookCache, data: HookRequestData) {
 *     if (JSON.stringify(data.messages).includes('secret project')) throw new HTTPException({ status_code: 403, detail: 'Not allowed to talk about it.' })
 *     return data
 *   }
 * }
 * ```
 */
export class HTTPException extends Error {
  readonly status_code: number
  readonly detail: unknown
  constructor(init: { status_code: number; detail?: unknown }) {
    super(typeof init.detail === 'string' ? init.detail : init.detail === undefined ? `HTTP ${init.status_code}` : JSON.stringify(init.detail))
    this.name = 'HTTPException'
    this.status_code = init.status_code
    this.detail = init.detail
  }
}

/**
 * What a hook threw, as the error the call fails with: an llm-onion error as it is; any other error
 * with its `status_code` (an {@link HTTPException}), `statusCode` or `status`, else 500 — LiteLLM's
 * proxy answers an exception without a status code with 500. Never retried.
 *
 * @example
 * ```ts
 * proxyHookRejection(new HTTPException({ status_code: 400, detail: 'blocked' })).status // 400
 * ```
 */
export function proxyHookRejection(thrown: unknown, hook: string): LlmError {
  if (isLlmError(thrown)) return thrown as LlmError
  const error = thrown instanceof Error ? thrown : new Error(String(thrown))
  const record = error as unknown as Record<string, unknown>
  const status = [record.status_code, record.statusCode, record.status].find((value) => typeof value === 'number' && value >= 400 && value <= 599) as number | undefined
  const message = error.message || `${hook} rejected the request.`
  return errorForStatus(status ?? 500, message, { retryable: false, cause: error, code: 'rejected_by_hook' })
}

/**
 * One in-memory {@link HookCache}; `customLogger()` makes one per handler.
 *
 * @example
 * ```ts
 * const cache = createHookCache()
 * await cache.asyncSetCache('calls', 1)
 * ```
 */
export function createHookCache(): HookCache {
  const store = new Map<string, unknown>()
  return {
    get: (key) => store.get(key),
    set: (key, value) => void store.set(key, value),
    delete: (key) => void store.delete(key),
    asyncGetCache: async (key) => store.get(key),
    asyncSetCache: async (key, value) => void store.set(key, value),
  }
}
