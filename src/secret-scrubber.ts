/**
 * Scrubbing by value: every credential the client knows is replaced by `"[redacted]"` wherever it
 * appears in a string that leaves the process (events, exports, logs, error messages, proxy replies),
 * even where no key name says it is one — an upstream 401 that echoes the key, a key pasted into
 * metadata under a name nobody foresaw.
 *
 * Known values: the providers' keys (their options, so also `OPENAI_API_KEY` / `GEMINI_API_KEY`), the
 * environment's credential variables at client creation (`*_API_KEY`, `*_SECRET*`, `*_TOKEN`,
 * `*PASSWORD*`, `*_DSN`, `*WEBHOOK_URL*`, ...), every credential an integration was configured with
 * (read through `readSetting` / `requireSetting`, options or `env`), the client's `secrets` option,
 * and per call the request's `api_key` and the proxy request's credential headers.
 *
 * Values shorter than 8 characters are ignored: short ones ("ollama", "test") would replace ordinary
 * words everywhere, and no real credential is that short.
 *
 * Cost: one regex, the alternation of every known value, compiled when a value first becomes known
 * (never per call); a scan is about 3 bytes per nanosecond, and a string without a hit is returned
 * as it is, unallocated.
 */
import { cleanCopy, REDACTED, stripBearerTokens } from './redact'
import { isOwnKey } from './own-key'

/** Credentials shorter than this are not scrubbed by value (too many false hits). */
export const minimumSecretLength = 8


/** Environment variables that hold credentials, by name. */
const secretVariable = /(?:API_?KEY|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIALS?|(?:^|_)KEY$|_DSN$|^DSN$|WEBHOOK|_AUTH$)/i
/** Variables of `name=value,...` headers (`OTEL_EXPORTER_OTLP_HEADERS`): their values are credentials. */
const headersVariable = /_HEADERS$/i
/** Option names (camelCase) that hold credentials: `apiKey`, `secretKey`, `token`, `dsn`, `webhookUrl`, `password`. */
const secretOption = /(?:api_?key|secret|token|password|passwd|dsn|webhook|private_?key|master_?key|credentials?)/i

let processWide: string[] = []
let processVersion = 0

/** Replaces every known credential in strings; one per client, shared by all its calls. */
export interface SecretScrubber {
  /** Makes `values` known from now on (a URL also contributes its password, user and query values). */
  add(...values: Array<string | undefined>): void
  /** `text` with every known value (and `extra`, the call's own) replaced by `"[redacted]"`. */
  scrub(text: string, extra?: ReadonlyArray<string>): string
}

/**
 * Remembers a credential for every client in the process: integrations call it for the keys they
 * are configured with, since they are built before they are given to a client.
 *
 * @example
 * ```ts
 * registerSecret(process.env.MY_SERVICE_TOKEN)
 * ```
 */
export function registerSecret(value: string | undefined): void {
  const found = secretParts(value).filter((part) => !processWide.includes(part))
  if (found.length === 0) return
  processWide = [...processWide, ...found]
  processVersion++
}

/** True for an option or variable name that holds a credential (`apiKey`, `LANGFUSE_SECRET_KEY`, `SLACK_WEBHOOK_URL`). */
export function isSecretSettingName(name: string): boolean {
  return secretVariable.test(name) || secretOption.test(name)
}

/**
 * The scrubber of one client: it knows `values`, the environment's credential variables as they
 * are now, and every credential registered process-wide (now or later).
 *
 * @example
 * ```ts
 * const scrubber = createSecretScrubber(['sk-live-1234567890'])
 * scrubber.scrub('401: Incorrect API key provided: sk-live-1234567890') // '401: Incorrect API key provided: [redacted]'
 * ```
 */
export function createSecretScrubber(values: ReadonlyArray<string | undefined> = [], environment: NodeJS.ProcessEnv = process.env): SecretScrubber {
  const own = new Set<string>()
  let pattern: RegExp | undefined
  let stale = true
  let seenVersion = -1

  const add = (...more: Array<string | undefined>) => {
    for (const value of more) {
      for (const part of secretParts(value)) {
        if (own.has(part)) continue
        own.add(part)
        stale = true
      }
    }
  }
  add(...values)
  for (const name in environment) {
    if (secretVariable.test(name)) add(environment[name])
    else if (headersVariable.test(name)) add(...(environment[name] ?? '').split(',').map((pair) => pair.slice(pair.indexOf('=') + 1).replace(/^\s*(?:Bearer|Basic)\s+/i, '')))
  }

  const compiled = (): RegExp | undefined => {
    if (!stale && seenVersion === processVersion) return pattern
    stale = false
    seenVersion = processVersion
    // Longest first, so a value that contains another is replaced whole.
    const known = [...new Set([...own, ...processWide])].sort((a, b) => b.length - a.length)
    // Plain literals only: the bearer-token pattern is a separate, rarer pass (stripBearerTokens), so
    // this scan keeps the regex engine's fast skipping over text that cannot match.
    pattern = known.length === 0 ? undefined : new RegExp(known.map(escapeRegExp).join('|'), 'g')
    return pattern
  }

  return {
    add,
    scrub(text, extra) {
      const regex = compiled()
      let result = text
      if (regex) {
        regex.lastIndex = 0
        if (regex.test(text)) result = text.replace(regex, REDACTED)
      }
      result = stripBearerTokens(result)
      if (extra) {
        for (const value of extra) {
          if (value.length >= minimumSecretLength && result.includes(value)) result = result.split(value).join(REDACTED)
        }
      }
      return result
    },
  }
}

/**
 * The scrubbable parts of a credential: the value itself, and for a URL (a Sentry DSN, a Slack
 * webhook, a base URL with `?key=`) its user, password, query values and last path segment, which
 * may be echoed alone.
 */
export function secretParts(value: string | undefined): string[] {
  if (typeof value !== 'string') return []
  const trimmed = value.trim()
  const parts = [trimmed]
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) && URL.canParse(trimmed)) {
    const url = new URL(trimmed)
    parts.push(decodeSafe(url.username), decodeSafe(url.password), url.pathname.split('/').at(-1) ?? '')
    for (const [, parameter] of url.searchParams) parts.push(parameter)
  }
  return [...new Set(parts)].filter((part) => part.length >= minimumSecretLength)
}

function decodeSafe(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/**
 * Scrubs an error in place before it leaves: its message and stack, and down its `cause` chain the
 * SDK errors' own messages and the provider's error body they keep (`error`), which echo what the
 * upstream said. Errors that cannot be changed (frozen) are left as they are.
 */
export function scrubError(error: unknown, scrub: (text: string) => string): void {
  let current: unknown = error
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    try {
      const message = scrub(current.message)
      if (message !== current.message) current.message = message
      if (current.stack !== undefined) {
        const stack = scrub(current.stack)
        if (stack !== current.stack) current.stack = stack
      }
      const body = (current as { error?: unknown }).error
      if (body !== undefined && body !== null && typeof body === 'object') {
        ;(current as { error?: unknown }).error = cleanCopy(body, scrub)
      }
    } catch {
      // A read-only property: nothing better to do than leave it.
    }
    current = current.cause
  }
}

/**
 * `value` with every string scrubbed, copied only where something changed: a reply without a
 * credential in it (nearly all of them) is returned as the very same object.
 */
export function scrubDeep<T>(value: T, scrub: (text: string) => string, depth = 0): T {
  if (typeof value === 'string') return scrub(value) as T
  if (value === null || typeof value !== 'object') return value
  if (depth >= 32) return REDACTED as T
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined
    for (let index = 0; index < value.length; index++) {
      const item: unknown = value[index]
      if (typeof item === 'number') continue
      const clean = scrubDeep(item, scrub, depth + 1)
      if (clean !== item) (copy ??= value.slice())[index] = clean
    }
    return (copy ?? value) as T
  }
  let copy: Record<string, unknown> | undefined
  for (const key in value) {
    if (!isOwnKey(value, key)) continue
    const item = (value as Record<string, unknown>)[key]
    const clean = scrubDeep(item, scrub, depth + 1)
    if (clean !== item) (copy ??= { ...(value as Record<string, unknown>) })[key] = clean
  }
  return (copy ?? value) as T
}

let processScrubber: SecretScrubber | undefined

/**
 * `text` scrubbed of the credentials known process-wide (integrations' keys, the environment's
 * credential variables), for code that has no client at hand: a sink quoting what a service answered.
 *
 * @example
 * ```ts
 * throw new DeliveryError(`helicone answered 401: ${scrubProcessSecrets(body)}`, { retryable: false })
 * ```
 */
export function scrubProcessSecrets(text: string): string {
  return (processScrubber ??= createSecretScrubber()).scrub(text)
}
