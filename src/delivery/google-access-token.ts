/**
 * Google OAuth 2.0 access tokens for a service account (RFC 7523's JWT bearer grant, as Google's
 * client libraries do it): a JWT naming the account, the scope and the token URI, signed RS256 with
 * the account's private key by `node:crypto`, is exchanged at the token URI for an access token,
 * which is kept until a minute before it expires. The private key never leaves the process; only
 * the signature made with it does.
 */
import { createPrivateKey, sign, type KeyObject } from 'node:crypto'
import { z } from 'zod'
import { ValidationError } from '../errors'
import { lazySchema } from '../lazy-schema'
import { registerSecret, scrubProcessSecrets } from '../secret-scrubber'
import { isRetryableHttpStatus } from './http-sink'
import { DeliveryError } from './sink'

const serviceAccountSchema = lazySchema(() =>
  z.object({
    type: z.literal('service_account').optional(),
    client_email: z.string().min(1),
    private_key: z.string().min(1),
    private_key_id: z.string().optional(),
    token_uri: z.url().optional(),
    project_id: z.string().optional(),
  }),
)

/** The fields of a service-account key file (the JSON the console's "Create key" downloads) that are used. */
export type ServiceAccount = z.output<typeof serviceAccountSchema>

/** Google's token endpoint, where `token_uri` of a key file points. */
export const googleTokenUri = 'https://oauth2.googleapis.com/token'

/** How long before its expiry a token is replaced. */
const refreshMarginMs = 60_000

/**
 * Parses a service-account key file's text; a malformed one fails naming `where` (the variable or
 * option it came from) and the wrong field. Its private key is made known to the secret scrubber.
 *
 * @example
 * ```ts
 * const account = parseServiceAccount(readFileSync(path, 'utf8'), 'GCS_PATH_SERVICE_ACCOUNT')
 * ```
 */
export function parseServiceAccount(text: string, where: string): ServiceAccount {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new ValidationError(`${where} is not a service-account key file: it is not JSON. Download a JSON key (IAM & Admin → Service Accounts → Keys → Add key → JSON).`, [
      { path: where, message: 'not JSON' },
    ])
  }
  const parsed = serviceAccountSchema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const field = issue.path.join('.') || '(root)'
    throw new ValidationError(`${where} is not a service-account key file: ${field}: ${issue.message}. Download a JSON key (IAM & Admin → Service Accounts → Keys → Add key → JSON).`, [
      { path: `${where}.${field}`, message: issue.message },
    ])
  }
  registerSecret(parsed.data.private_key)
  for (const line of parsed.data.private_key.split(/\r?\n/)) if (!line.startsWith('-----')) registerSecret(line)
  return parsed.data
}

/** Access tokens of one service account for one scope. */
export interface AccessTokens {
  /** A valid token: the one kept, or a new one from the token URI. */
  get(signal: AbortSignal): Promise<string>
  /** Forgets the token kept (the service refused it), so the next `get` asks for a new one. */
  invalidate(): void
}

/**
 * Access tokens for `account`, asked for at `tokenUri` (default the key file's `token_uri`, else
 * Google's), each kept until a minute before it expires; concurrent `get`s share one request.
 *
 * @example
 * ```ts
 * const tokens = serviceAccountTokens({ name: 'gcsPubsub', account, scope: 'https://www.googleapis.com/auth/pubsub' })
 * headers.authorization = `Bearer ${await tokens.get(signal)}`
 * ```
 */
export function serviceAccountTokens(options: { name: string; account: ServiceAccount; scope: string; tokenUri?: string; timeoutMs?: number }): AccessTokens {
  const { name, account, scope } = options
  const tokenUri = options.tokenUri ?? account.token_uri ?? googleTokenUri
  const timeoutMs = options.timeoutMs ?? 10_000
  let key: KeyObject
  try {
    key = createPrivateKey(account.private_key)
  } catch {
    throw new ValidationError(`${name}(): the service account's private_key is not a PEM private key; use the key file exactly as downloaded.`, [
      { path: 'private_key', message: 'not a PEM private key' },
    ])
  }
  let kept: { token: string; expiresAt: number } | undefined
  let asking: Promise<string> | undefined

  async function ask(signal: AbortSignal): Promise<string> {
    const issuedAt = Math.floor(Date.now() / 1000)
    const header: Record<string, string> = { alg: 'RS256', typ: 'JWT' }
    if (account.private_key_id) header.kid = account.private_key_id
    const claims = { iss: account.client_email, scope, aud: tokenUri, iat: issuedAt, exp: issuedAt + 3600 }
    const unsigned = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`
    const assertion = `${unsigned}.${sign('sha256', Buffer.from(unsigned), key).toString('base64url')}`
    let response: Response
    try {
      response = await fetch(tokenUri, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString(),
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
      })
    } catch (error) {
      throw new DeliveryError(`${name}: could not reach the token URI ${new URL(tokenUri).origin}: ${scrubProcessSecrets((error as Error).message)}`, { retryable: true })
    }
    const text = await response.text().catch(() => '')
    if (!response.ok) {
      // invalid_grant (a deleted key, a wrong clock) will not heal by itself: only 408, 429 and 5xx are retried.
      throw new DeliveryError(`${name}: the token URI answered ${response.status}: ${scrubProcessSecrets(text.slice(0, 300))}`, {
        status: response.status,
        retryable: isRetryableHttpStatus(response.status),
      })
    }
    const answer = tokenAnswer(text)
    if (answer === undefined) throw new DeliveryError(`${name}: the token URI's answer has no access_token: ${scrubProcessSecrets(text.slice(0, 200))}`, { retryable: true })
    kept = { token: answer.token, expiresAt: Date.now() + answer.expiresInSeconds * 1000 }
    return answer.token
  }

  return {
    async get(signal) {
      if (kept !== undefined && Date.now() < kept.expiresAt - refreshMarginMs) return kept.token
      asking ??= ask(signal).finally(() => {
        asking = undefined
      })
      return asking
    },
    invalidate() {
      kept = undefined
    },
  }
}

function tokenAnswer(text: string): { token: string; expiresInSeconds: number } | undefined {
  try {
    const parsed = JSON.parse(text) as { access_token?: unknown; expires_in?: unknown }
    if (typeof parsed.access_token !== 'string' || parsed.access_token === '') return undefined
    const expiresIn = Number(parsed.expires_in)
    return { token: parsed.access_token, expiresInSeconds: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 3600 }
  } catch {
    return undefined
  }
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url')
}
