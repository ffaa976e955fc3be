/**
 * One chat request through the proxy's work without sockets, for the benchmarks that measure it in
 * one process (bench/proxy-request-work.ts, bench/request-thread-callbacks.ts): the body parsed, the
 * HTTP facts, the proxy's client with its layers, router and `http` transport, the reply body, with
 * `undici` answering the upstream's part from memory.
 */
import { Pool, type Dispatcher } from 'undici'
import type { Context } from '../src/context'
import { receivedText } from '../src/proxy/exchange'
import type { ProxyServer } from '../src/proxy/server'
import { stripSecretHeaders } from '../src/redact'
import type { HttpInfo } from '../src/types'
import { cannedResponse } from './contestants'

/** Where the proxy's `http` transport posts a chat completion. */
const upstreamPath = '/v1/chat/completions'

/**
 * From now on, every `undici` pool answers a chat completion at once, in a microtask, as a keep-alive
 * connection with the reply waiting would (the canned reply of the in-process benchmark); requests to
 * any other path (an integration's, to its receiver) go out as before.
 */
export function answerUpstreamFromMemory(): void {
  const replyBody = Buffer.from(JSON.stringify(cannedResponse))
  const replyHeaders = [Buffer.from('content-type'), Buffer.from('application/json'), Buffer.from('content-length'), Buffer.from(String(replyBody.length))]
  const dispatch = Pool.prototype.dispatch
  Pool.prototype.dispatch = function answered(this: Pool, options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandlers): boolean {
    if (options.path !== upstreamPath) return dispatch.call(this, options, handler)
    handler.onConnect?.(() => {})
    queueMicrotask(() => {
      handler.onHeaders?.(200, replyHeaders, () => {}, 'OK')
      handler.onData?.(replyBody)
      handler.onComplete?.([])
    })
    return true
  }
}

const requestBody = Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello.' }] }))
const requestHeaders = { host: '127.0.0.1:4000', 'content-type': 'application/json', authorization: 'Bearer sk-bench', 'content-length': String(requestBody.length) }
const modelInfo = { id: 'bench' }

/** One request's work, as src/proxy/handlers.ts does it: the reply body the client would get. */
export async function proxyOneRequest(proxy: ProxyServer): Promise<string> {
  const body = JSON.parse(requestBody.toString('utf8')) as Record<string, unknown>
  const http: HttpInfo = { method: 'POST', url: `http://${requestHeaders.host}${upstreamPath}`, headers: stripSecretHeaders(requestHeaders), clientIp: '127.0.0.1', body }
  let call: Context | undefined
  const reply = await proxy.client.chat(body as never, { http, modelInfo, deployment: 'bench', keepRawReply: true, onContext: (ctx) => (call = ctx) })
  return receivedText(call, reply) ?? JSON.stringify(reply)
}
