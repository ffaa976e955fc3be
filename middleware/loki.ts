/**
 * Grafana Loki: each finished call as one log line (the JSON event) pushed to
 * `POST {url}/loki/api/v1/push`, grouped into streams by a few low-cardinality labels.
 */
import { z } from 'zod'
import type { CallEvent } from '../src/event'
import { defineExporter } from '../src/integrations/exporter'
import { httpSink } from '../src/delivery/http-sink'
import { integrationOptionsSchema, readBaseUrl, readSetting } from '../src/integrations/options'
import { ValidationError } from '../src/errors'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { defineIntegration } from '../src/integrations/descriptor'
import { lazySchema } from '../src/lazy-schema'
import { eventJson } from '../src/event-json'

const labelName = lazySchema(() => z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'must be a Loki label name (letters, digits, _)'))

const lokiOptionsSchema = lazySchema(() =>
  integrationOptionsSchema
    .extend({
      username: z.string().min(1).optional(),
      password: z.string().min(1).optional(),
      tenantId: z.string().min(1).optional(),
      service: z.string().min(1).optional(),
      labels: z.record(labelName, z.string()).optional(),
      structuredMetadata: z.boolean().optional(),
      gzip: z.boolean().optional(),
      maxBatchSize: z.number().int().positive().optional(),
      timeoutMs: z.number().int().positive().optional(),
    })
    .strict(),
)

/**
 * Options of {@link loki}, besides the common ones (`moments`, `redact`, `env`).
 * - `baseUrl`: Loki's URL, default `LOKI_URL` (required; there is no public default).
 * - `username` / `password`: basic auth (Grafana Cloud), default `LOKI_USERNAME` / `LOKI_PASSWORD`, else none.
 * - `tenantId`: `X-Scope-OrgID` of a multi-tenant Loki, default `LOKI_TENANT_ID`, else none.
 * - `service`: the `service` label, default `llm-onion`.
 * - `labels`: more fixed labels for every line (`{ env: 'prod' }`), default none.
 * - `structuredMetadata`: attach `call_id`, `trace_id` and `user` as structured metadata (Loki 3+), default true.
 * - `gzip`: compress each push, default true.
 * - `moments`: default `['success', 'failure']`.
 * - `maxBatchSize`: lines per push, default 100. `timeoutMs`: per-request time limit, default 10,000.
 */
export type LokiOptions = z.input<typeof lokiOptionsSchema>

/** One log entry before it is grouped into a stream. */
export interface LokiEntry {
  stream: Record<string, string>
  value: [string, string] | [string, string, Record<string, string>]
}

/**
 * loki() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * lokiIntegration.factory({ moments: ['failure'] }) // what callbacks({ failure: ['loki'] }) builds
 * ```
 */
export const lokiIntegration = defineIntegration({
  name: 'loki',
  aliases: [],
  switchedOnBy: [['LOKI_URL']],
  position: 'exporters',
  takesEnv: true,
  factory: loki,
})

/**
 * Pushes every call to Grafana Loki: the log line is the JSON event; labels are `service`,
 * `provider`, `model` and `status` (plus your fixed `labels`) so streams stay few; the call id, trace
 * id and user travel as structured metadata, never as labels.
 *
 * @example
 * ```ts
 * // LOKI_URL=http://localhost:3100 in the environment
 * client.use(loki({ labels: { env: 'staging' } }))
 * // then in Grafana: {service="llm-onion", status="failure"} | json | latencyMs > 2000
 * ```
 */
export function loki(options: LokiOptions = {}): Middleware {
  const settings = validate(lokiOptionsSchema, options, 'loki() options')
  const env = settings.env ?? process.env
  if (readSetting(settings.baseUrl, 'LOKI_URL', env) === undefined) {
    throw new ValidationError(
      "loki() needs LOKI_URL: set LOKI_URL in the environment (for example http://localhost:3100) or pass { baseUrl: '...' } to loki().",
      [{ path: 'baseUrl', message: 'missing; set LOKI_URL' }],
    )
  }
  const base = readBaseUrl('loki', settings.baseUrl, 'LOKI_URL', 'http://localhost:3100', env)
  const headers: Record<string, string> = {}
  const username = readSetting(settings.username, 'LOKI_USERNAME', env)
  const password = readSetting(settings.password, 'LOKI_PASSWORD', env)
  if (username !== undefined || password !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${username ?? ''}:${password ?? ''}`).toString('base64')}`
  }
  const tenantId = readSetting(settings.tenantId, 'LOKI_TENANT_ID', env)
  if (tenantId !== undefined) headers['x-scope-orgid'] = tenantId
  const fixedLabels = { ...settings.labels, service: settings.service ?? 'llm-onion' }
  const structuredMetadata = settings.structuredMetadata ?? true

  return defineExporter<LokiEntry>({
    name: 'loki',
    moments: settings.moments,
    redact: settings.redact,
    sink: httpSink({
      name: 'loki',
      url: `${base}/loki/api/v1/push`,
      headers,
      gzip: settings.gzip ?? true,
      maxBatchSize: settings.maxBatchSize ?? 100,
      encode: toLokiPush,
      timeoutMs: settings.timeoutMs,
    }),
    toItems: (event) => toLokiEntry(event, fixedLabels, structuredMetadata),
  })
}

/** Maps the standard event to one Loki entry with its stream labels. */
export function toLokiEntry(event: CallEvent, fixedLabels: Record<string, string>, structuredMetadata = true): LokiEntry {
  const stream = { ...fixedLabels, provider: event.provider ?? 'unknown', model: event.model, status: event.status }
  // Loki wants nanoseconds as a decimal string; milliseconds + six zeros stays exact.
  const timestamp = `${Math.trunc(event.endTime)}000000`
  const line = eventJson(event)
  if (!structuredMetadata) return { stream, value: [timestamp, line] }
  const metadata: Record<string, string> = { call_id: event.id, trace_id: event.traceId }
  if (event.user !== undefined) metadata.user = event.user
  return { stream, value: [timestamp, line, metadata] }
}

/** Groups entries by their label set into Loki's push body. */
export function toLokiPush(entries: LokiEntry[]): { streams: Array<{ stream: Record<string, string>; values: LokiEntry['value'][] }> } {
  const streams = new Map<string, { stream: Record<string, string>; values: LokiEntry['value'][] }>()
  for (const entry of entries) {
    const key = JSON.stringify(entry.stream)
    let group = streams.get(key)
    if (!group) streams.set(key, (group = { stream: entry.stream, values: [] }))
    group.values.push(entry.value)
  }
  return { streams: [...streams.values()] }
}
