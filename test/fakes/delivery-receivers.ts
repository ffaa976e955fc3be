/**
 * Local receivers for delivery tests: one that counts the items it receives (optionally answering
 * late), one that accepts connections and never answers, and an address where nothing listens.
 */
import { createServer, type Server } from 'node:http'
import { createServer as createTcpServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'

export interface CountingReceiver {
  url: string
  /** Items received so far: a JSON array counts its length, `{ batch: [...] }` its batch, anything else 1. */
  items(): number
  requests(): number
  close(): Promise<void>
}

/** An HTTP receiver on 127.0.0.1 that answers 200 after `latencyMs` and counts the items. */
export async function startCountingReceiver(options: { latencyMs?: number } = {}): Promise<CountingReceiver> {
  let items = 0
  let requests = 0
  const server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      requests++
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown
      items += Array.isArray(body) ? body.length : Array.isArray((body as { batch?: unknown[] }).batch) ? (body as { batch: unknown[] }).batch.length : 1
      const answer = () => response.writeHead(200, { 'content-type': 'application/json' }).end('{}')
      if (options.latencyMs) setTimeout(answer, options.latencyMs)
      else answer()
    })
  })
  const url = await listen(server)
  return {
    url,
    items: () => items,
    requests: () => requests,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}

/** A TCP server on 127.0.0.1 that accepts every connection and never answers. */
export async function startSilentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  const server = createTcpServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
  })
  const url = await listen(server)
  return {
    url,
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy()
      server.close(() => resolve())
    }),
  }
}

/** `http://127.0.0.1:<port>` of a port nothing listens on (it was free a moment ago): connections are refused. */
export async function refusedUrl(): Promise<string> {
  const server = createTcpServer()
  const url = await listen(server)
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return url
}

async function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}
