import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer as createHttpsServer } from 'node:https'
import { connect, createServer, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { pipelinedConnections, type Answer, type PipelinedConnections, type Post } from '../../src/delivery/pipelined-connections'
import { httpSink } from '../../src/delivery/http-sink'
import { DeliveryError } from '../../src/delivery/sink'

/** One request as it reached the receiver, and the connection it came on. */
interface Received {
  body: string
  head: string
  connection: number
}

/**
 * A TCP receiver that reads pipelined requests (framed by Content-Length) and lets the test write
 * whatever bytes it wants back: `answer` gets each request and the socket.
 */
async function receiver(answer: (request: Received, socket: Socket, index: number) => void) {
  const received: Received[] = []
  const sockets = new Set<Socket>()
  let connections = 0
  const server: Server = createServer((socket) => {
    const connection = connections++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    let buffer = ''
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => {
      buffer += chunk
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n')
        if (end < 0) return
        const head = buffer.slice(0, end)
        const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0)
        if (buffer.length < end + 4 + length) return
        const request = { head, body: Buffer.from(buffer.slice(end + 4, end + 4 + length), 'latin1').toString('utf8'), connection }
        buffer = buffer.slice(end + 4 + length)
        received.push(request)
        answer(request, socket, received.length - 1)
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const close = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy()
      server.close(() => resolve())
    })
  servers.push(close)
  return { port, received, connections: () => connections }
}

const servers: Array<() => Promise<void>> = []
const opened: PipelinedConnections[] = []
afterEach(async () => {
  for (const connections of opened.splice(0)) await connections.close()
  for (const close of servers.splice(0)) await close()
})

function connectionsTo(port: number, pipelining = 16) {
  const connections = pipelinedConnections({ connect: () => connect({ host: '127.0.0.1', port }), pipelining })
  opened.push(connections)
  return connections
}

/** POSTs `body` and settles with the answer or the error. */
function post(connections: PipelinedConnections, body: string): Promise<Answer | Error> {
  return new Promise((resolve) => {
    const bytes = `POST /log HTTP/1.1\r\nhost: test\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
    connections.post({ bytes, onAnswer: resolve, onError: resolve })
  })
}

const ok = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}'
const chunkedOk = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n'

describe('pipelinedConnections()', () => {
  it('reads answers however the bytes are split, each to its own request, in order', async () => {
    const failure = 'HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nbusy \r\n8\r\nnow ✓.\r\n0\r\ntrailer: x\r\n\r\n'
    const interim = 'HTTP/1.1 100 Continue\r\n\r\n'
    const answers = [ok, chunkedOk, failure, `${interim}HTTP/1.1 204 No Content\r\n\r\n`, 'HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n']
    const all = Buffer.from(answers.join(''), 'utf8')
    // Every way of cutting the answers in two pieces, and one piece per byte.
    const cuts = [...Array.from({ length: all.length - 1 }, (_, at) => [all.subarray(0, at + 1), all.subarray(at + 1)]), [...all].map((byte) => Buffer.from([byte]))]
    for (const pieces of cuts) {
      const server = await receiver((_request, socket, index) => {
        if (index === answers.length - 1) for (const piece of pieces) socket.write(piece)
      })
      const connections = connectionsTo(server.port)
      const settled = await Promise.all(answers.map((_, index) => post(connections, `{"n":${index}}`)))
      expect(settled).toEqual([
        { status: 200, text: '' },
        { status: 200, text: '' },
        { status: 503, text: 'busy now ✓.', retryAfter: '7' },
        { status: 204, text: '' },
        { status: 201, text: '' },
      ])
      expect(server.received.map((request) => request.body)).toEqual(answers.map((_, index) => `{"n":${index}}`))
      await connections.close()
    }
  })

  it('carries the requests of one turn on one connection, up to its pipelining, and opens another for more', async () => {
    const server = await receiver((_request, socket) => socket.write(ok))
    const connections = connectionsTo(server.port, 4)
    const settled = await Promise.all(Array.from({ length: 10 }, (_, index) => post(connections, String(index))))
    expect(settled.every((answer) => 'status' in answer && answer.status === 200)).toBe(true)
    expect(server.connections()).toBe(3)
    // Later requests reuse the connections that have room.
    await Promise.all(Array.from({ length: 4 }, (_, index) => post(connections, `again ${index}`)))
    expect(server.connections()).toBe(3)
  })

  it('sends again on a new connection what a receiver left unanswered when it said Connection: close', async () => {
    const server = await receiver((request, socket) => {
      // The first connection answers its first request and closes, with four more written to it.
      if (request.connection > 0) socket.write(ok)
      else if (request.body === '0') socket.end('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
    })
    const connections = connectionsTo(server.port)
    const settled = await Promise.all(Array.from({ length: 5 }, (_, index) => post(connections, String(index))))
    expect(settled.map((answer) => ('status' in answer ? answer.status : answer.message))).toEqual([200, 200, 200, 200, 200])
    const byConnection = server.received.map((request) => [request.connection, request.body])
    expect(byConnection.filter(([connection]) => connection !== 0).map(([, body]) => body)).toEqual(['1', '2', '3', '4'])
  })

  it('fails the oldest owed request when a connection drops, and sends the later ones again', async () => {
    let dropped = false
    const server = await receiver((request, socket) => {
      if (!dropped && request.body === '2') {
        dropped = true
        socket.destroy()
      } else if (request.connection > 0) socket.write(ok)
    })
    const connections = connectionsTo(server.port)
    const settled = await Promise.all(Array.from({ length: 4 }, (_, index) => post(connections, String(index))))
    expect(settled[0]).toBeInstanceOf(Error)
    expect(settled.slice(1)).toEqual([200, 200, 200].map((status) => ({ status, text: '' })))
  })

  it('fails every request written to a connection that could not be made, trying it once', async () => {
    const server = await receiver(() => {})
    const { port } = server
    await servers.pop()!()
    let attempts = 0
    const connections = pipelinedConnections({
      connect: () => {
        attempts++
        return connect({ host: '127.0.0.1', port })
      },
      pipelining: 16,
    })
    opened.push(connections)
    const settled = await Promise.all(Array.from({ length: 10 }, (_, index) => post(connections, String(index))))
    expect(settled.map((answer) => (answer as Error).message)).toEqual(Array(10).fill(`connect ECONNREFUSED 127.0.0.1:${port}`))
    expect(attempts).toBe(1)
  })

  it('reads a body that runs until the connection closes, then opens a new connection', async () => {
    const server = await receiver((request, socket) => {
      if (request.connection === 0) socket.end('HTTP/1.1 500 Internal Server Error\r\n\r\nno length, just the end')
      else socket.write(ok)
    })
    const connections = connectionsTo(server.port)
    expect(await post(connections, 'first')).toEqual({ status: 500, text: 'no length, just the end' })
    expect(await post(connections, 'second')).toEqual({ status: 200, text: '' })
    expect(server.connections()).toBe(2)
  })

  it('quotes at most the first 1,024 bytes of a failed answer, and none of a success', async () => {
    const long = 'x'.repeat(5_000)
    const server = await receiver((request, socket) => socket.write(`HTTP/1.1 ${request.body === 'fail' ? 400 : 200} X\r\ncontent-length: ${long.length}\r\n\r\n${long}`))
    const connections = connectionsTo(server.port)
    const [success, failure] = await Promise.all([post(connections, 'pass'), post(connections, 'fail')])
    expect(success).toEqual({ status: 200, text: '' })
    expect(failure).toEqual({ status: 400, text: 'x'.repeat(1_024) })
  })

  it('ends a connection that answers something that is not HTTP, failing the request instead of waiting', async () => {
    for (const garbage of ['SSH-2.0-OpenSSH_9.2\r\n\r\n', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: -4\r\n\r\n']) {
      const server = await receiver((_request, socket) => socket.write(garbage))
      const connections = connectionsTo(server.port)
      const settled = await post(connections, 'x')
      expect(settled).toBeInstanceOf(Error)
      expect((settled as Error).message).toMatch(/^the service's answer could not be read: /)
    }
  })

  it('opens a new connection instead of one idle past the keep-alive timeout the service announced', async () => {
    const server = await receiver((_request, socket) => socket.write('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=1\r\nContent-Length: 0\r\n\r\n'))
    const connections = connectionsTo(server.port)
    await post(connections, 'first')
    await post(connections, 'right after')
    expect(server.connections()).toBe(1)
    // timeout=1 leaves nothing after the one-second margin: the next request after any pause goes on a new connection.
    await new Promise((resolve) => setTimeout(resolve, 5))
    await post(connections, 'after a pause')
    expect(server.connections()).toBe(2)
  })

  it('stops a request still waiting for room without touching the connection, and one written by ending its connection', async () => {
    const server = await receiver(() => {})
    const connections = pipelinedConnections({ connect: () => connect({ host: '127.0.0.1', port: server.port }), pipelining: 1, maxConnections: 1 })
    opened.push(connections)
    const results: Array<Answer | Error> = []
    const posts: Post[] = ['written', 'waiting'].map((body) => ({
      bytes: `POST / HTTP/1.1\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
      onAnswer: (answer) => results.push(answer),
      onError: (error) => results.push(error),
    }))
    for (const one of posts) connections.post(one)
    await expect.poll(() => server.received.length).toBe(1)
    connections.stop(posts[1]!, new Error('waited too long'))
    expect(results.map((result) => (result as Error).message)).toEqual(['waited too long'])
    connections.stop(posts[0]!, new Error('no answer in time'))
    expect(results.map((result) => (result as Error).message)).toEqual(['waited too long', 'no answer in time'])
    expect(server.received).toHaveLength(1)
  })
})

describe('httpSink() for one-item sinks', () => {
  it('refuses a header that holds a line break, naming the header but never its value', async () => {
    const server = await receiver((_request, socket) => socket.write(ok))
    const secret = 'sk-planted-4f1c9e0b7a2d'
    const sink = httpSink<number>({ name: 'one-item', url: `http://127.0.0.1:${server.port}/log`, maxBatchSize: 1, headers: { authorization: `Bearer ${secret}\r\nx-injected: yes` }, encode: (items) => items })
    const failure = await sink.send([1], new AbortController().signal).catch((error: unknown) => error)
    await sink.close?.()
    expect(failure).toBeInstanceOf(DeliveryError)
    expect(failure).toMatchObject({ retryable: false })
    expect((failure as Error).message).toContain('"authorization"')
    expect((failure as Error).message).not.toContain('planted')
    expect(server.received).toHaveLength(0)
  })

  it('sends over https, checking the certificate, in a process that trusts the receiver (NODE_EXTRA_CA_CERTS)', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'llm-onion-tls-'))
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', join(directory, 'key.pem'), '-out', join(directory, 'cert.pem')], { stdio: 'ignore' })
      const bodies: string[] = []
      const server = createHttpsServer({ key: readFileSync(join(directory, 'key.pem')), cert: readFileSync(join(directory, 'cert.pem')) }, (request, response) => {
        let body = ''
        request.on('data', (part: Buffer) => (body += part.toString()))
        request.on('end', () => {
          bodies.push(body)
          response.end('{}')
        })
      })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      servers.push(() => new Promise((resolve) => server.close(() => resolve())))
      const url = `https://localhost:${(server.address() as AddressInfo).port}/log`
      // The sink in a child process of its own, which trusts the receiver's certificate and nothing more.
      const script = `
        const { httpSink } = await import(${JSON.stringify(new URL('../../src/delivery/http-sink.ts', import.meta.url).href)})
        const sink = httpSink({ name: 'tls', url: ${JSON.stringify(url)}, maxBatchSize: 1, encode: (items) => ({ value: items[0] }) })
        const signal = new AbortController().signal
        await Promise.all([1, 2, 3].map((value) => sink.send([value], signal)))
        await sink.close()
        const untrusted = httpSink({ name: 'untrusted', url: ${JSON.stringify(url.replace('localhost', '127.0.0.1'))}, maxBatchSize: 1, encode: (items) => items })
        const failure = await untrusted.send([4], signal).catch((error) => error)
        await untrusted.close()
        console.log(JSON.stringify({ failure: failure.message, retryable: failure.retryable }))
      `
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, NODE_EXTRA_CA_CERTS: join(directory, 'cert.pem') }, stdio: ['ignore', 'pipe', 'pipe'] })
      let output = ''
      child.stdout.on('data', (part: Buffer) => (output += part.toString()))
      child.stderr.on('data', (part: Buffer) => (output += part.toString()))
      const code = await new Promise((resolve) => child.on('close', resolve))
      expect(code, output).toBe(0)
      expect(bodies.map((body) => JSON.parse(body).value).sort()).toEqual([1, 2, 3])
      // The certificate names localhost, not 127.0.0.1: the second sink is refused, not sent.
      expect(JSON.parse(output)).toMatchObject({ retryable: true, failure: expect.stringMatching(/untrusted: could not reach https:\/\/127\.0\.0\.1:\d+: .*(IP|altnames|certificate)/) })
    } finally {
      rmSync(directory, { recursive: true, force: true })
    }
  })
})
