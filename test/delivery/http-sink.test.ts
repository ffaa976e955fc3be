import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { gunzipSync } from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import { createDeliveryQueue, DeliveryError, type DeliveryQueue, type DropInfo, type Sink } from '../../src/delivery/queue'
import { httpSink } from '../../src/delivery/http-sink'

interface Arrived {
  path: string
  headers: IncomingMessage['headers']
  body: Buffer
  /** The client's port: the same for two requests on one kept-alive connection. */
  clientPort: number
}

/** A local server answering each request with `answer`; records what arrived and every connection. */
async function startServer(answer: (response: ServerResponse, arrived: Arrived) => void = (response) => response.end('{}')) {
  const arrived: Arrived[] = []
  const sockets = new Set<Socket>()
  const closedPorts: number[] = []
  const server: Server = createServer((request, response) => {
    const parts: Buffer[] = []
    request.on('data', (part: Buffer) => parts.push(part))
    request.on('end', () => {
      const record = { path: request.url ?? '', headers: request.headers, body: Buffer.concat(parts), clientPort: request.socket.remotePort ?? 0 }
      arrived.push(record)
      answer(response, record)
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    const port = socket.remotePort ?? 0
    socket.on('close', () => closedPorts.push(port))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return { url, arrived, closedPorts, close }
}

const servers: Array<{ close(): Promise<void> }> = []
const sinks: Sink<unknown>[] = []
let queue: DeliveryQueue | undefined
afterEach(async () => {
  await queue?.close()
  queue = undefined
  for (const sink of sinks.splice(0)) await sink.close?.()
  for (const server of servers.splice(0)) await server.close()
})

async function serve(answer?: Parameters<typeof startServer>[0]) {
  const server = await startServer(answer)
  servers.push(server)
  return server
}

function sinkFor<Item>(options: Parameters<typeof httpSink<Item>>[0]): Sink<Item> {
  const sink = httpSink(options)
  sinks.push(sink as Sink<unknown>)
  return sink
}

const never = new AbortController().signal

describe('httpSink()', () => {
  it('posts the encoded batch as JSON with its headers, over one kept-alive connection', async () => {
    const server = await serve()
    const sink = sinkFor<number>({ name: 'numbers', url: `${server.url}/ingest?v=2`, headers: { Authorization: 'Bearer key-1' }, encode: (items) => ({ items }) })
    await sink.send([1, 2], never)
    // The queue's sends start from turns of the event loop of their own, as this one does.
    await new Promise((resolve) => setImmediate(resolve))
    await sink.send([3], never)
    expect(server.arrived.map((request) => JSON.parse(request.body.toString()))).toEqual([{ items: [1, 2] }, { items: [3] }])
    for (const request of server.arrived) {
      expect(request.path).toBe('/ingest?v=2')
      expect(request.headers['content-type']).toBe('application/json')
      expect(request.headers.authorization).toBe('Bearer key-1')
    }
    expect(server.arrived[1]!.clientPort).toBe(server.arrived[0]!.clientPort)
  })

  it('sends bytes as they are with their content type, gzip-compressed when asked', async () => {
    const server = await serve()
    const sink = sinkFor<string>({ name: 'bytes', url: server.url, contentType: 'application/x-protobuf', gzip: true, encode: (items) => new TextEncoder().encode(items.join(',')) })
    await sink.send(['a', 'b'], never)
    const [request] = server.arrived
    expect(request!.headers['content-type']).toBe('application/x-protobuf')
    expect(request!.headers['content-encoding']).toBe('gzip')
    expect(gunzipSync(request!.body).toString()).toBe('a,b')
  })

  it('drops only the unencodable items of a batch, sends the rest in one request, and never retries an encode error', async () => {
    const server = await serve()
    const sink = sinkFor<Record<string, unknown>>({ name: 'posthog-like', url: `${server.url}/batch`, encode: (events) => ({ batch: events }) })
    const drops: DropInfo[] = []
    queue = createDeliveryQueue({ flushIntervalMs: 60_000, minTimeoutMs: 1, maxTimeoutMs: 2, onDrop: (info) => drops.push(info) })
    const circular: Record<string, unknown> = { id: 'circular' }
    circular.self = circular
    let deep: Record<string, unknown> = {}
    for (let depth = 0; depth < 100_000; depth++) deep = { inner: deep }
    for (let id = 0; id < 100; id++) queue.enqueue(sink, id === 10 ? circular : id === 70 ? { id, metadata: deep } : { id })
    await queue.flush()
    expect(server.arrived).toHaveLength(1)
    const sent = (JSON.parse(server.arrived[0]!.body.toString('utf8')) as { batch: Array<{ id: number }> }).batch.map((event) => event.id)
    expect(sent).toEqual([...Array(100).keys()].filter((id) => id !== 10 && id !== 70))
    expect(queue.stats()).toMatchObject({ delivered: 98, retries: 0, pending: 0, dropped: { unencodable: 2 } })
    expect(drops.map((drop) => [drop.reason, drop.count])).toEqual([['unencodable', 1], ['unencodable', 1]])
  })

  it('turns a 200 whose body reports a failure (a GraphQL `errors` list) into a DeliveryError, when the sink reads 2xx bodies', async () => {
    const answers = [JSON.stringify({ data: { ok: true } }), JSON.stringify({ data: null, errors: [{ message: 'Variable "$id_0" got invalid value' }] })]
    const server = await serve((response) => response.end(answers.shift()))
    const bodies: string[] = []
    const sink = sinkFor<number>({
      name: 'graphql',
      url: server.url,
      encode: (items) => items,
      failureIn2xx: (body) => {
        bodies.push(body)
        const errors = (JSON.parse(body) as { errors?: Array<{ message: string }> }).errors
        return errors ? { message: errors[0]!.message, retryable: false } : undefined
      },
    })
    // A signal of its own: each sink listens once on the signals it is given (`never` has ten already).
    const signal = new AbortController().signal
    await expect(sink.send([1], signal)).resolves.toBeUndefined()
    const refused = await sink.send([2], signal).catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(DeliveryError)
    expect(refused).toMatchObject({ status: 200, retryable: false })
    expect((refused as Error).message).toContain('answered 200 but refused the batch: Variable "$id_0" got invalid value')
    expect(bodies).toHaveLength(2)
  })

  it('drops a one-item batch that cannot be encoded as unencodable, without retrying it', async () => {
    const server = await serve()
    const sink = sinkFor<unknown>({ name: 'one-item', url: server.url, maxBatchSize: 1, encode: (items) => items[0] })
    queue = createDeliveryQueue({ minTimeoutMs: 1, maxTimeoutMs: 2, onDrop: () => {} })
    const circular: Record<string, unknown> = {}
    circular.self = circular
    queue.enqueue(sink, circular)
    queue.enqueue(sink, { fine: true })
    await queue.flush()
    expect(server.arrived).toHaveLength(1)
    expect(queue.stats()).toMatchObject({ delivered: 1, retries: 0, dropped: { unencodable: 1 } })
  })

  it('pipelines a one-item sink: sends made while one is in flight ride on its connection, every item delivered once', async () => {
    // Answers held back, as a remote service's are, so the sends are in flight together.
    const server = await serve((response) => setTimeout(() => response.end('{}'), 30))
    const sink = sinkFor<number>({ name: 'one-item', url: server.url, maxBatchSize: 1, encode: (items) => ({ value: items[0] }) })
    queue = createDeliveryQueue({ minTimeoutMs: 1, maxTimeoutMs: 2 })
    queue.enqueue(sink, 0)
    await new Promise((resolve) => setTimeout(resolve, 10))
    for (let value = 1; value < 16; value++) queue.enqueue(sink, value)
    await queue.flush()
    expect(server.arrived.map((request) => JSON.parse(request.body.toString()).value).sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, value) => value))
    // 16 in flight on the first connection; without pipelining each of the 15 would have opened one of its own.
    expect(new Set(server.arrived.map((request) => request.clientPort)).size).toBe(1)
    expect(queue.stats()).toMatchObject({ delivered: 16, dropped: {} })
  })

  it('delivers every item of a pipelined one-item sink whose receiver closes the connection after each answer', async () => {
    const server = await serve((response) => response.writeHead(200, { connection: 'close' }).end('{}'))
    const sink = sinkFor<number>({ name: 'one-item', url: server.url, maxBatchSize: 1, encode: (items) => ({ value: items[0] }) })
    queue = createDeliveryQueue({ minTimeoutMs: 1, maxTimeoutMs: 2, onDrop: () => {} })
    for (let value = 0; value < 20; value++) queue.enqueue(sink, value)
    await queue.flush()
    expect(new Set(server.arrived.map((request) => JSON.parse(request.body.toString()).value)).size).toBe(20)
    expect(queue.stats()).toMatchObject({ delivered: 20, dropped: {} })
  })
})

describe.each([
  { sending: 'batches', maxBatchSize: 100 },
  { sending: 'one item per request, pipelined', maxBatchSize: 1 },
])('httpSink() sending $sending', ({ maxBatchSize }) => {
  it('turns a 429 with Retry-After into a retryable DeliveryError that carries the wait, and a 400 into a final one', async () => {
    const statuses = [429, 400]
    const server = await serve((response) => {
      const status = statuses.shift()!
      response.writeHead(status, status === 429 ? { 'retry-after': '3' } : {}).end(`refused with ${status}`)
    })
    const sink = sinkFor<number>({ name: 'picky', maxBatchSize, url: server.url, encode: (items) => items })
    const slowDown = await sink.send([1], never).catch((error: unknown) => error)
    expect(slowDown).toBeInstanceOf(DeliveryError)
    expect(slowDown).toMatchObject({ status: 429, retryable: true, retryAfterMs: 3_000 })
    expect((slowDown as Error).message).toContain('refused with 429')
    const invalid = await sink.send([1], never).catch((error: unknown) => error)
    expect(invalid).toMatchObject({ status: 400, retryable: false })
  })

  it('gives up on a server that does not answer within timeoutMs, as a retryable failure naming the option', async () => {
    const server = await serve(() => {
      // Never answers.
    })
    const sink = sinkFor<number>({ name: 'silent', maxBatchSize, url: server.url, timeoutMs: 50, encode: (items) => items })
    const failure = await sink.send([1], never).catch((error: unknown) => error)
    expect(failure).toMatchObject({ retryable: true })
    expect((failure as Error).message).toMatch(/silent: could not reach http:\/\/127\.0\.0\.1:\d+: .*timeoutMs/)
  })

  it("stops a send in flight when the queue's signal aborts", async () => {
    const server = await serve(() => {})
    const sink = sinkFor<number>({ name: 'stopped', maxBatchSize, url: server.url, encode: (items) => items })
    const controller = new AbortController()
    const sending = sink.send([1], controller.signal).catch((error: unknown) => error)
    await expect.poll(() => server.arrived.length).toBe(1)
    controller.abort(new DeliveryError('The delivery queue was closed.', { retryable: false }))
    expect(((await sending) as Error).message).toContain('The delivery queue was closed.')
  })

  it('reports a refused connection as a retryable DeliveryError naming the origin', async () => {
    const server = await serve()
    const url = server.url
    await server.close()
    servers.splice(0)
    const sink = sinkFor<number>({ name: 'gone', maxBatchSize, url, encode: (items) => items })
    const failure = await sink.send([1], never).catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(DeliveryError)
    expect(failure).toMatchObject({ retryable: true })
    expect((failure as Error).message).toContain(`gone: could not reach ${url}`)
  })

  it('close() frees its connection, and a later send opens a new one', async () => {
    const server = await serve()
    const sink = sinkFor<number>({ name: 'reopened', maxBatchSize, url: server.url, encode: (items) => items })
    await sink.send([1], never)
    await sink.close!()
    await expect.poll(() => server.closedPorts).toEqual([server.arrived[0]!.clientPort])
    await sink.send([2], never)
    expect(server.arrived).toHaveLength(2)
    expect(server.arrived[1]!.clientPort).not.toBe(server.arrived[0]!.clientPort)
  })
})
