/**
 * `ctx.http` in the proxy is credential-free, as documented: no credential query parameter in its
 * URL, no credential header, and a body without `api_key` (or any other credential key or value).
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { HttpInfo } from '../../src/types'
import { parseConfig } from '../../src/proxy/config'
import { buildProxyServer, type ProxyServer } from '../../src/proxy/server'

let proxy: ProxyServer | undefined
afterEach(async () => {
  await proxy?.close()
  proxy = undefined
})

describe('ctx.http in the proxy', () => {
  it('carries no credential in its URL query, headers or body', async () => {
    const seen: HttpInfo[] = []
    proxy = await buildProxyServer({
      config: parseConfig({ model_list: [{ model_name: 'm', litellm_params: { model: 'mock/m' } }] }),
      middleware: [
        async function keepHttp(ctx, next) {
          seen.push(JSON.parse(JSON.stringify(ctx.http)) as HttpInfo)
          await next()
        },
      ],
    })
    const { url } = await proxy.listen({ port: 0 })
    const response = await fetch(`${url}/v1/chat/completions?key=query-key-0123456&team=search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-client-key-0123456', 'x-auth-token': 'auth-token-0123456' },
      body: JSON.stringify({
        model: 'm',
        messages: [{ role: 'user', content: 'hi' }],
        api_key: 'sk-body-key-0123456',
        metadata: { note: 'pasted sk-client-key-0123456', token: 'meta-token-0123456' },
      }),
    })
    expect(response.status).toBe(200)
    const http = seen[0]!
    expect(http.url).toMatch(/\/v1\/chat\/completions\?team=search$/)
    expect(http.headers.authorization).toBeUndefined()
    expect(http.headers['x-auth-token']).toBeUndefined()
    expect(http.body).toEqual({ model: 'm', messages: [{ role: 'user', content: 'hi' }], metadata: { note: 'pasted [redacted]' } })
    const text = JSON.stringify(http)
    for (const secret of ['query-key-0123456', 'sk-client-key-0123456', 'auth-token-0123456', 'sk-body-key-0123456', 'meta-token-0123456']) expect(text).not.toContain(secret)
  })
  it('reads its body through one getter shared by every request, not one made per request (V8 keeps those in the old generation with the body)', async () => {
    const seen: HttpInfo[] = []
    proxy = await buildProxyServer({
      config: parseConfig({ model_list: [{ model_name: 'm', litellm_params: { model: 'mock/m' } }] }),
      middleware: [
        async function keepHttp(ctx, next) {
          seen.push(ctx.http!)
          await next()
        },
      ],
    })
    const { url } = await proxy.listen({ port: 0 })
    for (const content of ['first', 'second']) {
      const response = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content }] }) })
      expect(response.status).toBe(200)
    }
    const [first, second] = seen as [HttpInfo, HttpInfo]
    expect(Object.getOwnPropertyDescriptor(first, 'body')).toBeUndefined()
    expect(Object.getPrototypeOf(first)).toBe(Object.getPrototypeOf(second))
    expect((first.body as { messages: unknown }).messages).toEqual([{ role: 'user', content: 'first' }])
    expect((second.body as { messages: unknown }).messages).toEqual([{ role: 'user', content: 'second' }])
  })
})
