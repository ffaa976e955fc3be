/**
 * Slow clients cannot hold the proxy's connections: a body that stops half-way gets 408, a stream
 * reader that stops reading is cut (and its call cancelled), and connections past the maximum are
 * closed. Small configured limits keep the tests short; the limits are general_settings keys.
 */
import { connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { isAbortError, type Context, type Middleware } from 'llm-onion'
import { createProxyServer, parseConfig, type ProxyServer } from 'llm-onion/proxy'
import { chatBody, rawSocket } from './fixtures/raw-http'

let proxy: ProxyServer | undefined

afterEach(async () => {
  await proxy?.close()
  proxy = undefined
})

async function start(generalSettings: Record<string, unknown>, middleware: Middleware[] = []): Promise<string> {
  const config = parseConfig({ model_list: [{ model_name: 'echo', litellm_params: { model: 'mock/echo' } }], general_settings: generalSettings })
  proxy = await createProxyServer({ config, middleware })
  return (await proxy.listen({ port: 0 })).url
}

describe('slow clients', () => {
  it('answers 408 and closes the connection when a request body stops arriving half-way, where it waited forever', async () => {
    const url = await start({ request_body_timeout_ms: 200 })
    const client = await rawSocket(url)
    const body = chatBody()
    client.socket.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body.slice(0, 10)}`)
    await client.closed
    expect(client.received()).toMatch(/^HTTP\/1\.1 408 /)
    const reply = JSON.parse(client.received().slice(client.received().indexOf('\r\n\r\n') + 4))
    expect(reply.error).toMatchObject({ code: 'request_timeout', type: 'timeout_error' })
    expect(reply.error.message).toContain('general_settings.request_body_timeout_ms')
  })

  it('cuts a stream whose reader stopped reading and records the call as cancelled, where it held the connection', async () => {
    const finished: Context[] = []
    const watch: Middleware = async function watch(ctx, next) {
      try {
        await next()
      } finally {
        finished.push(ctx)
      }
    }
    const url = await start({ stream_write_timeout_ms: 200 }, [watch])
    const { port } = new URL(url)
    const socket = connect(Number(port), '127.0.0.1')
    socket.on('error', () => {})
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
    // Enough words to fill the socket buffers many times over: the proxy must wait for the reader.
    const body = chatBody('echo', { stream: true, mock_response: 'word '.repeat(200_000) })
    socket.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
    // This client reads nothing until the proxy has given up on it.
    socket.pause()
    await expect.poll(() => finished.length, { timeout: 20_000 }).toBe(1)
    expect(isAbortError(finished[0]!.error)).toBe(true)
    expect(finished[0]!.toEvent().status).toBe('cancelled')
    // Reading now, the client finds what the kernel had buffered, then the end of the connection, without the end of the stream.
    let received = ''
    socket.setEncoding('utf8').on('data', (part: string) => (received += part))
    socket.resume()
    await closed
    expect(received).toMatch(/^HTTP\/1\.1 200 /)
    expect(received).not.toContain('data: [DONE]')
  }, 30_000)

  it('closes connections past general_settings.max_connections as they arrive', async () => {
    const url = await start({ max_connections: 2 })
    const first = await rawSocket(url)
    const second = await rawSocket(url)
    // Both are served, so the server has counted them.
    for (const client of [first, second]) client.socket.write('GET /health/liveliness HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n')
    await expect.poll(() => first.received().includes('200 OK') && second.received().includes('200 OK')).toBe(true)
    const third = await rawSocket(url)
    third.socket.write('GET /health/liveliness HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n')
    await third.closed
    expect(third.received()).toBe('')
    first.socket.destroy()
    second.socket.destroy()
  })
})
