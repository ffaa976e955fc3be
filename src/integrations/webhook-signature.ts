/**
 * The webhook signature: HMAC-SHA256 over `${timestamp}.${body}` with a shared secret, sent as
 * `x-llm-onion-signature: t=<unix seconds>,v1=<hex digest>` (the scheme Stripe made familiar). The
 * timestamp is inside what is signed, so a receiver that rejects old timestamps cannot be replayed
 * an old request; a retried batch is signed again with a fresh timestamp.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'

/** The header name used unless the `webhook()` option `signatureHeader` says otherwise. */
export const defaultSignatureHeader = 'x-llm-onion-signature'

/**
 * The signature header's value for `body`, signed now (or at `timestampSeconds`).
 *
 * @example
 * ```ts
 * signWebhookBody('whsec-123', '[{"id":"call-1"}]') // 't=1764870000,v1=5f0c...'
 * ```
 */
export function signWebhookBody(secret: string, body: string | Uint8Array, timestampSeconds = Math.floor(Date.now() / 1000)): string {
  const digest = createHmac('sha256', secret).update(`${timestampSeconds}.`).update(body).digest('hex')
  return `t=${timestampSeconds},v1=${digest}`
}

/**
 * Whether `header` is a valid signature of `body` made with `secret` at most `toleranceSeconds`
 * (default 300) from now. Compares in constant time; accepts any of several `v1=` values (a secret
 * being rotated).
 *
 * @example
 * ```ts
 * if (!verifyWebhookSignature({ secret, header: request.headers['x-llm-onion-signature'], body: rawBody })) response.writeHead(401)
 * ```
 */
export function verifyWebhookSignature(options: {
  secret: string
  header: string | string[] | undefined
  body: string | Uint8Array
  toleranceSeconds?: number
  nowSeconds?: number
}): boolean {
  const header = Array.isArray(options.header) ? options.header[0] : options.header
  if (!header) return false
  const parts = header.split(',').map((part) => part.trim().split('=') as [string, string | undefined])
  const timestamp = Number(parts.find(([name]) => name === 't')?.[1])
  if (!Number.isInteger(timestamp)) return false
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000)
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300)) return false
  const expected = Buffer.from(signWebhookBody(options.secret, options.body, timestamp).split('v1=')[1]!, 'hex')
  return parts.some(([name, value]) => {
    if (name !== 'v1' || !value || !/^[0-9a-f]{64}$/.test(value)) return false
    return timingSafeEqual(Buffer.from(value, 'hex'), expected)
  })
}
