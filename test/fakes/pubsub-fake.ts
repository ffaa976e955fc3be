/**
 * A local stand-in for Google's OAuth token endpoint and Pub/Sub's REST publish, checked as Google
 * documents them:
 * - `POST /token` (developers.google.com/identity/protocols/oauth2/service-account#httprest):
 *   form-encoded `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>`; the JWT's
 *   RS256 signature is verified with the service account's public key by `node:crypto`, and its
 *   claims checked (`iss` the account, `aud` this token URI, a Pub/Sub `scope`, `iat`/`exp` at most
 *   an hour apart and current). It answers `{ access_token, expires_in, token_type }`.
 * - `POST /v1/projects/{project}/topics/{topic}:publish` (cloud.google.com/pubsub/docs/reference/rest/v1/projects.topics/publish):
 *   a bearer token this fake issued and that has not expired, `application/json`, 1 to 1,000
 *   messages, each with base64 `data` and string attributes. It answers `{ messageIds }`.
 */
import { randomBytes, verify, type KeyObject } from 'node:crypto'
import type { ReceivedRequest } from '../../src/testing/receiver'
import { startRecordingServer, type FakeAnswer, type RecordingServer } from './recording-server'

export interface PubsubFake extends RecordingServer {
  /** The token URI to put in the key file: `{url}/token`. */
  tokenUri: string
  /** The messages published to `projects/{project}/topics/{topic}`: data parsed as JSON, attributes. */
  messages(): Array<{ data: unknown; attributes: Record<string, string> }>
  /** How many tokens were asked for. */
  tokenRequests(): number
}

const pubsubScopes = ['https://www.googleapis.com/auth/pubsub', 'https://www.googleapis.com/auth/cloud-platform']

/** Starts the fake for one topic, trusting the service account `clientEmail` whose public key is `publicKey`. */
export async function startPubsubFake(settings: {
  clientEmail: string
  publicKey: KeyObject
  project: string
  topic: string
  /** `expires_in` of the tokens it issues (default 3,600 s). */
  tokenLifetimeSeconds?: number
  /** false: publish without a token, as the Pub/Sub emulator does (default true). */
  requireToken?: boolean
}): Promise<PubsubFake> {
  const issued = new Map<string, number>()
  const published: Array<{ data: unknown; attributes: Record<string, string> }> = []
  let tokenRequests = 0
  const lifetime = settings.tokenLifetimeSeconds ?? 3600
  const googleError = (status: number, state: string, message: string): FakeAnswer => ({ status, body: { error: { code: status, message, status: state } } })
  const grantError = (description: string): FakeAnswer => ({ status: 400, body: { error: 'invalid_grant', error_description: description } })
  let server: RecordingServer

  function token(request: ReceivedRequest): FakeAnswer {
    tokenRequests++
    if (request.headers['content-type'] !== 'application/x-www-form-urlencoded') return { status: 400, body: { error: 'invalid_request', error_description: 'form-encoded body expected' } }
    const form = new URLSearchParams(request.text)
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return { status: 400, body: { error: 'unsupported_grant_type', error_description: String(form.get('grant_type')) } }
    const parts = (form.get('assertion') ?? '').split('.')
    if (parts.length !== 3) return grantError('Invalid JWT: not three parts')
    const [head, body, signature] = parts as [string, string, string]
    const header = JSON.parse(Buffer.from(head, 'base64url').toString()) as { alg?: string; typ?: string }
    if (header.alg !== 'RS256') return grantError(`Invalid JWT: alg ${header.alg} is not RS256`)
    if (!verify('sha256', Buffer.from(`${head}.${body}`), settings.publicKey, Buffer.from(signature, 'base64url'))) return grantError('Invalid JWT Signature.')
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as { iss?: string; aud?: string; scope?: string; iat?: number; exp?: number }
    const now = Date.now() / 1000
    if (claims.iss !== settings.clientEmail) return grantError(`Invalid JWT: iss ${claims.iss} is not a known service account`)
    if (claims.aud !== `${server.url}/token`) return grantError(`Invalid JWT: aud ${claims.aud} is not this token URI`)
    if (!String(claims.scope).split(' ').some((scope) => pubsubScopes.includes(scope))) return grantError(`Invalid JWT: scope ${claims.scope} does not allow Pub/Sub`)
    if (typeof claims.iat !== 'number' || typeof claims.exp !== 'number' || claims.exp - claims.iat > 3600 || claims.exp < now || Math.abs(claims.iat - now) > 300) {
      return grantError('Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.')
    }
    const accessToken = `ya29.fake-${randomBytes(24).toString('base64url')}`
    issued.set(accessToken, Date.now() + lifetime * 1000)
    return { status: 200, body: { access_token: accessToken, expires_in: lifetime, token_type: 'Bearer' } }
  }

  function publish(request: ReceivedRequest): FakeAnswer {
    const bearer = /^Bearer (\S+)$/.exec(String(request.headers.authorization ?? ''))?.[1]
    const expiresAt = bearer === undefined ? undefined : issued.get(bearer)
    if (settings.requireToken !== false && (expiresAt === undefined || expiresAt <= Date.now())) return googleError(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token.')
    if (request.path !== `/v1/projects/${settings.project}/topics/${settings.topic}:publish`) return googleError(404, 'NOT_FOUND', `Resource not found (resource=${request.path}).`)
    if (!String(request.headers['content-type']).startsWith('application/json')) return googleError(400, 'INVALID_ARGUMENT', 'Content-Type must be application/json')
    const messages = (request.json as { messages?: unknown } | undefined)?.messages
    if (!Array.isArray(messages) || messages.length === 0 || messages.length > 1000) return googleError(400, 'INVALID_ARGUMENT', 'The value for message_count is out of range: 1 to 1000 messages.')
    const accepted: typeof published = []
    for (const message of messages as Array<{ data?: unknown; attributes?: unknown }>) {
      const data = message.data
      if (typeof data !== 'string' || data === '' || Buffer.from(data, 'base64').toString('base64') !== data) return googleError(400, 'INVALID_ARGUMENT', 'Invalid value at messages.data (TYPE_BYTES), base64 expected')
      const attributes = (message.attributes ?? {}) as Record<string, unknown>
      if (Object.entries(attributes).some(([name, value]) => typeof value !== 'string' || name.startsWith('goog') || Buffer.byteLength(value) > 1024)) {
        return googleError(400, 'INVALID_ARGUMENT', 'Invalid attributes: string values of at most 1024 bytes, names not starting with goog')
      }
      accepted.push({ data: JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as unknown, attributes: attributes as Record<string, string> })
    }
    published.push(...accepted)
    return { status: 200, body: { messageIds: accepted.map(() => String(BigInt(`0x${randomBytes(7).toString('hex')}`))) } }
  }

  server = await startRecordingServer((request) => {
    if (request.method === 'POST' && request.path === '/token') return token(request)
    if (request.method === 'POST' && request.path.endsWith(':publish')) return publish(request)
    return googleError(404, 'NOT_FOUND', `${request.method} ${request.path} is not served by this fake`)
  })
  return Object.assign(server, {
    tokenUri: `${server.url}/token`,
    messages: () => [...published],
    tokenRequests: () => tokenRequests,
  })
}
