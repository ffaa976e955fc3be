/**
 * The bare pass-through proxy: `node:http` in, an `undici` keep-alive pool out, bytes piped both
 * ways with no parsing. It is the physical limit a Node proxy can reach on this machine, the
 * baseline the llm-onion proxy's throughput is stated against.
 *
 * Run on its own: `node --import tsx bench/passthrough-proxy.ts --port 0 --upstream http://127.0.0.1:9000`
 * prints `LISTENING http://127.0.0.1:<port>` and serves until killed.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { Pool } from 'undici'

export interface PassthroughProxy {
  url: string
  server: Server
  close(): Promise<void>
}

// Hop-by-hop headers (RFC 9110 §7.6.1) are not forwarded; undici sets its own.
const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host'])

function forwardable(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const forwarded: Record<string, string | string[]> = {}
  for (const name in headers) {
    const value = headers[name]
    if (value !== undefined && !hopByHop.has(name)) forwarded[name] = value
  }
  return forwarded
}

/**
 * Starts the pass-through proxy on 127.0.0.1 in front of `upstream`.
 *
 * @example
 * ```ts
 * const proxy = await startPassthroughProxy({ upstream: 'http://127.0.0.1:9000' })
 * await proxy.close()
 * ```
 */
export async function startPassthroughProxy(options: { upstream: string; port?: number; connections?: number }): Promise<PassthroughProxy> {
  const pool = new Pool(options.upstream, { connections: options.connections ?? 256, keepAliveTimeout: 60_000, pipelining: 1 })
  const server = createServer((request, response) => {
    pool.request(
      {
        path: request.url ?? '/',
        method: request.method as 'POST',
        headers: forwardable(request.headers),
        body: request.method === 'GET' || request.method === 'HEAD' ? undefined : request,
      },
      (error, data) => {
        if (error) {
          if (!response.headersSent) response.writeHead(502, { 'content-type': 'application/json' })
          response.end(JSON.stringify({ error: { message: `upstream failed: ${error.message}`, type: 'bad_gateway' } }))
          return
        }
        const headers = forwardable(data.headers as IncomingHttpHeaders)
        response.writeHead(data.statusCode, headers)
        // Flush every upstream write at once, so stream chunks are not held back.
        data.body.on('data', (chunk: Buffer) => response.write(chunk))
        data.body.on('end', () => response.end())
        data.body.on('error', () => response.destroy())
      },
    )
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await pool.close()
    },
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, upstream: { type: 'string' } } })
  if (!values.upstream) throw new Error('passthrough-proxy: pass --upstream http://127.0.0.1:<port> (the mock upstream to forward to).')
  const proxy = await startPassthroughProxy({ upstream: values.upstream, port: Number(values.port) })
  process.stdout.write(`LISTENING ${proxy.url}\n`)
  process.on('SIGTERM', () => void proxy.close().then(() => process.exit(0)))
}
