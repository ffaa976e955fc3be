/**
 * What never leaves the process (credentials) and what leaves only when allowed (message content).
 */

export const REDACTED = '[redacted]'

/** Client-wide or per-layer redaction. */
export interface RedactOptions {
  /** Replace prompt and completion content with `"[redacted]"` in every event and export. */
  messages?: boolean
}

const secretHeader = /^(authorization|proxy-authorization|cookie|set-cookie|x-api-key|api-key|[a-z0-9-]*-api-key|x-goog-api-key|x-sentry-auth)$/i
const secretKey = /^(api_?key|apikey|authorization|password|secret|access_token|master_key|[a-z0-9_]*_api_key)$/i

/** True for a header that carries a credential (`Authorization`, `api-key`, `x-api-key`, `*-api-key`, ...). */
export function isSecretHeader(name: string): boolean {
  return secretHeader.test(name)
}

/** Headers without credentials, names lower-cased. */
export function stripSecretHeaders(headers: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  if (!headers) return out
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || isSecretHeader(name)) continue
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value)
  }
  return out
}

/** A shallow copy of `record` without credential keys (`api_key`, `authorization`, `*_api_key`, ...), recursing into plain objects. */
export function stripSecretKeys<T>(value: T, depth = 0): T {
  if (depth > 6 || value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map((item) => stripSecretKeys(item, depth + 1)) as T
  const out: Record<string, unknown> = {}
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (secretKey.test(key)) continue
    out[key] = stripSecretKeys(item, depth + 1)
  }
  return out as T
}
