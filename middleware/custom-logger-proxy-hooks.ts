/**
 * The layer behind a handler's LiteLLM proxy hooks (src/custom-logger-proxy-hooks.ts), which
 * `customLogger(handler)` places inside its log hooks: so the log hooks see the changed request, the
 * changed reply and a rejection as the call's failure.
 */
import type { Context } from '../src/context'
import { definedMethod, handlerName } from '../src/litellm/custom-logger'
import {
  createHookCache,
  proxyHookNames,
  proxyHookRejection,
  type HookRequestData,
  type ProxyHookMethods,
  type UserApiKeyAuth,
} from '../src/litellm/proxy-hooks'
import { toError } from '../src/errors'
import { runHook } from '../src/integrations/run-hook'
import type { ChatChunk, ChatResponse } from '../src/schema'
import { wrapChunkStream } from '../src/streamed-call'
import type { Middleware } from '../src/types'

type HookName = keyof ProxyHookMethods
type AnyMethod = (...args: unknown[]) => unknown

/**
 * True when `handler` defines at least one proxy hook of its own (not the base class's).
 *
 * @example
 * ```ts
 * hasProxyHooks({ asyncPreCallHook: async (_auth, _cache, data) => data }) // true
 * ```
 */
export function hasProxyHooks(handler: object): boolean {
  return (Object.keys(proxyHookNames) as HookName[]).some((name) => definedMethod(handler, name))
}

/**
 * The layer running `handler`'s proxy hooks, or undefined when it defines none. Pre-call and
 * moderation rejections, and errors of the success and streaming hooks, fail the call with the
 * error's status (see `proxyHookRejection`); the failure hook is isolated like a log hook.
 *
 * @example
 * ```ts
 * const layer = proxyHooksLayer(new ModerationHandler(), { timeoutMs: 10_000 })
 * if (layer) client.use(layer)
 * ```
 */
export function proxyHooksLayer(handler: object, settings: { timeoutMs: number }): Middleware | undefined {
  const hook = (name: HookName): AnyMethod | undefined =>
    definedMethod(handler, name) ? ((handler as Record<string, AnyMethod>)[name]!.bind(handler) as AnyMethod) : undefined
  const pre = hook('asyncPreCallHook')
  const moderation = hook('asyncModerationHook')
  const success = hook('asyncPostCallSuccessHook')
  const failure = hook('asyncPostCallFailureHook')
  const perChunk = hook('asyncPostCallStreamingHook')
  const iterator = hook('asyncPostCallStreamingIteratorHook')
  if (!pre && !moderation && !success && !failure && !perChunk && !iterator) return undefined
  const name = handlerName(handler)
  const label = (method: HookName) => `${name}.${method}`
  const cache = createHookCache()
  const failureSettings = { await: true, timeoutMs: settings.timeoutMs }

  return async function customLoggerProxyHooks(ctx: Context, next: () => Promise<void>): Promise<void> {
    const auth = userApiKeyAuth(ctx)
    const callType = ctx.type === 'chat' ? 'completion' : 'embeddings'
    let data = requestData(ctx)
    try {
      if (pre) {
        const returned = await rejectOnThrow(() => pre(auth, cache, data, callType), label('asyncPreCallHook'))
        if (returned instanceof Error) throw proxyHookRejection(returned, label('asyncPreCallHook'))
        if (typeof returned === 'string' && ctx.type === 'chat') {
          // LiteLLM answers a chat call whose pre-call hook returned a string with that text.
          ctx.response = cannedReply(ctx.request.model, returned)
          return
        }
        if (returned !== null && typeof returned === 'object') data = returned as HookRequestData
        applyRequest(ctx, data)
      }
      if (ctx.streaming && iterator) wrapChunkStream(ctx, (chunks) => iterator(auth, chunks, data) as AsyncIterable<ChatChunk>)
      if (ctx.streaming && perChunk) watchChunks(ctx, perChunk, auth, label('asyncPostCallStreamingHook'))
      if (moderation) await withModeration(ctx, next, () => moderation(data, auth, callType), label('asyncModerationHook'))
      else await next()
      if (success && !ctx.streaming && ctx.response) {
        const returned = await rejectOnThrow(() => success(data, auth, ctx.response), label('asyncPostCallSuccessHook'))
        if (returned !== null && typeof returned === 'object') ctx.response = returned as typeof ctx.response
      }
    } catch (thrown) {
      const error = toError(thrown)
      ctx.error = error
      if (failure) await runHook(ctx, label('asyncPostCallFailureHook'), failureSettings, () => failure(data, error, auth, error.stack))
      throw error
    }
  }
}

async function rejectOnThrow(run: () => unknown, label: string): Promise<unknown> {
  try {
    return await run()
  } catch (error) {
    throw proxyHookRejection(error, label)
  }
}

/**
 * Runs the moderation hook beside the call, as LiteLLM's during-call hooks run. A rejection aborts
 * the provider call (through a signal of this layer's, so the call is not taken for cancelled by its
 * caller) and becomes the call's error; a stream's first chunk waits for the verdict, so a rejected
 * stream is answered with the error's status rather than cut short.
 */
async function withModeration(ctx: Context, next: () => Promise<void>, run: () => unknown, label: string): Promise<void> {
  const parent = ctx.signal
  const controller = new AbortController()
  const forwardAbort = () => controller.abort(parent.reason)
  if (parent.aborted) forwardAbort()
  else parent.addEventListener('abort', forwardAbort, { once: true })
  let rejection: Error | undefined
  const verdict = Promise.resolve()
    .then(run)
    .then(
      () => undefined,
      (error: unknown) => {
        rejection = proxyHookRejection(error, label)
        controller.abort(rejection)
      },
    )
  if (ctx.streaming) {
    wrapChunkStream(ctx, async function* moderatedStream(chunks) {
      let passed = false
      for await (const chunk of chunks) {
        if (!passed) {
          await verdict
          if (rejection) throw rejection
          passed = true
        }
        yield chunk
      }
    })
  }
  ctx.signal = controller.signal
  try {
    await next()
  } catch (error) {
    await verdict
    throw rejection ?? error
  } finally {
    ctx.signal = parent
    parent.removeEventListener('abort', forwardAbort)
  }
  await verdict
  if (rejection) throw rejection
}

function watchChunks(ctx: Context, hook: AnyMethod, auth: UserApiKeyAuth, label: string): void {
  let text = ''
  ctx.onChunk(async (chunk: ChatChunk) => {
    for (const choice of chunk.choices) text += choice.delta?.content ?? ''
    const returned = await rejectOnThrow(() => hook(auth, text, chunk), label)
    return returned !== null && typeof returned === 'object' ? (returned as ChatChunk) : undefined
  })
}

/** LiteLLM's `data`: a copy of the request with the call id; hooks may change it in place. */
function requestData(ctx: Context): HookRequestData {
  return { ...(ctx.request as Record<string, unknown>), litellm_call_id: ctx.id } as HookRequestData
}

/** The hook's `data` becomes the request (without the call id the hook was shown). */
function applyRequest(ctx: Context, data: HookRequestData): void {
  const { litellm_call_id: _callId, ...request } = data
  ctx.request = request as unknown as typeof ctx.request
}

function userApiKeyAuth(ctx: Context): UserApiKeyAuth {
  const auth: UserApiKeyAuth = { metadata: ctx.metadata }
  if (ctx.user !== undefined) auth.user_id = ctx.user
  if (ctx.http) auth.request_route = ctx.http.url.split('?')[0]
  return auth
}

function cannedReply(model: string, content: string): ChatResponse {
  return {
    id: `chatcmpl-hook-${Date.now().toString(36)}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
  }
}
