/**
 * A sink that accepts everything every integration sends (any method, any path: 200, `ok` for
 * Slack's webhook, `{}` for the rest) and counts requests. It runs in its own process so its work is
 * not counted in the in-process benchmarks.
 *
 * Run on its own: `node --import tsx bench/fake-sink.ts` prints `LISTENING http://127.0.0.1:<port>`;
 * `GET /__count` answers the number of requests received.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'

/**
 * Starts the accepting sink on 127.0.0.1.
 *
 * @example
 * ```ts
 * const sink = await startFakeSink()
 * process.env.HELICONE_API_BASE = sink.url
 * await sink.close()
 * ```
 */
export async function startFakeSink(port = 0): Promise<{ url: string; count(): number; close(): Promise<void> }> {
  let received = 0
  const server = createServer((request, response) => {
    request.resume()
    request.on('end', () => {
      if (request.url === '/__count') {
        response.end(String(received))
        return
      }
      received++
      const slack = request.url?.startsWith('/slack') ?? false
      response.writeHead(200, { 'content-type': slack ? 'text/plain' : 'application/json' })
      response.end(slack ? 'ok' : '{}')
    })
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  const address = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${address.port}`,
    count: () => received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const sink = await startFakeSink()
  process.stdout.write(`LISTENING ${sink.url}\n`)
  process.on('SIGTERM', () => void sink.close().then(() => process.exit(0)))
}
