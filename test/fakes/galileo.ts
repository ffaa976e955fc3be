/**
 * A local stand-in for the Galileo endpoints galileo() talks to, checking each request with code of
 * its own (nothing shared with the library) against what LiteLLM's litellm/integrations/galileo.py
 * sends and Galileo takes:
 * - `POST /login`: a form (`application/x-www-form-urlencoded`) with the known username and
 *   password; answers a fresh `{ access_token, token_type }` (with `expires_in` when told to);
 * - `POST /projects/{project}/observe/ingest`: a bearer token this fake issued, JSON
 *   `{ records: [...] }`, every record with the fields and types of Galileo Observe's record;
 * - `POST /v2/projects/{project}/spans`: the known `Galileo-API-Key`, JSON `{ spans: [...],
 *   reliable: false, log_stream_id? }`, every span an LLM span with its fields and types.
 * Every request is kept in `requests` (as the shared receiver keeps them); one that fails a check
 * is answered 401 or 422, as Galileo would, and kept in `refused` with the reason.
 */
import { randomBytes } from 'node:crypto'
import type { ReceivedRequest } from '../../src/testing/receiver'
import { startRecordingServer, type FakeAnswer } from './recording-server'

export interface GalileoFakeOptions {
  projectId: string
  username?: string
  password?: string
  apiKey?: string
  /** Seconds a token lives, sent as `expires_in` (default: not sent). */
  expiresIn?: number
  /** Issue JWTs whose `exp` is this many seconds away, and no `expires_in` (default: opaque tokens). */
  jwtExpiresIn?: number
}

export interface GalileoFake {
  url: string
  /** Every request received, logins included. */
  requests: ReceivedRequest[]
  /** Tokens issued, in order. */
  tokens: string[]
  /** Accepted records (the observe/ingest API) and spans (the v2 API), in order, with the request's headers. */
  records: Array<Record<string, unknown>>
  spans: Array<Record<string, unknown>>
  /** The bodies of the accepted spans requests (besides the spans: `reliable`, `log_stream_id`). */
  spanBatches: Array<Record<string, unknown>>
  /** Refused requests: path and why. */
  refused: Array<{ path: string; reason: string }>
  close(): Promise<void>
}

/** The fields of a record, and the check of each value. */
const recordFields: Record<string, (value: unknown) => boolean> = {
  latency_ms: Number.isInteger,
  status_code: Number.isInteger,
  input_text: (value) => typeof value === 'string',
  output_text: (value) => typeof value === 'string',
  node_type: (value) => typeof value === 'string',
  model: (value) => typeof value === 'string',
  num_input_tokens: Number.isInteger,
  num_output_tokens: Number.isInteger,
  created_at: (value) => typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(value),
  output_logprobs: (value) => value === null || (typeof value === 'object' && !Array.isArray(value)),
  tags: (value) => value === null || (Array.isArray(value) && value.every((tag) => typeof tag === 'string')),
  user_metadata: (value) => value === null || (typeof value === 'object' && !Array.isArray(value)),
}

const isMessage = (value: unknown): boolean => {
  const message = value as { role?: unknown; content?: unknown } | null
  return typeof message === 'object' && message !== null && typeof message.role === 'string' && typeof message.content === 'string'
}

/** The fields of a v2 LLM span, and the check of each value. */
const spanFields: Record<string, (value: unknown) => boolean> = {
  type: (value) => value === 'llm',
  name: (value) => typeof value === 'string' && value !== '',
  created_at: (value) => typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(value),
  input: (value) => Array.isArray(value) && value.length > 0 && value.every(isMessage),
  output: (value) => isMessage(value) && (value as { role: string }).role === 'assistant',
  status_code: Number.isInteger,
  model: (value) => typeof value === 'string',
  metrics: (value) => {
    const metrics = value as Record<string, unknown> | null
    return typeof metrics === 'object' && metrics !== null && ['duration_ns', 'num_input_tokens', 'num_output_tokens'].every((name) => Number.isInteger(metrics[name]))
  },
}

/** Why `item` is not a valid record or span, or undefined. */
function invalid(item: unknown, fields: Record<string, (value: unknown) => boolean>): string | undefined {
  if (typeof item !== 'object' || item === null) return 'not an object'
  for (const [name, check] of Object.entries(fields)) {
    const value = (item as Record<string, unknown>)[name]
    if (!check(value)) return `${name}: ${JSON.stringify(value)}`
  }
  return undefined
}

export async function startGalileoFake(options: GalileoFakeOptions): Promise<GalileoFake> {
  const fake: Omit<GalileoFake, 'url' | 'close' | 'requests'> = { tokens: [], records: [], spans: [], spanBatches: [], refused: [] }
  const server = await startRecordingServer((request) => {
    const { path, text, json } = request
    const refuse = (status: number, reason: string): FakeAnswer => {
      fake.refused.push({ path, reason })
      return { status, body: { detail: reason } }
    }
    const contentType = String(request.headers['content-type'] ?? '')
    if (request.method !== 'POST') return refuse(405, `method ${request.method}`)

    if (path === '/login') {
      if (!contentType.startsWith('application/x-www-form-urlencoded')) return refuse(422, `login content type ${contentType}`)
      const form = new URLSearchParams(text)
      if (options.username === undefined || form.get('username') !== options.username || form.get('password') !== options.password) return refuse(401, 'wrong username or password')
      const opaque = `galileo-token-${randomBytes(8).toString('hex')}`
      const claims = { sub: options.username, exp: Math.floor(Date.now() / 1000) + (options.jwtExpiresIn ?? 0) }
      const jwt = () => [{ alg: 'HS256', typ: 'JWT' }, claims].map((part) => Buffer.from(JSON.stringify(part)).toString('base64url')).join('.') + `.${opaque}`
      const token = options.jwtExpiresIn === undefined ? opaque : jwt()
      fake.tokens.push(token)
      return { status: 200, body: options.expiresIn === undefined ? { access_token: token, token_type: 'bearer' } : { access_token: token, token_type: 'bearer', expires_in: options.expiresIn } }
    }

    if (path === `/projects/${options.projectId}/observe/ingest`) {
      const authorization = String(request.headers.authorization ?? '')
      if (!fake.tokens.some((token) => authorization === `Bearer ${token}`)) return refuse(401, 'no bearer token this fake issued')
      if (!contentType.startsWith('application/json')) return refuse(422, `content type ${contentType}`)
      const records = (json as { records?: unknown } | undefined)?.records
      if (!Array.isArray(records) || records.length === 0) return refuse(422, 'no records array')
      for (const record of records) {
        const reason = invalid(record, recordFields)
        if (reason) return refuse(422, `record ${reason}`)
      }
      fake.records.push(...(records as Array<Record<string, unknown>>))
      return { status: 200, body: { num_records: records.length, message: 'ok' } }
    }

    if (path === `/v2/projects/${options.projectId}/spans`) {
      if (options.apiKey === undefined || request.headers['galileo-api-key'] !== options.apiKey) return refuse(401, 'wrong or no Galileo-API-Key')
      if (!contentType.startsWith('application/json')) return refuse(422, `content type ${contentType}`)
      const batch = json as { spans?: unknown; reliable?: unknown; log_stream_id?: unknown } | undefined
      if (!Array.isArray(batch?.spans) || batch.spans.length === 0) return refuse(422, 'no spans array')
      if (typeof batch.reliable !== 'boolean') return refuse(422, 'reliable is not a boolean')
      if (batch.log_stream_id !== undefined && typeof batch.log_stream_id !== 'string') return refuse(422, 'log_stream_id is not a string')
      for (const span of batch.spans) {
        const reason = invalid(span, spanFields)
        if (reason) return refuse(422, `span ${reason}`)
      }
      fake.spanBatches.push(batch as Record<string, unknown>)
      fake.spans.push(...(batch.spans as Array<Record<string, unknown>>))
      return { status: 200, body: { ok: true } }
    }
    return refuse(404, `no such path ${path}`)
  })
  return { ...fake, url: server.url, requests: server.requests, close: server.close }
}
