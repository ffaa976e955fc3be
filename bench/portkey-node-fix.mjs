// Preloaded into the Portkey gateway (`node --import ./bench/portkey-node-fix.mjs ...`) so it can
// stream on Node. Portkey re-wraps an upstream stream as `new Response(body, upstreamResponse)`;
// under @hono/node-server's Response that keeps the upstream's Headers object, which fetch made
// immutable, and Portkey's next `headers.append` throws "immutable" (every streamed call then fails
// with 500 "Something went wrong"). Giving streamed upstream responses mutable headers is the
// smallest change that lets it run; non-streamed responses are left untouched.
const originalFetch = globalThis.fetch
const OriginalResponse = globalThis.Response
globalThis.fetch = async function fetchWithMutableStreamHeaders(input, init) {
  const response = await originalFetch(input, init)
  if (!(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) return response
  return new OriginalResponse(response.body, { status: response.status, statusText: response.statusText, headers: new Headers(response.headers) })
}
