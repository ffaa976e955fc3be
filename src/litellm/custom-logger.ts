/**
 * LiteLLM's `CustomLogger`, camelCased: a base class whose hook methods a handler overrides, so a
 * LiteLLM handler ports by renaming its methods; the `kwargs` they receive are built in ./kwargs.ts.
 * `customLogger(handler)` (llm-onion/middleware) turns a handler into a layer.
 */
import type { ChatChunk, Message } from '../schema'
import type { LoggerKwargs, LoggerResponse } from './kwargs'
import { proxyHookNames, type HookCache, type HookRequestData, type ProxyCallType, type ProxyHookMethods, type UserApiKeyAuth } from './proxy-hooks'

export { buildLoggerKwargs } from './kwargs'
export type { LoggerKwargs, LoggerResponse, ProxyServerRequest } from './kwargs'

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
export class CustomLogger implements Required<LoggerMethods>, Required<ProxyHookMethods> {
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
  // LiteLLM's proxy hooks (src/custom-logger-proxy-hooks.ts): what they return or throw reaches the call.
  /** Before the call: return a changed request, throw to reject it, or return a string to answer with it. */
  async asyncPreCallHook(_userApiKeyDict: UserApiKeyAuth, _cache: HookCache, data: HookRequestData, _callType: ProxyCallType): Promise<unknown> {
    return data
  }
  /** Beside the provider call: throw to reject the request (the provider call is cancelled). */
  async asyncModerationHook(_data: HookRequestData, _userApiKeyDict: UserApiKeyAuth, _callType: ProxyCallType): Promise<unknown> {
    return undefined
  }
  /** After a successful non-streamed call: return a reply to replace it, throw to fail the request. */
  async asyncPostCallSuccessHook(_data: HookRequestData, _userApiKeyDict: UserApiKeyAuth, response: LoggerResponse): Promise<unknown> {
    return response
  }
  /** After a failed call, a rejection by a hook included. */
  async asyncPostCallFailureHook(_requestData: HookRequestData, _originalException: Error, _userApiKeyDict: UserApiKeyAuth, _tracebackStr?: string): Promise<unknown> {
    return undefined
  }
  /** Per stream chunk, with the text so far: return a chunk to replace it, throw to end the stream. */
  async asyncPostCallStreamingHook(_userApiKeyDict: UserApiKeyAuth, _response: string, chunk: ChatChunk): Promise<ChatChunk | void> {
    return chunk
  }
  /** Wraps the chunk stream: yield the chunks to send. */
  async *asyncPostCallStreamingIteratorHook(_userApiKeyDict: UserApiKeyAuth, response: AsyncIterable<ChatChunk>, _requestData: HookRequestData): AsyncIterable<ChatChunk> {
    yield* response
  }
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

/** True when `handler` defines `name` itself (not the base class's empty method). */
export function definedMethod(handler: object, name: string): boolean {
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
  ...Object.fromEntries(Object.entries(proxyHookNames).map(([camel, snake]) => [snake, camel])),
}

/** A hint for a handler that kept LiteLLM's snake_case method names, or '' when it did not. */
export function snakeCaseHint(handler: object): string {
  const found = Object.keys(snakeCaseNames).filter((name) => typeof (handler as Record<string, unknown>)[name] === 'function')
  if (found.length === 0) return ''
  return ` It has LiteLLM's snake_case methods (${found.join(', ')}): rename them to ${found.map((name) => snakeCaseNames[name]).join(', ')}.`
}
