/**
 * Drive-by requests and CORS: a keyless proxy serves only local origins and Host names unless the
 * config allows more, POSTs must be JSON, and browsers get their preflights answered.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { ConfigError, createProxyServer, parseConfig, type ProxyServer } from 'llm-onion/proxy'
import { chatBody, send } from './fixtures/raw-http'

const json = { 'content-type': 'application/json' }
let proxy: ProxyServer | undefined

afterEach(async () => {
  await proxy?.close()
  proxy = undefined
})

async function start(generalSettings: Record<string, unknown> = {}): Promise<string> {
  const config = parseConfig({ model_list: [{ model_name: 'echo', litellm_params: { model: 'mock/echo' } }], general_settings: generalSettings })
  proxy = await createProxyServer({ config })
  return (await proxy.listen({ port: 0 })).url
}

describe('a keyless proxy and foreign web pages', () => {
  it('refuses a text/plain POST from a foreign Origin, which it used to execute with 200', async () => {
    const url = await start()
    const reply = await send(url, { headers: { origin: 'https://evil.example', 'content-type': 'text/plain' }, body: chatBody() })
    expect(reply.status).toBe(403)
    expect(JSON.parse(reply.text).error).toMatchObject({ code: 'origin_not_allowed', type: 'permission_error' })
    expect(JSON.parse(reply.text).error.message).toContain('general_settings.allowed_origins')
    expect(reply.headers['access-control-allow-origin']).toBeUndefined()
  })

  it('refuses a drive-by request under a foreign Host name (DNS rebinding), naming general_settings.allowed_hosts', async () => {
    const url = await start()
    const reply = await send(url, { headers: { ...json, host: 'rebind.evil.example' }, body: chatBody() })
    expect(reply.status).toBe(403)
    expect(JSON.parse(reply.text).error.code).toBe('host_not_allowed')
    expect(JSON.parse(reply.text).error.message).toContain('general_settings.allowed_hosts')
  })

  it('answers 415 naming Content-Type: application/json for a POST whose body is sent as text/plain', async () => {
    const url = await start()
    const reply = await send(url, { headers: { 'content-type': 'text/plain' }, body: chatBody() })
    expect(reply.status).toBe(415)
    expect(JSON.parse(reply.text).error).toMatchObject({ code: 'unsupported_media_type', type: 'invalid_request_error' })
    expect(JSON.parse(reply.text).error.message).toContain('Content-Type: application/json')
  })

  it('serves a local origin and a local Host, with CORS headers for the origin', async () => {
    const url = await start()
    for (const [origin, host] of [
      ['http://localhost:5173', `localhost:${new URL(url).port}`],
      ['http://127.0.0.1:3000', `127.0.0.1:${new URL(url).port}`],
      ['http://[::1]:8080', `[::1]:${new URL(url).port}`],
    ]) {
      const reply = await send(url, { headers: { ...json, origin: origin!, host: host! }, body: chatBody() })
      expect(reply.status, origin).toBe(200)
      expect(reply.headers['access-control-allow-origin']).toBe(origin)
      expect(reply.headers.vary).toBe('Origin')
    }
  })

  it('serves an origin and a Host name listed in allowed_origins and allowed_hosts', async () => {
    const url = await start({ allowed_origins: ['https://app.example.com'], allowed_hosts: ['proxy.example.com'] })
    const reply = await send(url, { headers: { ...json, origin: 'https://app.example.com', host: 'proxy.example.com' }, body: chatBody() })
    expect(reply.status).toBe(200)
    expect(reply.headers['access-control-allow-origin']).toBe('https://app.example.com')
    const other = await send(url, { headers: { ...json, origin: 'https://other.example.com', host: 'proxy.example.com' }, body: chatBody() })
    expect(other.status).toBe(403)
  })

  it('answers a CORS preflight for an allowed origin with 204 and the Access-Control-Allow-* headers, where it answered 405', async () => {
    const url = await start({ allowed_origins: ['https://app.example.com'] })
    const reply = await send(url, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, x-stainless-os' },
    })
    expect(reply.status).toBe(204)
    expect(reply.headers['access-control-allow-origin']).toBe('https://app.example.com')
    expect(reply.headers['access-control-allow-methods']).toBe('GET, POST, OPTIONS')
    expect(reply.headers['access-control-allow-headers']).toBe('authorization, content-type, x-stainless-os')
    expect(reply.headers['access-control-max-age']).toBe('600')
    const foreign = await send(url, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } })
    expect(foreign.status).toBe(403)
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined()
  })
})

describe('a proxy with a master key and browsers', () => {
  it('answers any origin with CORS headers and does not check the Host, since the key guards every call', async () => {
    const url = await start({ master_key: 'sk-cors-test' })
    const preflight = await send(url, { method: 'OPTIONS', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' } })
    expect(preflight.status).toBe(204)
    expect(preflight.headers['access-control-allow-origin']).toBe('https://app.example.com')
    const reply = await send(url, { headers: { ...json, origin: 'https://app.example.com', host: 'proxy.example.com', authorization: 'Bearer sk-cors-test' }, body: chatBody() })
    expect(reply.status).toBe(200)
    expect(reply.headers['access-control-allow-origin']).toBe('https://app.example.com')
    const keyless = await send(url, { headers: { 'content-type': 'text/plain', origin: 'https://evil.example' }, body: chatBody() })
    expect(keyless.status).toBe(401)
  })
})

describe('the general_settings keys for origins, hosts and slow clients', () => {
  it('refuses an origin with a path, a host with a port and a negative timeout, naming each key path', () => {
    const error = (() => {
      try {
        parseConfig({
          model_list: [{ model_name: 'echo', litellm_params: { model: 'mock/echo' } }],
          general_settings: { allowed_origins: ['https://app.example.com/chat'], allowed_hosts: 'proxy.example.com:443', request_body_timeout_ms: -1 },
        })
      } catch (caught) {
        return caught
      }
    })()
    expect(error).toBeInstanceOf(ConfigError)
    const paths = (error as ConfigError).issues.map((issue) => issue.path)
    expect(paths).toEqual(expect.arrayContaining(['general_settings.allowed_origins[0]', 'general_settings.allowed_hosts', 'general_settings.request_body_timeout_ms']))
    expect((error as Error).message).toContain('must be an origin such as https://app.example.com')
  })

  it('reads every key without a warning that it is ignored', () => {
    const config = parseConfig({
      model_list: [{ model_name: 'echo', litellm_params: { model: 'mock/echo' } }],
      general_settings: {
        allowed_origins: '*',
        allowed_hosts: ['Proxy.Example.com'],
        request_body_timeout_ms: 1000,
        stream_write_timeout_ms: 2000,
        max_connections: 10,
        callback_load_timeout_ms: 3000,
        metrics_max_models: 20,
      },
    })
    expect(config.warnings).toEqual([])
    expect(config.server).toEqual({
      allowedOrigins: ['*'],
      allowedHosts: ['proxy.example.com'],
      requestBodyTimeoutMs: 1000,
      streamWriteTimeoutMs: 2000,
      maxConnections: 10,
      callbackLoadTimeoutMs: 3000,
      metricsMaxModels: 20,
    })
  })
})
