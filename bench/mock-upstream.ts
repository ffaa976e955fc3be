/**
 * A local upstream that speaks the OpenAI API (chat completions, streamed or not, embeddings,
 * models) with a configurable latency and chunk rate, for the proxy benchmarks. Every proxy under
 * test and the direct baseline call the same one.
 *
 * Run on its own: `node --import tsx bench/mock-upstream.ts --port 0 --latency-ms 0 --chunks 20 --chunk-interval-ms 5`
 * prints `LISTENING http://127.0.0.1:<port>` and serves until killed.
 *
 * Streamed chunks carry the time they were written (epoch microseconds) as their content when
 * `stamp` is on, so a client can measure how long each chunk spent in a proxy.
 */
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

export interface MockUpstreamOptions {
  /** Port to listen on; default 0 (any free port). */
  port?: number
  /** Delay before the reply, or before the first chunk of a stream; default 0 ms. */
  latencyMs?: number
  /** Content chunks per streamed reply; default 20. */
  chunks?: number
  /** Pause between streamed chunks; default 0 ms (all written at once). */
  chunkIntervalMs?: number
  /** Put each chunk's write time (epoch µs) in its content; default true. */
  stamp?: boolean
}

export interface MockUpstream {
  url: string
  server: Server
  close(): Promise<void>
}

const reply = 'The quick brown fox jumps over the lazy dog.'

/** Epoch time in microseconds with sub-millisecond resolution, comparable across processes. */
export function epochMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000)
}

/**
 * Starts the mock upstream on 127.0.0.1.
 *
 * @example
 * ```ts
 * const upstream = await startMockUpstream({ latencyMs: 0, chunks: 20, chunkIntervalMs: 5 })
 * // POST `${upstream.url}/v1/chat/completions`
 * await upstream.close()
 * ```
 */
export async function startMockUpstream(options: MockUpstreamOptions = {}): Promise<MockUpstream> {
  const latencyMs = options.latencyMs ?? 0
  const chunks = options.chunks ?? 20
  const chunkIntervalMs = options.chunkIntervalMs ?? 0
  const stamp = options.stamp ?? true
  const usage = { prompt_tokens: 12, completion_tokens: chunks, total_tokens: 12 + chunks }
  const created = Math.floor(Date.now() / 1000)
  let sequence = 0

  const server = createServer((request, response) => {
    const chunksOfBody: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunksOfBody.push(chunk))
    request.on('end', () => {
      const path = (request.url ?? '/').split('?')[0]!
      if (request.method === 'GET' && path.endsWith('/models')) return json(response, 200, { object: 'list', data: [{ id: 'gpt-4o-mini', object: 'model', created, owned_by: 'bench' }] })
      if (request.method !== 'POST') return json(response, 404, { error: { message: `no route ${request.method} ${path}`, type: 'invalid_request_error' } })
      let body: Record<string, unknown>
      try {
        body = JSON.parse(Buffer.concat(chunksOfBody).toString('utf8') || '{}')
      } catch {
        return json(response, 400, { error: { message: 'body is not JSON', type: 'invalid_request_error' } })
      }
      const model = typeof body.model === 'string' ? body.model : 'gpt-4o-mini'
      const id = `chatcmpl-bench-${++sequence}`
      if (path.endsWith('/embeddings')) {
        const inputs = Array.isArray(body.input) ? body.input : [body.input]
        return later(latencyMs, () =>
          json(response, 200, {
            object: 'list',
            model,
            data: inputs.map((_, index) => ({ object: 'embedding', index, embedding: [0.1, 0.2, 0.3, 0.4] })),
            usage: { prompt_tokens: inputs.length, total_tokens: inputs.length },
          }),
        )
      }
      if (!path.endsWith('/chat/completions')) return json(response, 404, { error: { message: `no route POST ${path}`, type: 'invalid_request_error' } })
      if (body.stream === true) {
        const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true
        return later(latencyMs, () => stream(response, id, model, includeUsage))
      }
      later(latencyMs, () =>
        json(response, 200, {
          id,
          object: 'chat.completion',
          created,
          model,
          choices: [{ index: 0, message: { role: 'assistant', content: reply }, finish_reason: 'stop' }],
          usage,
        }),
      )
    })
  })

  function stream(response: ServerResponse, id: string, model: string, includeUsage: boolean): void {
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    const frame = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices, ...extra })}\n\n`
    let index = 0
    const writeNext = () => {
      if (response.destroyed) return
      const content = stamp ? `${epochMicros()} ` : 'word '
      const delta = index === 0 ? { role: 'assistant', content } : { content }
      response.write(frame([{ index: 0, delta, finish_reason: null }]))
      index++
      if (index < chunks) {
        if (chunkIntervalMs > 0) setTimeout(writeNext, chunkIntervalMs)
        else writeNext()
        return
      }
      let tail = frame([{ index: 0, delta: {}, finish_reason: 'stop' }])
      if (includeUsage) tail += frame([], { usage })
      response.end(`${tail}data: [DONE]\n\n`)
    }
    writeNext()
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve))
  server.keepAliveTimeout = 60_000
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

function later(delayMs: number, fn: () => void): void {
  if (delayMs > 0) setTimeout(fn, delayMs)
  else fn()
}

function json(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  response.end(text)
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      'latency-ms': { type: 'string', default: '0' },
      chunks: { type: 'string', default: '20' },
      'chunk-interval-ms': { type: 'string', default: '0' },
      'no-stamp': { type: 'boolean', default: false },
    },
  })
  const upstream = await startMockUpstream({
    port: Number(values.port),
    latencyMs: Number(values['latency-ms']),
    chunks: Number(values.chunks),
    chunkIntervalMs: Number(values['chunk-interval-ms']),
    stamp: !values['no-stamp'],
  })
  process.stdout.write(`LISTENING ${upstream.url}\n`)
  process.on('SIGTERM', () => void upstream.close().then(() => process.exit(0)))
}
