/**
 * The two ways azureSentinel() proves who it is to Azure Monitor:
 * - the Logs Ingestion API takes a Microsoft Entra bearer token, fetched with the OAuth 2.0 client
 *   credentials grant (`POST {authority}/{tenant}/oauth2/v2.0/token`) in the background before the
 *   first batch and again shortly before it expires, as LiteLLM's azure_sentinel.py does;
 * - the older HTTP Data Collector API takes `Authorization: SharedKey <workspace id>:<signature>`, an
 *   HMAC-SHA256 (with the base64-decoded workspace key) of the method, the body's length, its content
 *   type, the `x-ms-date` and the resource `/api/logs`, made for each request.
 */
import { createHmac } from 'node:crypto'
import { cachedBearer, type BearerHeaders } from '../src/delivery/bearer-token-cache'
import { DeliveryError } from '../src/delivery/sink'

/** Azure Monitor's scope, as Microsoft's Logs Ingestion API documentation writes it (the resource URI, then `/.default`). */
export const azureMonitorScope = 'https://monitor.azure.com//.default'

/** Seconds before a token's expiry at which a new one is fetched (LiteLLM's margin). */
const refreshMarginSeconds = 60

/** What the client credentials grant needs. */
export interface ClientCredentials {
  /** `{authority}/{tenant}/oauth2/v2.0/token`. */
  tokenUrl: string
  clientId: string
  clientSecret: string
  scope: string
}

/**
 * The `headersFor` of the Logs Ingestion sink: `Authorization: Bearer <token>`, the token fetched on
 * the first batch and reused until a minute before it expires. Batches sent at once share one fetch;
 * a failed fetch is forgotten, so the batch's retry fetches anew.
 *
 * @example
 * ```ts
 * const headersFor = entraAuthorization({ tokenUrl, clientId, clientSecret, scope: azureMonitorScope }, 10_000)
 * await headersFor() // { authorization: 'Bearer eyJ0...' }
 * ```
 */
export function entraAuthorization(credentials: ClientCredentials, timeoutMs: number): BearerHeaders {
  return cachedBearer(async () => {
    const { accessToken, expiresInSeconds } = await fetchEntraToken(credentials, timeoutMs)
    return { token: accessToken, renewAt: Date.now() + Math.max(0, expiresInSeconds - refreshMarginSeconds) * 1000 }
  })
}

/**
 * One client credentials grant: a form POST answered `{ access_token, expires_in }`. Failures are
 * delivery errors (retried on 408, 429 and 5xx, like a batch); the answer's text is never quoted,
 * since it may echo the client id or secret.
 *
 * @example
 * ```ts
 * const { accessToken } = await fetchEntraToken({ tokenUrl, clientId, clientSecret, scope: azureMonitorScope }, 10_000)
 * ```
 */
export async function fetchEntraToken(credentials: ClientCredentials, timeoutMs: number): Promise<{ accessToken: string; expiresInSeconds: number }> {
  const form = new URLSearchParams({ client_id: credentials.clientId, client_secret: credentials.clientSecret, scope: credentials.scope, grant_type: 'client_credentials' })
  let response: Response
  try {
    response = await fetch(credentials.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString(), signal: AbortSignal.timeout(timeoutMs) })
  } catch (error) {
    throw new DeliveryError(`azureSentinel: could not reach ${new URL(credentials.tokenUrl).origin} for a token: ${(error as Error).message}`, { retryable: true, cause: error })
  }
  const body = (await response.json().catch(() => ({}))) as { access_token?: unknown; expires_in?: unknown }
  if (response.ok && typeof body.access_token === 'string') {
    const expiresIn = Number(body.expires_in)
    return { accessToken: body.access_token, expiresInSeconds: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 3600 }
  }
  throw new DeliveryError(
    `azureSentinel: the token endpoint answered ${response.status}${response.ok ? ' without an access_token' : ''}; check AZURE_SENTINEL_TENANT_ID, AZURE_SENTINEL_CLIENT_ID and AZURE_SENTINEL_CLIENT_SECRET.`,
    { status: response.status, retryable: response.status === 408 || response.status === 429 || response.status >= 500 },
  )
}

/**
 * The `headersFor` of the Data Collector sink: for each request body, the `x-ms-date` it is signed
 * at, the `SharedKey` authorization over it, the `Log-Type` (the table, `<logType>_CL`) and the field
 * that holds each record's time.
 *
 * @example
 * ```ts
 * const headersFor = sharedKeyHeaders({ workspaceId, sharedKey, logType: 'LiteLLM' })
 * headersFor('[{"id":"call-1"}]').authorization // 'SharedKey <workspace id>:Pq3x...='
 * ```
 */
export function sharedKeyHeaders(settings: { workspaceId: string; sharedKey: string; logType: string }): (body: string | Uint8Array) => Record<string, string> {
  const key = Buffer.from(settings.sharedKey, 'base64')
  return (body) => {
    const date = new Date().toUTCString()
    const length = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength
    return {
      authorization: `SharedKey ${settings.workspaceId}:${sharedKeySignature(key, length, date)}`,
      'x-ms-date': date,
      'log-type': settings.logType,
      'time-generated-field': 'TimeGenerated',
    }
  }
}

/**
 * Base64 HMAC-SHA256, with the decoded workspace key, of
 * `POST\n<content length>\napplication/json\nx-ms-date:<date>\n/api/logs`.
 *
 * @example
 * ```ts
 * sharedKeySignature(Buffer.from(sharedKey, 'base64'), 1024, 'Mon, 04 Apr 2016 08:00:00 GMT')
 * ```
 */
export function sharedKeySignature(key: Buffer, contentLength: number, date: string): string {
  return createHmac('sha256', key).update(`POST\n${contentLength}\napplication/json\nx-ms-date:${date}\n/api/logs`, 'utf8').digest('base64')
}
