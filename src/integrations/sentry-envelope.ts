/**
 * Sentry's wire format without the Sentry SDK: DSN parsing, the envelope endpoint and its
 * `X-Sentry-Auth` header, the event shape and the envelope that carries it, and V8 stack traces as
 * Sentry frames.
 */
import { randomUUID } from 'node:crypto'
import { version } from '../../package.json'
import { ValidationError } from '../errors'

/** The parts of a DSN (`{protocol}://{publicKey}@{host}{path}/{projectId}`). */
export interface SentryDsn {
  protocol: 'http' | 'https'
  publicKey: string
  /** Host with its port when the DSN gives one. */
  host: string
  /** Path before the project id, without a trailing slash (`''` for sentry.io). */
  path: string
  projectId: string
}

/** `llm-onion/<version>`, as `sentry_client`. */
export const sentryClientName = `llm-onion/${version}`

/** The event's and the envelope's `sdk`. */
export const sentrySdk = { name: 'llm-onion', version }

/**
 * Parses a DSN; a malformed one fails naming `SENTRY_DSN` and what is wrong.
 *
 * @example
 * ```ts
 * parseDsn('https://abc123@o1.ingest.sentry.io/42') // { protocol: 'https', publicKey: 'abc123', host: 'o1.ingest.sentry.io', path: '', projectId: '42' }
 * ```
 */
export function parseDsn(dsn: string): SentryDsn {
  const fail = (why: string): never => {
    throw new ValidationError(
      `sentry(): SENTRY_DSN (or the dsn option) ${why}; copy the DSN from Sentry's project settings, shaped https://<public key>@<host>/<project id>.`,
      [{ path: 'dsn', message: why }],
    )
  }
  if (!URL.canParse(dsn)) fail('is not a URL')
  const url = new URL(dsn)
  const protocol = url.protocol.slice(0, -1)
  if (protocol !== 'http' && protocol !== 'https') fail(`uses ${url.protocol} instead of https: or http:`)
  if (url.username === '') fail('has no public key before the @')
  const segments = url.pathname.split('/').filter((segment) => segment !== '')
  const projectId = segments.pop()
  if (projectId === undefined || !/^\d+$/.test(projectId)) fail('does not end with a numeric project id')
  return {
    protocol: protocol as SentryDsn['protocol'],
    publicKey: decodeURIComponent(url.username),
    host: url.host,
    path: segments.length > 0 ? `/${segments.join('/')}` : '',
    projectId: projectId!,
  }
}

/** `{protocol}://{host}{path}/api/{projectId}/envelope/`. */
export function envelopeUrl(dsn: SentryDsn): string {
  return `${dsn.protocol}://${dsn.host}${dsn.path}/api/${dsn.projectId}/envelope/`
}

/** The `X-Sentry-Auth` header value; the public key is all Sentry asks for (the secret key is long obsolete). */
export function sentryAuthHeader(dsn: SentryDsn): string {
  return `Sentry sentry_version=7, sentry_key=${dsn.publicKey}, sentry_client=${sentryClientName}`
}

/** A stack frame as Sentry reads it. */
export interface SentryFrame {
  function?: string
  filename: string
  abs_path: string
  lineno: number
  colno: number
  in_app: boolean
}

/** A breadcrumb as Sentry reads it (`timestamp` in seconds). */
export interface SentryBreadcrumb {
  timestamp: number
  type: 'default'
  category: string
  level: 'info' | 'warning' | 'error'
  message: string
  data?: Record<string, unknown>
}

/** The error event this library sends; a subset of Sentry's event payload. */
export interface SentryEvent {
  event_id: string
  timestamp: number
  platform: 'node'
  level: 'error'
  logger: string
  environment: string
  release?: string
  exception: { values: Array<{ type: string; value: string; stacktrace?: { frames: SentryFrame[] }; mechanism: { type: string; handled: boolean } }> }
  breadcrumbs: { values: SentryBreadcrumb[] }
  tags: Record<string, string>
  contexts: Record<string, Record<string, unknown>>
  user?: { id: string }
  sdk: { name: string; version: string }
}

/** A new 32-hex event id. */
export function sentryEventId(): string {
  return randomUUID().replaceAll('-', '')
}

/**
 * The envelope of one event: envelope header, item header, payload, each on its own line. Like
 * Sentry's SDKs, the event item carries no `length`: JSON has no raw newline, so the line ends it.
 */
export function buildEnvelope(event: SentryEvent, sentAt: Date = new Date()): string {
  const payload = JSON.stringify(event)
  const header = JSON.stringify({ event_id: event.event_id, sent_at: sentAt.toISOString(), sdk: event.sdk })
  return `${header}\n${JSON.stringify({ type: 'event' })}\n${payload}\n`
}

// `    at name (file:line:col)`, `    at file:line:col`, `    at async name (file:line:col)`.
const frameLine = /^\s*at (?:async )?(?:(.+?) \()?(.+?):(\d+):(\d+)\)?$/

/**
 * The frames of a V8 stack trace, oldest first as Sentry wants them. Frames in `node_modules` or
 * Node's own (`node:`) are marked not in-app.
 */
export function parseStackFrames(stack: string | undefined): SentryFrame[] {
  if (!stack) return []
  const frames: SentryFrame[] = []
  for (const line of stack.split('\n')) {
    const match = frameLine.exec(line)
    if (!match) continue
    const [, name, location, lineno, colno] = match
    const absPath = location!.startsWith('file://') ? decodeURIComponent(location!.slice('file://'.length)) : location!
    frames.push({
      ...(name ? { function: name } : {}),
      filename: absPath,
      abs_path: absPath,
      lineno: Number(lineno),
      colno: Number(colno),
      in_app: !absPath.includes('/node_modules/') && !absPath.startsWith('node:'),
    })
  }
  return frames.reverse()
}
