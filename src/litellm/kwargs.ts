/**
 * The `kwargs` dictionary LiteLLM hands a `CustomLogger` hook, with LiteLLM's keys, built from the
 * standard event (already redacted and without credentials) so a LiteLLM handler reads what it read.
 */
import type { Context } from '../context'
import type { CallEvent } from '../event'
import { redactBody } from '../redact'
import type { ChatResponse, EmbeddingResponse } from '../schema'

/** The reply a success hook receives (redacted copy when redaction is on). */
export type LoggerResponse = ChatResponse | EmbeddingResponse

/** `kwargs.litellm_params.proxy_server_request`: the HTTP request that reached the proxy, credentials removed. */
export interface ProxyServerRequest {
  url: string
  method: string
  headers: Record<string, string>
  body?: unknown
}

/**
 * What LiteLLM calls `kwargs`, with LiteLLM's keys. Outcome keys (`response_cost`, `exception`,
 * `standard_logging_object`, `end_time`) are set once the call has ended; `completion_start_time`
 * once the reply has begun.
 */
export interface LoggerKwargs {
  /** The model as requested (`openai/gpt-4o-mini`). */
  model: string
  /** Chat prompt (content `"[redacted]"` under redaction). */
  messages?: Array<Record<string, unknown>>
  /** Embedding input. */
  input?: unknown
  user?: string
  /** The call's id (`ctx.id`, the event's `id`). */
  litellm_call_id: string
  /** Groups the calls of one operation (`metadata.trace_id`, else the call id). */
  litellm_trace_id: string
  call_type: 'acompletion' | 'aembedding'
  stream: boolean
  /** Model parameters of the request (temperature, max_tokens, tools, ...). */
  optional_params: Record<string, unknown>
  custom_llm_provider?: string
  api_base?: string
  cache_hit: boolean
  start_time: Date
  end_time?: Date
  /**
   * When the reply began, as LiteLLM sets it: a stream's first chunk (from that chunk on, stream hooks
   * included), else the end time of a call that succeeded. Absent before then, and on a failure before
   * any chunk arrived.
   */
  completion_start_time?: Date
  litellm_params: {
    /** The request's `metadata`, credential keys removed. */
    metadata: Record<string, unknown>
    /** Proxy only. */
    proxy_server_request?: ProxyServerRequest
    /** Proxy only: `model_info` of the config entry. */
    model_info?: Record<string, unknown>
    api_base?: string
    custom_llm_provider?: string
  }
  /** USD; absent (never 0) when the price is unknown; 0 when a cache answered the call. */
  response_cost?: number
  /**
   * USD the cache saved: what the cached part of the reply would have cost (LiteLLM's
   * `saved_cache_cost`); 0 when no cache answered or its price is unknown. Set with `end_time`.
   */
  saved_cache_cost?: number
  /** Failure only: the error the call failed with (an `AbortError` for a cancelled call). */
  exception?: Error
  /** Failure only: the error's stack. */
  traceback_exception?: string
  /** The standard event of the finished call (success and failure hooks). */
  standard_logging_object?: CallEvent
}

/**
 * LiteLLM's `kwargs` for a hook, built from the call's event (already redacted and without
 * credentials). `outcome` adds what is known once the call or attempt has ended.
 *
 * @example
 * ```ts
 * const kwargs = buildLoggerKwargs(ctx, ctx.toEvent(), 'call', false)
 * await handler.asyncLogSuccessEvent(kwargs, ctx.response, kwargs.start_time, kwargs.end_time!)
 * ```
 */
export function buildLoggerKwargs(ctx: Context, event: CallEvent, outcome: 'none' | 'attempt' | 'call', redactContent: boolean): LoggerKwargs {
  const kwargs: LoggerKwargs = {
    model: event.model,
    messages: event.messages,
    input: event.input,
    user: event.user,
    litellm_call_id: event.id,
    litellm_trace_id: event.traceId,
    call_type: event.type === 'chat' ? 'acompletion' : 'aembedding',
    stream: event.streaming,
    optional_params: event.parameters,
    custom_llm_provider: event.provider,
    api_base: event.apiBase,
    cache_hit: event.cacheHit,
    start_time: new Date(event.startTime),
    litellm_params: {
      metadata: event.metadata,
      model_info: event.modelInfo,
      api_base: event.apiBase,
      custom_llm_provider: event.provider,
    },
  }
  // LiteLLM's stream wrapper stamps the first chunk; its success handler falls back on the end time.
  // Read from the context: an event built before the first chunk may be the one shared here.
  const firstChunk = ctx.timing.firstChunk ?? event.firstChunkTime
  if (firstChunk !== undefined) kwargs.completion_start_time = new Date(firstChunk)
  if (event.http) {
    kwargs.litellm_params.proxy_server_request = {
      url: event.http.url,
      method: event.http.method,
      headers: event.http.headers,
      body: ctx.http?.body === undefined ? undefined : redactBody(ctx.http.body, redactContent),
    }
  }
  if (outcome === 'none') return kwargs
  kwargs.end_time = new Date(event.endTime)
  if (kwargs.completion_start_time === undefined && event.status === 'success') {
    kwargs.completion_start_time = kwargs.end_time
    // A stream a layer answered by itself is delivered after this hook: its chunks carry the moment logged here.
    if (event.streaming) ctx.timing.firstChunk ??= event.endTime
  }
  if (event.cost) kwargs.response_cost = event.cost.total
  kwargs.saved_cache_cost = event.savedCost?.total ?? 0
  if (ctx.error) {
    kwargs.exception = ctx.error
    kwargs.traceback_exception = ctx.error.stack ?? `${ctx.error.name}: ${ctx.error.message}`
  }
  if (outcome === 'call') kwargs.standard_logging_object = event
  return kwargs
}
