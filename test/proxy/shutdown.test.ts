/**
 * `proxy.close()` in-process: a stream that outlasts the grace period is cut and recorded as
 * cancelled, and a config whose callbacks cannot be built fails at start naming the setting.
 */
import OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import { isAbortError, type Context, type Middleware } from 'llm-onion'
import { ConfigError, createProxyServer, parseConfig } from 'llm-onion/proxy'
import { withMock } from './fixtures/spawn-proxy'
import { chatBody, rawSocket, send } from './fixtures/raw-http'

describe('proxy shutdown and start-up', () => {
  it('cuts a stream still running when the grace period ends, recorded as cancelled, and close() resolves', async () => {
    const finished: Context[] = []
    const watch: Middleware = async function watch(ctx, next) {
      try {
        await next()
      } finally {
        finished.push(ctx)
      }
    }
    const config = parseConfig({ model_list: [{ model_name: 'slow', litellm_params: { model: 'mock/slow', chunk_delay_ms: 200 } }] })
    const proxy = await createProxyServer({ config, middleware: [watch], gracePeriodMs: 50 })
    const { url } = await proxy.listen({ port: 0 })
    const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 })
    const stream = await openai.chat.completions.create(
      withMock({ model: 'slow', messages: [{ role: 'user' as const, content: 'long' }], stream: true as const }, { mock_response: 'a b c d e f g h i j k l m n o p' }),
    )
    const iterator = stream[Symbol.asyncIterator]()
    await iterator.next()
    await proxy.close()
    await expect(
      (async () => {
        for (;;) if ((await iterator.next()).done) break
      })(),
    ).rejects.toThrow()
    expect(finished).toHaveLength(1)
    expect(isAbortError(finished[0]!.error)).toBe(true)
    expect(finished[0]!.toEvent().status).toBe('cancelled')
  })

  it('answers new requests with 503 and Connection: close during the grace period, on new and kept-alive connections, where it refused connections', async () => {
    const config = parseConfig({ model_list: [{ model_name: 'slow', litellm_params: { model: 'mock/slow', chunk_delay_ms: 50 } }] })
    const proxy = await createProxyServer({ config, gracePeriodMs: 5_000 })
    const { url } = await proxy.listen({ port: 0 })
    // A connection kept alive from before the shutdown.
    const kept = await rawSocket(url)
    kept.socket.write('GET /health/liveliness HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n')
    await expect.poll(() => kept.received()).toContain('200 OK')
    // A stream in flight keeps the proxy in its grace period.
    const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 })
    const stream = await openai.chat.completions.create(
      withMock({ model: 'slow', messages: [{ role: 'user' as const, content: 'long' }], stream: true as const }, { mock_response: 'a b c d e f g h i j' }),
    )
    const iterator = stream[Symbol.asyncIterator]()
    await iterator.next()
    const closed = proxy.close()

    const fresh = await send(url, { headers: { 'content-type': 'application/json' }, body: chatBody('slow') })
    expect(fresh.status).toBe(503)
    expect(fresh.headers.connection).toBe('close')
    expect(JSON.parse(fresh.text).error).toMatchObject({ code: 'shutting_down', type: 'server_error' })
    const body = chatBody('slow')
    kept.socket.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`)
    await kept.closed
    expect(kept.received()).toMatch(/HTTP\/1\.1 503 Service Unavailable\r\n[\s\S]*connection: close/i)
    expect((await send(url, { method: 'GET', path: '/health/readiness' })).status).toBe(503)

    let rest = ''
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) rest += next.value.choices[0]?.delta?.content ?? ''
    expect(rest).toBe(' b c d e f g h i j')
    await closed
  })

  it('fails at start naming litellm_settings.success_callback for an unknown integration', async () => {
    const config = parseConfig({
      model_list: [{ model_name: 'a', litellm_params: { model: 'mock/a' } }],
      litellm_settings: { success_callback: ['helicone', 'not-a-service'] },
    })
    const error = await createProxyServer({ config }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message).toContain('litellm_settings.success_callback: unknown integration "not-a-service". Known: ')
  })

  it('fails at start when a callback handler kept snake_case hook names, naming the setting and the renames', async () => {
    const error = await createProxyServer({ config: 'test/proxy/fixtures/snake-case.yaml' }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message).toContain('litellm_settings.callbacks[0] (snake_case_callbacks.unported)')
    expect((error as Error).message).toContain('rename them to asyncLogSuccessEvent')
  })
})
