/**
 * LiteLLM's `CustomLogger`, camelCased: a base class whose hook methods a handler overrides, and the
 * `kwargs` dictionary LiteLLM hands them, built from the standard event so a LiteLLM handler ports by
 * renaming its methods. `customLogger(handler)` (llm-onion/middleware) turns a handler into a layer.
 */
import type { Context } from '../context'
import type { CallEvent } from '../event'
import { redactBody } from '../redact'
import type { ChatChunk, ChatResponse, EmbeddingResponse, Message } from '../schema'

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
 * `standard_logging_object`, `end_time`) are set once the call has ended.
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
  /** USD; absent (never 0) when the price is unknown. */
  response_cost?: number
  /** Failure only: the error the call failed with (an `AbortError` for a cancelled call). */
  exception?: Error
  /** Failure only: the error's stack. */
  traceback_exception?: string
  /** The standard event of the finished call (success and failure hooks). */
  standard_logging_object?: CallEvent
}

type Hook<Args extends unknown[]> = (...args: Args) => void | Promise<void>
type OutcomeHook<Response> = Hook<[kwargs: LoggerKwargs, response: Response, startTime: Date, endTime: Date]>

/** The camelCased LiteLLM hook methods; a handler object may define any of them. */
export interface LoggerMethods {
  logPreApiCall?: Hook<[model: string, messages: Message[] | undefined, kwargs: LoggerKwargs]>
  logPostApiCall?: OutcomeHook<LoggerResponse | undefined>
  logSuccessEvent?: OutcomeHook<LoggerResponse>
  logFailureEvent?: OutcomeHook<undefined>
  logStreamEvent?: OutcomeHook<ChatChunk>
  asyncLogPreApiCall?: Hook<[model: string, messages: Message[] | undefined, kwargs: LoggerKwargs]>
  asyncLogPostApiCall?: OutcomeHook<LoggerResponse | undefined>
  asyncLogSuccessEvent?: OutcomeHook<LoggerResponse>
  asyncLogFailureEvent?: OutcomeHook<undefined>
  asyncLogStreamEvent?: OutcomeHook<ChatChunk>
}

/**
 * Base class of LiteLLM-style handlers: override the hooks you need. For each moment exactly one
 * method is called: the `async...` one when the subclass defines it, else the sync one, never both.
 * Errors in hooks never reach the call; they go to the client's `onHookError`.
 *
 * @example
 * ```ts
 * class CostTracker extends CustomLogger {
 *   override async asyncLogSuccessEvent(kwargs: LoggerKwargs) {
 *     console.log(kwargs.litellm_call_id, kwargs.response_cost ?? 'cost unknown')
 *   }
 * }
 * client.use(customLogger(new CostTracker()))
 * ```
 */
export class CustomLogger implements Required<LoggerMethods> {
  /** Before the provider is called (per attempt when `customLogger(h).attempts` sits inside a retry). */
  logPreApiCall(_model: string, _messages: Message[] | undefined, _kwargs: LoggerKwargs): void {}
  /** After the provider answered or failed, before the success or failure hook. */
  logPostApiCall(_kwargs: LoggerKwargs, _response: LoggerResponse | undefined, _startTime: Date, _endTime: Date): void {}
  /** Once per successful call; for streams after the last chunk, with the assembled response. */
  logSuccessEvent(_kwargs: LoggerKwargs, _response: LoggerResponse, _startTime: Date, _endTime: Date): void {}
  /** Once per failed or cancelled call; `kwargs.exception` holds the error. */
  logFailureEvent(_kwargs: LoggerKwargs, _response: undefined, _startTime: Date, _endTime: Date): void {}
  /** Once per stream chunk, as it passes the layer. */
  logStreamEvent(_kwargs: LoggerKwargs, _chunk: ChatChunk, _startTime: Date, _endTime: Date): void {}
  async asyncLogPreApiCall(_model: string, _messages: Message[] | undefined, _kwargs: LoggerKwargs): Promise<void> {}
  async asyncLogPostApiCall(_kwargs: LoggerKwargs, _response: LoggerResponse | undefined, _startTime: Date, _endTime: Date): Promise<void> {}
  async asyncLogSuccessEvent(_kwargs: LoggerKwargs, _response: LoggerResponse, _startTime: Date, _endTime: Date): Promise<void> {}
  async asyncLogFailureEvent(_kwargs: LoggerKwargs, _response: undefined, _startTime: Date, _endTime: Date): Promise<void> {}
  async asyncLogStreamEvent(_kwargs: LoggerKwargs, _chunk: ChatChunk, _startTime: Date, _endTime: Date): Promise<void> {}
}

// The base class's own (empty) methods carry this marker, so a handler whose class extends another copy
// of llm-onion (a callback module loaded with its own install) is still read correctly: a method
// without the marker is the handler's own.
const baseMethod = Symbol.for('llm-onion.custom-logger.base-method')
for (const name of Object.getOwnPropertyNames(CustomLogger.prototype)) {
  const method = (CustomLogger.prototype as unknown as Record<string, unknown>)[name]
  if (name !== 'constructor' && typeof method === 'function') (method as unknown as Record<symbol, boolean>)[baseMethod] = true
}

/** The moments a handler can hook, and the sync / async method of each. */
export const loggerMoments = {
  preApiCall: ['logPreApiCall', 'asyncLogPreApiCall'],
  postApiCall: ['logPostApiCall', 'asyncLogPostApiCall'],
  success: ['logSuccessEvent', 'asyncLogSuccessEvent'],
  failure: ['logFailureEvent', 'asyncLogFailureEvent'],
  stream: ['logStreamEvent', 'asyncLogStreamEvent'],
} as const satisfies Record<string, readonly [keyof LoggerMethods, keyof LoggerMethods]>

export type LoggerMoment = keyof typeof loggerMoments

/** The one method chosen for a moment, and its name for hook errors (`CostTracker.asyncLogSuccessEvent`). */
export interface ChosenHook {
  label: string
  method: (...args: never[]) => unknown
}

/**
 * For each moment, the one method to call: the async twin when the handler defines it (an override of
 * the base class, or an own function on a plain object), else the sync one, else none.
 */
export function chooseLoggerHooks(handler: object): Partial<Record<LoggerMoment, ChosenHook>> {
  const name = handlerName(handler)
  const chosen: Partial<Record<LoggerMoment, ChosenHook>> = {}
  for (const [moment, [syncName, asyncName]] of Object.entries(loggerMoments) as Array<[LoggerMoment, readonly [keyof LoggerMethods, keyof LoggerMethods]]>) {
    const picked = definedMethod(handler, asyncName) ? asyncName : definedMethod(handler, syncName) ? syncName : undefined
    if (picked) chosen[moment] = { label: `${name}.${picked}`, method: (handler as Record<string, (...args: never[]) => unknown>)[picked]! }
  }
  return chosen
}

function definedMethod(handler: object, name: keyof LoggerMethods): boolean {
  const method = (handler as Record<string, unknown>)[name]
  return typeof method === 'function' && (method as unknown as Record<symbol, unknown>)[baseMethod] !== true
}

/** `MyHandler` for class instances, `customLogger` for plain objects. */
export function handlerName(handler: object): string {
  const name = (handler as { constructor?: { name?: string } }).constructor?.name
  return name && name !== 'Object' ? name : 'customLogger'
}

const snakeCaseNames: Record<string, string> = {
  log_pre_api_call: 'logPreApiCall',
  log_post_api_call: 'logPostApiCall',
  log_success_event: 'logSuccessEvent',
  log_failure_event: 'logFailureEvent',
  log_stream_event: 'logStreamEvent',
  async_log_pre_api_call: 'asyncLogPreApiCall',
  async_log_post_api_call: 'asyncLogPostApiCall',
  async_log_success_event: 'asyncLogSuccessEvent',
  async_log_failure_event: 'asyncLogFailureEvent',
  async_log_stream_event: 'asyncLogStreamEvent',
}

/** A hint for a handler that kept LiteLLM's snake_case method names, or '' when it did not. */
export function snakeCaseHint(handler: object): string {
  const found = Object.keys(snakeCaseNames).filter((name) => typeof (handler as Record<string, unknown>)[name] === 'function')
  if (found.length === 0) return ''
  return ` It has LiteLLM's snake_case methods (${found.join(', ')}): rename them to ${found.map((name) => snakeCaseNames[name]).join(', ')}.`
}

/**
 * LiteLLM's `kwargs` for a hook, built from the call's event (already redacted and without
 * credentials). `outcome` adds what is known once the call or attempt has ended.
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
  if (event.cost) kwargs.response_cost = event.cost.total
  if (ctx.error) {
    kwargs.exception = ctx.error
    kwargs.traceback_exception = ctx.error.stack ?? `${ctx.error.name}: ${ctx.error.message}`
  }
  if (outcome === 'call') kwargs.standard_logging_object = event
  return kwargs
}
