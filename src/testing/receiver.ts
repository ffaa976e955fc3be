/**
 * A local HTTP server that records every request it receives, for exporter tests. Answers with the
 * statuses it is told to (a queue of them, then 200), so retries can be tested.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync } from 'node:zlib'

export interface ReceivedRequest {
  method: string
  path: string
  /** The query string part, without `?`. */
  query: string
  headers: IncomingHttpHeaders
  /** The body as received (still compressed when it was sent compressed). */
  raw: Buffer
  /** The body decompressed when `content-encoding: gzip`. */
  body: Buffer
  /** The body as text. */
  text: string
  /** The body parsed as JSON, when it is JSON. */
  json?: unknown
}

export interface Receiver {
  url: string
  port: number
  requests: ReceivedRequest[]
  /** Statuses to answer next, in order (then 200). */
  answerWith(...statuses: number[]): void
  /** Waits until `count` requests arrived (or times out after `ms`). */
  waitFor(count: number, ms?: number): Promise<ReceivedRequest[]>
  close(): Promise<void>
}

export async function startReceiver(options: { responseBody?: string; contentType?: string } = {}): Promise<Receiver> {
  const requests: ReceivedRequest[] = []
  const statuses: number[] = []
  const waiters: Array<() => void> = []
  const server: Server = createServer((request, response) => {
    const parts: Buffer[] = []
    request.on('data', (part: Buffer) => parts.push(part))
    request.on('end', () => {
      const raw = Buffer.concat(parts)
      const body = request.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw
      const text = body.toString('utf8')
      let json: unknown
      try {
        json = JSON.parse(text)
      } catch {
        json = undefined
      }
      const [path, query = ''] = (request.url ?? '/').split('?')
      requests.push({ method: request.method ?? 'GET', path: path!, query, headers: request.headers, raw, body, text, json })
      const status = statuses.shift() ?? 200
      response.writeHead(status, { 'content-type': options.contentType ?? 'application/json' })
      response.end(status < 300 ? (options.responseBody ?? '{}') : JSON.stringify({ error: `fake error ${status}` }))
      for (const waiter of waiters.splice(0)) waiter()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    answerWith: (...next) => void statuses.push(...next),
    async waitFor(count, ms = 5000) {
      const deadline = Date.now() + ms
      while (requests.length < count) {
        if (Date.now() > deadline) throw new Error(`receiver got ${requests.length} requests, expected ${count}`)
        await new Promise<void>((resolve) => {
          waiters.push(resolve)
          setTimeout(resolve, 50).unref()
        })
      }
      return requests
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
