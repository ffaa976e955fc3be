import { createServer, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { buildConnector } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { coalescedWrites } from '../../src/delivery/coalesced-writes'

let server: Server | undefined
const sockets: Socket[] = []

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy()
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  server = undefined
})

/** A TCP receiver that keeps what arrives, and a connection to it made through `coalescedWrites`. */
async function connected(): Promise<{ socket: Socket; received: () => string; writes: () => number }> {
  let text = ''
  server = createServer((connection) => {
    sockets.push(connection)
    connection.on('data', (chunk: Buffer) => (text += chunk.toString()))
  })
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const connect = coalescedWrites(buildConnector({}))
  const socket = await new Promise<Socket>((resolve, reject) =>
    connect({ hostname: '127.0.0.1', host: `127.0.0.1:${port}`, protocol: 'http:', port: String(port) }, (error, made) => (error ? reject(error) : resolve(made as Socket))),
  )
  sockets.push(socket)
  // Every system call the socket makes to send goes through _writev (several chunks) or _write (one).
  let writes = 0
  const writev = socket._writev!.bind(socket)
  const write = socket._write.bind(socket)
  socket._writev = (chunks, callback) => {
    writes++
    writev(chunks, callback)
  }
  socket._write = (chunk, encoding, callback) => {
    writes++
    write(chunk, encoding, callback)
  }
  return { socket, received: () => text, writes: () => writes }
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve))

describe('coalescedWrites', () => {
  it('sends the corked writes of one turn in one write, in order', async () => {
    const { socket, received, writes } = await connected()
    for (const request of ['first', 'second', 'third']) {
      socket.cork()
      socket.write(`${request}-head `)
      socket.write(`${request}-body `)
      socket.uncork()
    }
    expect(writes()).toBe(0)
    await nextTurn()
    expect(writes()).toBe(1)
    await expect.poll(received).toBe('first-head first-body second-head second-body third-head third-body ')
  })

  it('leaves writes made without cork as they are, and ends a corked socket with everything sent', async () => {
    const { socket, received, writes } = await connected()
    socket.write('plain ')
    expect(writes()).toBe(1)
    socket.cork()
    socket.write('corked ')
    socket.uncork()
    socket.end('last')
    await expect.poll(received).toBe('plain corked last')
  })
})
