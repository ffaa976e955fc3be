/**
 * The provider's response headers of a call, kept only when a layer asked for them before `await
 * next()` (the cassette recorder of `llm-onion/testing` does). A call nobody asked for costs one
 * slot lookup in the provider and keeps nothing: the headers are not part of the event, and most
 * layers never need them.
 *
 * Providers that can see their reply's headers (`openai()` on both transports, `anthropic()`) keep
 * them here; the Gemini and Bedrock SDKs do not expose them, so their calls have none.
 */
import type { Context } from './context'

const wantedKey = Symbol('response headers wanted')
const headersKey = Symbol('response headers')

/**
 * Asks the provider of this call to keep its response headers; call it before `await next()` and
 * read them after with {@link responseHeadersOf}.
 *
 * @example
 * ```ts
 * client.use(async (ctx, next) => {
 *   askForResponseHeaders(ctx)
 *   await next()
 *   console.log(responseHeadersOf(ctx)?.['x-request-id'])
 * })
 * ```
 */
export function askForResponseHeaders(ctx: Context): void {
  ctx.setSlot(wantedKey, true)
}

/**
 * True when a layer asked for the response headers of this call (providers check before they copy them).
 *
 * @example
 * ```ts
 * if (wantsResponseHeaders(call.context)) keepResponseHeaders(call.context, response.headers)
 * ```
 */
export function wantsResponseHeaders(ctx: Context | undefined): boolean {
  return ctx?.slot<boolean>(wantedKey) === true
}

/**
 * Providers: keeps the response headers of the latest attempt, names lower-cased, repeated names
 * joined with `, `. Accepts Node's header object or a WHATWG `Headers`.
 *
 * @example
 * ```ts
 * keepResponseHeaders(call.context, { 'x-request-id': 'req_1', 'content-type': 'application/json' })
 * ```
 */
export function keepResponseHeaders(ctx: Context, headers: Headers | Record<string, string | string[] | undefined>): void {
  const kept: Record<string, string> = {}
  if (typeof (headers as Headers).forEach === 'function' && typeof (headers as Headers).get === 'function') {
    ;(headers as Headers).forEach((value, name) => (kept[name.toLowerCase()] = value))
  } else {
    for (const name in headers) {
      const value = (headers as Record<string, string | string[] | undefined>)[name]
      if (value !== undefined) kept[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value
    }
  }
  ctx.setSlot(headersKey, kept)
}

/**
 * The response headers the provider kept for this call (the latest attempt's), or undefined when
 * nobody asked, the provider cannot see them, or no reply came. As the provider sent them:
 * strip credentials (`stripSecretHeaders`) before they leave the process.
 *
 * @example
 * ```ts
 * const remaining = responseHeadersOf(ctx)?.['x-ratelimit-remaining-requests']
 * ```
 */
export function responseHeadersOf(ctx: Context): Readonly<Record<string, string>> | undefined {
  return ctx.slot<Record<string, string>>(headersKey)
}

/**
 * Providers on an SDK whose calls return a promise with `withResponse()` (the `openai` and
 * `@anthropic-ai/sdk` SDKs): the reply, with its response headers kept on the call when a layer
 * asked for them; otherwise the SDK's promise as it is.
 *
 * @example
 * ```ts
 * const reply = await withResponseHeaders(sdk.chat.completions.create(body, { signal: call.signal }), call.context)
 * ```
 */
export function withResponseHeaders<T>(reply: PromiseLike<T> & { withResponse(): Promise<{ data: T; response: Response }> }, ctx: Context | undefined): PromiseLike<T> {
  if (!ctx || !wantsResponseHeaders(ctx)) return reply
  return reply.withResponse().then(({ data, response }) => {
    keepResponseHeaders(ctx, response.headers)
    return data
  })
}
