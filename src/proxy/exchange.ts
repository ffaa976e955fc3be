/**
 * The link between an HTTP exchange and the call it carries. The handler gets the call's context
 * through the call's `onContext` option, so it can write a reply the way the upstream sent it (asked
 * for with `keepRawReply`), name the call on the response, and cancel the call when the client goes
 * away before its answer is complete: the upstream request is closed and the call is recorded as
 * cancelled.
 *
 * The exchange aborts the call's own signal rather than the handler linking one more `AbortSignal` per
 * request to the client: on Node 20 creating an `AbortSignal` costs microseconds, and a signal per
 * request was a measurable share of the proxy's CPU (docs/proxy.md, "Performance").
 */
import { randomUUID } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import type { Context } from '../context'
import { AbortError } from '../errors'

/**
 * One HTTP exchange's link to the call it carries: pass {@link Exchange.onContext} as the call's
 * `onContext` option and the exchange holds the call's context from then on.
 */
export interface Exchange {
  /** The call's context, once the client created it (undefined for a request refused before its call began). */
  readonly call: Context | undefined
  /** For `CallOptions.onContext`. */
  readonly onContext: (ctx: Context) => void
}

/**
 * The exchange of `response`. With `cancelOnClose`, its call is cancelled when `response` closes
 * before it is complete (the upstream request is closed, the call recorded as cancelled), and every
 * layer sees `ctx.signal` aborted with an {@link AbortError}. Streamed calls need no watch: their
 * handler stops reading the stream, which cancels them.
 *
 * @example
 * ```ts
 * const exchange = createExchange(response, true)
 * const reply = await client.chat(body, { http, keepRawReply: true, onContext: exchange.onContext })
 * identify(response, exchange.call)
 * ```
 */
export function createExchange(response: ServerResponse, cancelOnClose: boolean): Exchange {
  const exchange: { call: Context | undefined; onContext: (ctx: Context) => void } = {
    call: undefined,
    onContext(ctx) {
      exchange.call = ctx
      if (!cancelOnClose) return
      const cancel = () => {
        if (!response.writableFinished && !ctx.signal.aborted) ctx.abortController.abort(new AbortError())
      }
      // The client may have gone while the body was read or an earlier call of this request ran.
      if (response.destroyed) cancel()
      else response.once('close', cancel)
    },
  }
  return exchange
}

/**
 * The body `reply` came in from the upstream, when `call` (made with `keepRawReply`) got `reply` by
 * parsing that body and no layer put another object in its place; otherwise undefined. Only for
 * stacks whose layers never edit a reply in place (the proxy's built-in ones): a change inside the
 * object would not show in the text.
 *
 * @example
 * ```ts
 * const reply = await client.chat(body, { keepRawReply: true, onContext: exchange.onContext })
 * sendJson(response, 200, receivedText(exchange.call, reply) ?? JSON.stringify(reply))
 * ```
 */
export function receivedText(call: Context | undefined, reply: unknown): string | undefined {
  const received = call?.receivedReply
  return received !== undefined && received.parsed === reply ? received.text : undefined
}

/**
 * Names the call on its response, as LiteLLM does: `x-litellm-call-id` (the call's `ctx.id`, the id
 * its events carry; a fresh one for a request refused before its call began) and, when the upstream
 * sent a request id, `llm_provider-x-request-id` (LiteLLM's spelling) and `x-request-id` (which the
 * OpenAI SDKs read as `_request_id`).
 */
export function identify(response: ServerResponse, call?: Context, error?: unknown): void {
  if (response.headersSent) return
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
