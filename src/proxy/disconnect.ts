/**
 * A client that goes away before its answer is complete cancels its call: the upstream request is
 * closed and the call is recorded as cancelled. The proxy's outermost layer aborts the call's own
 * signal when the response closes early, rather than the handler linking one more `AbortSignal` per
 * request to the client: on Node 20 creating an `AbortSignal` costs microseconds, and a signal per
 * request was a measurable share of the proxy's CPU (docs/proxy.md, "Performance").
 */
import type { ServerResponse } from 'node:http'
import { AbortError } from '../errors'
import type { HttpInfo, Middleware } from '../types'

/** The response of every non-streamed call in flight, by the `http` facts the call carries as `ctx.http`. */
const responses = new WeakMap<HttpInfo, ServerResponse>()

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
  responses.set(http, response)
}

/**
 * The layer that acts on {@link watchDisconnect}; the proxy puts it outermost, so every layer sees
 * `ctx.signal` aborted with an {@link AbortError} once the client is gone.
 *
 * @example
 * ```ts
 * const client = createClient({ providers, middleware: [abortOnDisconnect, ...layers] })
 * ```
 */
export const abortOnDisconnect: Middleware = async function abortOnDisconnect(ctx, next) {
  const response = ctx.http && responses.get(ctx.http)
  if (response) {
    const cancel = () => {
      if (!response.writableFinished && !ctx.signal.aborted) ctx.abortController.abort(new AbortError())
    }
    // The client may have gone while the body was read or an earlier call of this request ran.
    if (response.destroyed) cancel()
    else response.once('close', cancel)
  }
  await next()
}
