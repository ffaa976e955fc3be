/**
 * The link between an HTTP exchange and the call it carries. The proxy's outermost layer records
 * the call's context on the request's `http` facts, so the handler can write a reply the way the
 * upstream sent it, and cancels the call when the client goes away before its answer is complete:
 * the upstream request is closed and the call is recorded as cancelled.
 *
 * The layer aborts the call's own signal rather than the handler linking one more `AbortSignal` per
 * request to the client: on Node 20 creating an `AbortSignal` costs microseconds, and a signal per
 * request was a measurable share of the proxy's CPU (docs/proxy.md, "Performance").
 */
import { randomUUID } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import type { Context } from '../context'
import { AbortError } from '../errors'
import type { HttpInfo, Middleware } from '../types'

/**
 * Kept on the `http` facts the call carries as `ctx.http`, under keys of this module. Not a
 * `WeakMap`: V8's young collections did not free its entries (measured with `--trace-gc`), so every
 * response and request body lived until the next full collection, and at 1,000 requests/s each
 * young collection copied megabytes of them (pauses of 5-7 ms instead of under 1 ms, which set the
 * proxy's p99).
 */
const responseKey = Symbol('response')
const contextKey = Symbol('context')
type Exchange = HttpInfo & { [responseKey]?: ServerResponse; [contextKey]?: Context }

/**
 * Makes the call started with `options.http === http` cancel when `response` closes before it is
 * complete. Streamed calls need no watch: their handler stops reading the stream, which cancels them.
 *
 * @example
 * ```ts
 * const http = httpInfo(request, body)
 * watchDisconnect(http, response)
 * await client.chat(body, { http })
 * ```
 */
export function watchDisconnect(http: HttpInfo, response: ServerResponse): void {
  ;(http as Exchange)[responseKey] = response
}

/**
 * The body `reply` came in from the upstream, when the call that answered it with `http` got
 * `reply` by parsing that body and no layer put another object in its place; otherwise undefined.
 * Only for stacks whose layers never edit a reply in place (the proxy's built-in ones): a change
 * inside the object would not show in the text.
 *
 * @example
 * ```ts
 * const reply = await client.chat(body, { http })
 * sendJson(response, 200, receivedText(http, reply) ?? JSON.stringify(reply))
 * ```
 */
export function receivedText(http: HttpInfo, reply: unknown): string | undefined {
  const received = (http as Exchange)[contextKey]?.receivedReply
  return received !== undefined && received.parsed === reply ? received.text : undefined
}

/**
 * The call that `http` carried, once the onion started it (undefined before: a request refused
 * before its call began, by validation for example).
 *
 * @example
 * ```ts
 * response.setHeader('x-litellm-call-id', exchangeCall(http)?.id ?? randomUUID())
 * ```
 */
export function exchangeCall(http: HttpInfo): Context | undefined {
  return (http as Exchange)[contextKey]
}

/**
 * The layer that acts on {@link watchDisconnect} and makes {@link receivedText} possible; the proxy
 * puts it outermost, so every layer sees `ctx.signal` aborted with an {@link AbortError} once the
 * client is gone.
 *
 * @example
 * ```ts
 * const client = createClient({ providers, middleware: [exchangeLayer, ...layers] })
 * ```
 */
export const exchangeLayer: Middleware = function exchangeLayer(ctx, next) {
  const http = ctx.http as Exchange | undefined
  if (http) http[contextKey] = ctx
  const response = http?.[responseKey]
  if (response) {
    const cancel = () => {
      if (!response.writableFinished && !ctx.signal.aborted) ctx.abortController.abort(new AbortError())
    }
    // The client may have gone while the body was read or an earlier call of this request ran.
    if (response.destroyed) cancel()
    else response.once('close', cancel)
  }
  return next()
}

/**
 * Names the call on its response, as LiteLLM does: `x-litellm-call-id` (the call's `ctx.id`, the id
 * its events carry; a fresh one for a request refused before its call began) and, when the upstream
 * sent a request id, `llm_provider-x-request-id` (LiteLLM's spelling) and `x-request-id` (which the
 * OpenAI SDKs read as `_request_id`).
 */
export function identify(response: ServerResponse, http?: HttpInfo, error?: unknown): void {
  if (response.headersSent) return
  const call = http === undefined ? undefined : exchangeCall(http)
  response.setHeader('x-litellm-call-id', call?.id ?? randomUUID())
  const upstream = upstreamRequestIdOf(error) ?? call?.upstreamRequestId
  if (upstream !== undefined) {
    response.setHeader('llm_provider-x-request-id', upstream)
    response.setHeader('x-request-id', upstream)
  }
}

/** The upstream's request id on a failed call: the OpenAI SDK's error (the cause of ours) holds it. */
function upstreamRequestIdOf(error: unknown): string | undefined {
  const cause = (error as { cause?: { requestID?: unknown } } | undefined)?.cause
  return typeof cause?.requestID === 'string' ? cause.requestID : undefined
}
