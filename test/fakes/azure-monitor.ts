/**
 * A local stand-in for the three Azure endpoints azureSentinel() talks to, each checking a request
 * the way Microsoft documents it, with code of its own (nothing shared with the library):
 * - Entra's token endpoint, `POST /{tenant}/oauth2/v2.0/token`: a form with the client credentials
 *   grant, the known client id and secret and Azure Monitor's scope; answers a fresh access token;
 * - the Logs Ingestion API, `POST /dataCollectionRules/{dcr}/streams/{stream}?api-version=2023-01-01`:
 *   a bearer token this fake issued, JSON (gzip allowed), a JSON array; answers 204;
 * - the HTTP Data Collector API, `POST /api/logs?api-version=2016-04-01`: `SharedKey <workspace>:<sig>`
 *   recomputed from Microsoft's string-to-sign over the body as received, a `Log-Type`, an
 *   `x-ms-date` within 15 minutes; answers 200.
 * A request that fails a check is answered as Azure would (400, 401 or 403) and kept in `refused`.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync } from 'node:zlib'

export interface AzureMonitorFake {
  url: string
  /** Tokens issued, in order. */
  tokens: string[]
  /** Token requests received (accepted or not), as parsed forms. */
  tokenRequests: Array<Record<string, string>>
  /** Accepted ingestion requests: the records, with what identified the request. */
  ingested: Array<{ api: 'logs-ingestion' | 'data-collector'; path: string; query: string; headers: IncomingMessage['headers']; records: Array<Record<string, unknown>> }>
  /** Refused requests: path and why. */
  refused: Array<{ path: string; reason: string }>
  /** Statuses to answer the next ingestion requests with before checking them (then checks as usual). */
  failNext(...statuses: number[]): void
  close(): Promise<void>
}

export interface AzureMonitorFakeOptions {
  tenantId: string
  clientId: string
  clientSecret: string
  dcrImmutableId: string
  streamName: string
  workspaceId: string
  /** Base64, as Azure shows a workspace key. */
  sharedKey: string
  /** Seconds a token lives (default 3600). */
  expiresIn?: number
}

const scope = 'https://monitor.azure.com//.default'

export async function startAzureMonitorFake(options: AzureMonitorFakeOptions): Promise<AzureMonitorFake> {
  const tokens: string[] = []
  const tokenRequests: AzureMonitorFake['tokenRequests'] = []
  const ingested: AzureMonitorFake['ingested'] = []
  const refused: AzureMonitorFake['refused'] = []
  const failures: number[] = []

  const server = createServer((request, response) => {
    const parts: Buffer[] = []
    request.on('data', (part: Buffer) => parts.push(part))
    request.on('end', () => {
      const raw = Buffer.concat(parts)
      const [path = '/', query = ''] = (request.url ?? '/').split('?')
      const answer = (status: number, body: unknown = '') => {
        response.writeHead(status, { 'content-type': 'application/json' })
        response.end(typeof body === 'string' ? body : JSON.stringify(body))
      }
      const refuse = (status: number, reason: string) => {
        refused.push({ path, reason })
        answer(status, { error: { code: 'Refused', message: reason } })
      }

      if (request.method === 'POST' && path === `/${options.tenantId}/oauth2/v2.0/token`) {
        const form = Object.fromEntries(new URLSearchParams(raw.toString('utf8')))
        tokenRequests.push(form)
        if (!String(request.headers['content-type']).startsWith('application/x-www-form-urlencoded')) return refuse(400, 'token request is not a form')
        if (form.grant_type !== 'client_credentials') return refuse(400, `grant_type ${form.grant_type}`)
        if (form.scope !== scope) return refuse(400, `scope ${form.scope}`)
        if (form.client_id !== options.clientId || form.client_secret !== options.clientSecret) {
          refused.push({ path, reason: 'invalid client' })
          return answer(401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' })
        }
        const token = randomBytes(24).toString('base64url')
        tokens.push(token)
        return answer(200, { token_type: 'Bearer', expires_in: options.expiresIn ?? 3600, ext_expires_in: options.expiresIn ?? 3600, access_token: token })
      }

      const failure = failures.shift()
      if (failure !== undefined) return answer(failure, { error: { code: 'ServiceUnavailable', message: `fake ${failure}` } })

      if (request.method === 'POST' && path === `/dataCollectionRules/${options.dcrImmutableId}/streams/${options.streamName}`) {
        if (new URLSearchParams(query).get('api-version') !== '2023-01-01') return refuse(400, `api-version ${query}`)
        const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1]
        if (!bearer || !tokens.includes(bearer)) return refuse(401, 'no valid bearer token')
        if (request.headers['content-type'] !== 'application/json') return refuse(415, `content type ${request.headers['content-type']}`)
        const body = request.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw
        const records = parseArray(body)
        if (!records) return refuse(400, 'body is not a JSON array')
        ingested.push({ api: 'logs-ingestion', path, query, headers: request.headers, records })
        return answer(204)
      }

      if (request.method === 'POST' && path === '/api/logs') {
        if (new URLSearchParams(query).get('api-version') !== '2016-04-01') return refuse(400, `api-version ${query}`)
        if (request.headers['content-type'] !== 'application/json') return refuse(415, `content type ${request.headers['content-type']}`)
        const logType = request.headers['log-type']
        if (typeof logType !== 'string' || !/^[A-Za-z0-9_]{1,100}$/.test(logType)) return refuse(400, `Log-Type ${logType}`)
        const date = request.headers['x-ms-date']
        if (typeof date !== 'string' || Number.isNaN(Date.parse(date)) || Math.abs(Date.now() - Date.parse(date)) > 15 * 60_000) return refuse(403, `x-ms-date ${date}`)
        const match = /^SharedKey ([^:]+):(.+)$/.exec(request.headers.authorization ?? '')
        if (!match || match[1] !== options.workspaceId) return refuse(403, 'no SharedKey for this workspace')
        const stringToSign = ['POST', String(raw.length), 'application/json', `x-ms-date:${date}`, '/api/logs'].join('\n')
        const expected = createHmac('sha256', Buffer.from(options.sharedKey, 'base64')).update(stringToSign, 'utf8').digest()
        const given = Buffer.from(match[2]!, 'base64')
        if (given.length !== expected.length || !timingSafeEqual(given, expected)) return refuse(403, 'signature does not match')
        const records = parseArray(raw)
        if (!records) return refuse(400, 'body is not a JSON array')
        ingested.push({ api: 'data-collector', path, query, headers: request.headers, records })
        return answer(200)
      }

      refuse(404, `no route ${request.method} ${path}`)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tokens,
    tokenRequests,
    ingested,
    refused,
    failNext: (...statuses) => void failures.push(...statuses),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

function parseArray(body: Buffer): Array<Record<string, unknown>> | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as unknown
    return Array.isArray(parsed) ? (parsed as Array<Record<string, unknown>>) : undefined
  } catch {
    return undefined
  }
}
