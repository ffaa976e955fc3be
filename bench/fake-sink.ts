/**
 * A sink that accepts everything every integration sends (any method, any path: 200) and counts
 * requests. It answers what an integration reads back as its service would: `ok` for Slack's
 * webhook; SQS's SendMessageBatch with an entry per message and its MD5; DynamoDB's BatchWriteItem
 * with nothing unprocessed; a Pub/Sub publish with a message id per message; an OAuth token (Google's
 * service-account grant, Microsoft Entra's client credentials), AgentOps' JWT and Galileo's login; Argilla's dataset
 * lookup with a dataset of the name asked for; Literal AI's GraphQL mutation with `data` holding
 * `{ ok: true }` per step; `{}` for the rest. It runs in its own process so its
 * work is not counted in the in-process benchmarks.
 *
 * Run on its own: `node --import tsx bench/fake-sink.ts` prints `LISTENING http://127.0.0.1:<port>`;
 * `GET /__count` answers the number of requests received, `GET /__bytes` the bytes of their bodies.
 */
import { createHash, randomUUID } from 'node:crypto'
import { createServer, type IncomingHttpHeaders } from 'node:http'
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
  /** Request body bytes read, as sent (gzip included). */
  let bytes = 0
  const server = createServer((request, response) => {
    // Only the answers that count what was sent read the body; the rest is drained unread.
    const parts: Buffer[] = []
    const kept = request.headers['x-amz-target'] === 'AmazonSQS.SendMessageBatch' || request.url?.endsWith(':publish') || request.url === '/api/graphql'
    request.on('data', (part: Buffer) => {
      bytes += part.length
      if (kept) parts.push(part)
    })
    request.on('end', () => {
      if (request.url === '/__count') {
        response.end(String(received))
        return
      }
      if (request.url === '/__bytes') {
        response.end(String(bytes))
        return
      }
      received++
      const answer = answerFor(request.url ?? '/', request.headers, parts)
      response.writeHead(200, { 'content-type': answer.type })
      response.end(answer.body)
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

/** A dataset id Argilla's lookup answers with (any name asked for is "found"). */
const benchDatasetId = '00000000-0000-4000-8000-00000000be4c'

/** What the service an integration talks to would answer this request. */
function answerFor(url: string, headers: IncomingHttpHeaders, parts: Buffer[]): { type: string; body: string } {
  const json = (value: unknown, type = 'application/json') => ({ type, body: JSON.stringify(value) })
  const path = url.split('?')[0]!
  const target = String(headers['x-amz-target'] ?? '')
  if (path.startsWith('/slack')) return { type: 'text/plain', body: 'ok' }
  if (target === 'AmazonSQS.SendMessageBatch') {
    const entries = (bodyJson(parts) as { Entries?: Array<{ Id: string; MessageBody: string }> }).Entries ?? []
    const successful = entries.map((entry) => ({ Id: entry.Id, MessageId: randomUUID(), MD5OfMessageBody: createHash('md5').update(entry.MessageBody).digest('hex') }))
    return json({ Successful: successful, Failed: [] }, 'application/x-amz-json-1.0')
  }
  if (target.startsWith('DynamoDB_20120810.')) return json({ UnprocessedItems: {} }, 'application/x-amz-json-1.0')
  if (path.endsWith(':publish')) {
    const messages = (bodyJson(parts) as { messages?: unknown[] }).messages ?? []
    return json({ messageIds: messages.map(() => randomUUID()) })
  }
  if (path === '/token' || path.endsWith('/oauth2/v2.0/token')) return json({ access_token: 'bench-access-token', expires_in: 3600, token_type: 'Bearer' })
  if (path === '/v3/auth/token') return json({ token: 'bench-agentops-jwt', project_id: 'bench' })
  if (path === '/api/graphql') {
    // Literal AI's AddStep mutation: one aliased ingestStep field per step, each step's id as `id_N`.
    const variables = (bodyJson(parts) as { variables?: Record<string, unknown> }).variables ?? {}
    const steps = Object.keys(variables).filter((name) => name.startsWith('id_')).length
    return json({ data: Object.fromEntries(Array.from({ length: steps }, (_step, index) => [`step${index}`, { ok: true, message: null }])) })
  }
  if (path === '/login') return json({ access_token: 'bench-galileo-token', token_type: 'bearer', expires_in: 3600 })
  if (path === '/api/v1/me/datasets') return json({ items: [{ id: benchDatasetId, name: new URL(url, 'http://sink').searchParams.get('name') }] })
  return { type: 'application/json', body: '{}' }
}

function bodyJson(parts: Buffer[]): Record<string, unknown> {
  try {
    return JSON.parse(Buffer.concat(parts).toString('utf8')) as Record<string, unknown>
  } catch {
    return {}
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const sink = await startFakeSink()
  process.stdout.write(`LISTENING ${sink.url}\n`)
  process.on('SIGTERM', () => void sink.close().then(() => process.exit(0)))
}
