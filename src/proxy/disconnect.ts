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

/**
 * The response of a non-streamed call, kept on the `http` facts the call carries as `ctx.http` under
 * a key of this module. Not a `WeakMap`: V8's young collections did not free its entries (measured
 * with `--trace-gc`), so every response and request body lived until the next full collection, and
 * at 1,000 requests/s each young collection copied megabytes of them (pauses of 5-7 ms instead of
 * under 1 ms, which set the proxy's p99).
 */
const responseKey = Symbol('response')
type Watched = HttpInfo & { [responseKey]?: ServerResponse }

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
  ;(http as Watched)[responseKey] = response
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
export const abortOnDisconnect: Middleware = function abortOnDisconnect(ctx, next) {
  const response = (ctx.http as Watched | undefined)?.[responseKey]
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
