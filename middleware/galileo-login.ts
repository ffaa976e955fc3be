/**
 * Galileo Observe on a self-hosted (enterprise) cluster takes a short-lived bearer token, not the
 * user's password: the username and password are exchanged at `POST {base}/login` (a form, as
 * LiteLLM's litellm/integrations/galileo.py does), in the background before the first batch and
 * again when the token is about to expire.
 */
import { isRetryableHttpStatus } from '../src/delivery/http-sink'
import { cachedBearer, type BearerHeaders } from '../src/delivery/bearer-token-cache'
import { DeliveryError } from '../src/delivery/sink'
import { registerSecret } from '../src/secret-scrubber'

/** How long a token is reused when neither `expires_in` nor the JWT's `exp` says (Galileo does not document it). */
const fallbackLifetimeMs = 30 * 60_000
/** How long before its expiry a token is replaced. */
const refreshMarginMs = 60_000

/** What the login needs. */
export interface GalileoLogin {
  /** `{base}/login`. */
  url: string
  username: string
  password: string
}

/**
 * The `headersFor` of galileo()'s sink in the login flow: `Authorization: Bearer <token>`, the token
 * fetched on the first batch and reused until a minute before it expires. Batches sent at once share
 * one login; a failed login is forgotten, so the batch's retry logs in anew.
 *
 * @example
 * ```ts
 * const headersFor = galileoAuthorization({ url: 'https://api.galileo.example.com/login', username, password }, 10_000)
 * await headersFor() // { authorization: 'Bearer eyJ...' }
 * ```
 */
export function galileoAuthorization(login: GalileoLogin, timeoutMs: number): BearerHeaders {
  return cachedBearer(async () => {
    const { accessToken, expiresAt } = await fetchGalileoToken(login, timeoutMs)
    return { token: accessToken, renewAt: expiresAt - refreshMarginMs }
  })
}

/**
 * One login: a form POST of `username` and `password`, answered `{ access_token, ... }`. The token
 * is kept until `expires_in` (seconds) when the answer has it, else until the JWT's `exp`, else for
 * 30 minutes. Failures are delivery errors (retried on 408, 429 and 5xx, like a batch); the answer's
 * text is never quoted, since it may echo the credentials.
 *
 * @example
 * ```ts
 * const { accessToken } = await fetchGalileoToken({ url: `${base}/login`, username, password }, 10_000)
 * ```
 */
export async function fetchGalileoToken(login: GalileoLogin, timeoutMs: number): Promise<{ accessToken: string; expiresAt: number }> {
  const form = new URLSearchParams({ username: login.username, password: login.password })
  let response: Response
  try {
    response = await fetch(login.url, {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      signal: AbortSignal.timeout(timeoutMs),
    })
  } catch (error) {
    throw new DeliveryError(`galileo: could not reach ${new URL(login.url).origin} to log in: ${(error as Error).message}`, { retryable: true, cause: error })
  }
  const body = (await response.json().catch(() => ({}))) as { access_token?: unknown; expires_in?: unknown }
  if (response.ok && typeof body.access_token === 'string' && body.access_token !== '') {
    // The token is a credential: scrubbed by value wherever it could show up (an error quoting an answer).
    registerSecret(body.access_token)
    return { accessToken: body.access_token, expiresAt: expiryOf(body.access_token, body.expires_in) }
  }
  throw new DeliveryError(
    `galileo: ${new URL(login.url).origin}/login answered ${response.status}${response.ok ? ' without an access_token' : ''}; check GALILEO_USERNAME and GALILEO_PASSWORD (or GALILEO_BASE_URL).`,
    { status: response.status, retryable: isRetryableHttpStatus(response.status) },
  )
}

/** When a token expires: `expires_in` seconds from now, else its JWT `exp` claim, else the fallback lifetime. */
function expiryOf(token: string, expiresIn: unknown): number {
  const seconds = Number(expiresIn)
  if (expiresIn !== undefined && expiresIn !== null && Number.isFinite(seconds) && seconds > 0) return Date.now() + seconds * 1000
  const claims = token.split('.')[1]
  if (claims !== undefined) {
    try {
      const exp = (JSON.parse(Buffer.from(claims, 'base64url').toString('utf8')) as { exp?: unknown }).exp
      if (typeof exp === 'number' && exp * 1000 > Date.now()) return exp * 1000
    } catch {
      // Not a JWT: the fallback lifetime.
    }
  }
  return Date.now() + fallbackLifetimeMs
}
