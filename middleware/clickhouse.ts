/**
 * ClickHouse: LiteLLM's `clickhouse` callback, over ClickHouse's HTTP interface: every call as a row
 * of a `spend_logs` table (LiteLLM's name and columns), created on first use, inserted in batches as
 * JSONEachRow on the shared delivery queue.
 */
import { z } from 'zod'
import { ValidationError } from '../src/errors'
import type { CallEvent } from '../src/event'
import { defineExporter } from '../src/integrations/exporter'
import { clickhouseSink, type ClickhouseRow } from '../src/delivery/clickhouse-sink'
import { integrationOptionsSchema, readSetting, requireSetting, type Environment } from '../src/integrations/options'
import { defineIntegration } from '../src/integrations/descriptor'
import { spendLogColumns, spendLogJsonColumns, toSpendLogRow } from '../src/integrations/spend-log'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { lazySchema } from '../src/lazy-schema'
import { isoTime } from '../src/iso-time'

const identifier = lazySchema(() =>
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'letters, digits and _, not starting with a digit'),
)

const clickhouseOptionsSchema = lazySchema(() =>
  integrationOptionsSchema
    .extend({
      host: z.string().min(1).optional(),
      port: z.number().int().min(1).max(65_535).optional(),
      username: z.string().min(1).optional(),
      password: z.string().optional(),
      database: identifier.optional(),
      table: identifier.optional(),
      maxBatchSize: z.number().int().positive().max(10_000).optional(),
      timeoutMs: z.number().int().positive().optional(),
    })
    .strict(),
)

/**
 * Options of {@link clickhouse}, besides the common ones (`moments`, `redact`, `env`).
 * - `host`: default `CLICKHOUSE_HOST` (required unless `baseUrl`): a host name, or a URL with its scheme.
 * - `port`: default `CLICKHOUSE_PORT`, else 8123 (8443 for an `https://` host).
 * - `baseUrl`: the whole HTTP interface URL, instead of `host` and `port`.
 * - `username`: default `CLICKHOUSE_USERNAME`, else `default`; `password`: default `CLICKHOUSE_PASSWORD`, else none.
 * - `database`: default `default`; `table`: default `spend_logs` (LiteLLM's), created on first use.
 * - `moments`: default `['success', 'failure']`; `maxBatchSize`: rows per INSERT, default 100; `timeoutMs`: default 10,000.
 */
export type ClickhouseOptions = z.input<typeof clickhouseOptionsSchema>

/**
 * clickhouse() in the catalogue. Switched on only when asked for: an app that keeps its own data in
 * ClickHouse has `CLICKHOUSE_HOST` set without wanting a `spend_logs` table.
 *
 * @example
 * ```ts
 * clickhouseIntegration.factory({ table: 'calls' }) // what callbacks({ success: ['clickhouse'] }) builds
 * ```
 */
export const clickhouseIntegration = defineIntegration({
  name: 'clickhouse',
  aliases: [],
  switchedOnBy: [],
  position: 'exporters',
  takesEnv: true,
  factory: clickhouse,
})

/**
 * Writes every call to ClickHouse in the background: one row per call with LiteLLM's spend-log
 * columns (JSON columns as strings, times in UTC), batched into `INSERT ... FORMAT JSONEachRow`
 * requests. A ClickHouse that is down never fails a call: batches are retried, then counted as dropped.
 *
 * @example
 * ```ts
 * // CLICKHOUSE_HOST=clickhouse.internal CLICKHOUSE_USERNAME=writer CLICKHOUSE_PASSWORD=... in the environment
 * client.use(clickhouse())
 * client.use(clickhouse({ baseUrl: 'http://127.0.0.1:8123', database: 'llm', table: 'calls' }))
 * ```
 */
export function clickhouse(options: ClickhouseOptions = {}): Middleware {
  const settings = validate(clickhouseOptionsSchema, options, 'clickhouse() options')
  const env = settings.env ?? process.env
  const password = readSetting(settings.password, 'CLICKHOUSE_PASSWORD', env)
  return defineExporter<ClickhouseRow>({
    name: 'clickhouse',
    moments: settings.moments,
    redact: settings.redact,
    sink: clickhouseSink({
      name: 'clickhouse',
      baseUrl: interfaceUrl(settings, env),
      username: readSetting(settings.username, 'CLICKHOUSE_USERNAME', env) ?? 'default',
      password,
      database: settings.database ?? 'default',
      table: settings.table ?? 'spend_logs',
      maxBatchSize: settings.maxBatchSize,
      timeoutMs: settings.timeoutMs,
    }),
    toItems: toClickhouseRow,
  })
}

/** Maps the standard event to its spend-log row as JSONEachRow takes it. */
export function toClickhouseRow(event: CallEvent): ClickhouseRow {
  const row = toSpendLogRow(event) as unknown as Record<string, unknown>
  const encoded = {} as Record<string, string | number | null>
  for (const column of spendLogColumns) {
    const value = row[column]
    if (spendLogJsonColumns.has(column)) encoded[column] = JSON.stringify(value ?? null)
    else if (column === 'startTime' || column === 'endTime' || column === 'completionStartTime') encoded[column] = value === null ? null : dateTime(value as number)
    else encoded[column] = value as string | number | null
  }
  return encoded as ClickhouseRow
}

/** `YYYY-MM-DD hh:mm:ss` in UTC, what a `DateTime('UTC')` column parses in every ClickHouse version. */
function dateTime(epochMs: number): string {
  return isoTime(epochMs).slice(0, 19).replace('T', ' ')
}

function interfaceUrl(settings: { baseUrl?: string; host?: string; port?: number }, env: Environment): string {
  if (settings.baseUrl !== undefined) return settings.baseUrl.replace(/\/+$/, '')
  const host = requireSetting({ integration: 'clickhouse', option: 'host', variable: 'CLICKHOUSE_HOST' }, settings.host, env)
  const portText = readSetting(settings.port === undefined ? undefined : String(settings.port), 'CLICKHOUSE_PORT', env)
  const withScheme = /^https?:\/\//i.test(host) ? host : `http://${host}`
  if (!URL.canParse(withScheme) || (portText !== undefined && !/^\d{1,5}$/.test(portText))) {
    throw new ValidationError(
      `clickhouse(): CLICKHOUSE_HOST / CLICKHOUSE_PORT do not make a URL (${JSON.stringify(host)}, ${JSON.stringify(portText ?? '')}); give a host such as clickhouse.internal and a port such as 8123.`,
      [{ path: 'host', message: 'not a host' }],
    )
  }
  const url = new URL(withScheme)
  url.port = portText ?? (url.port || (url.protocol === 'https:' ? '8443' : '8123'))
  return url.origin
}
