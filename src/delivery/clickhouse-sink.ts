/**
 * A sink that writes spend-log rows to a ClickHouse table over its HTTP interface: one
 * `INSERT INTO db.table FORMAT JSONEachRow` per batch (through `httpSink`'s keep-alive pool), the
 * table created on first use with one `CREATE TABLE IF NOT EXISTS`. Credentials go in ClickHouse's
 * `X-ClickHouse-User` / `X-ClickHouse-Key` headers, never in the URL, as LiteLLM's client sends them.
 */
import { httpSink, isRetryableHttpStatus } from './http-sink'
import { scrubProcessSecrets } from '../secret-scrubber'
import { DeliveryError, type Sink } from './sink'
import { spendLogColumns } from '../integrations/spend-log'

export interface ClickhouseSinkOptions {
  /** Names the sink in counters and warnings. */
  name: string
  /** The HTTP interface, `http://host:8123`, without a trailing slash. */
  baseUrl: string
  username: string
  password?: string
  database: string
  table: string
  maxBatchSize?: number
  timeoutMs?: number
}

/** One row as JSONEachRow takes it: times as `YYYY-MM-DD hh:mm:ss` (UTC), JSON columns as strings. */
export type ClickhouseRow = Record<(typeof spendLogColumns)[number], string | number | null>

/**
 * Column types: LiteLLM's ClickHouse `spend_logs` (String, Float64, DateTime) widened to every
 * spend-log column; types any ClickHouse since 18.x knows (no DateTime64, no JSON type).
 */
const columnTypes: Record<(typeof spendLogColumns)[number], string> = {
  request_id: 'String', call_type: 'String', api_key: 'String', spend: 'Float64', total_tokens: 'UInt64',
  prompt_tokens: 'UInt64', completion_tokens: 'UInt64', startTime: "DateTime('UTC')", endTime: "DateTime('UTC')",
  request_duration_ms: 'UInt64', completionStartTime: "Nullable(DateTime('UTC'))", model: 'String', model_id: 'String',
  model_group: 'String', custom_llm_provider: 'String', api_base: 'String', user: 'String', metadata: 'String',
  cache_hit: 'String', cache_key: 'String', request_tags: 'String', team_id: 'Nullable(String)',
  organization_id: 'Nullable(String)', end_user: 'Nullable(String)', requester_ip_address: 'Nullable(String)',
  messages: 'String', response: 'String', session_id: 'String', status: 'String',
}

/**
 * A {@link Sink} of JSONEachRow rows into `database.table` over ClickHouse's HTTP interface.
 *
 * @example
 * ```ts
 * const sink = clickhouseSink({ name: 'clickhouse', baseUrl: 'http://127.0.0.1:8123', username: 'default', database: 'default', table: 'spend_logs' })
 * ```
 */
export function clickhouseSink(options: ClickhouseSinkOptions): Sink<ClickhouseRow> {
  const { name, baseUrl, timeoutMs = 10_000 } = options
  const table = `${quote(options.database)}.${quote(options.table)}`
  const headers: Record<string, string> = { 'x-clickhouse-user': options.username }
  if (options.password !== undefined) headers['x-clickhouse-key'] = options.password
  const insertQuery = new URLSearchParams({ query: `INSERT INTO ${table} FORMAT JSONEachRow`, input_format_skip_unknown_fields: '1' })
  const inserts = httpSink<ClickhouseRow>({
    name,
    url: `${baseUrl}/?${insertQuery}`,
    headers,
    contentType: 'application/x-ndjson',
    maxBatchSize: options.maxBatchSize ?? 100,
    encode: (rows) => rows.map((row) => JSON.stringify(row)).join('\n'),
    timeoutMs,
  })
  let tableReady: Promise<void> | undefined

  async function createTable(signal: AbortSignal): Promise<void> {
    const columns = spendLogColumns.map((column) => `${quote(column)} ${columnTypes[column]}`).join(', ')
    if (options.database !== 'default') await execute(`CREATE DATABASE IF NOT EXISTS ${quote(options.database)}`, signal)
    await execute(`CREATE TABLE IF NOT EXISTS ${table} (${columns}) ENGINE = MergeTree ORDER BY (startTime, request_id)`, signal)
  }

  async function execute(statement: string, signal: AbortSignal): Promise<void> {
    let response: Response
    try {
      // Once per sink: the hot path (the inserts) goes through httpSink's keep-alive pool.
      response = await fetch(`${baseUrl}/`, { method: 'POST', headers, body: statement, signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) })
    } catch (error) {
      throw new DeliveryError(`${name}: could not reach ClickHouse to create ${table}: ${scrubProcessSecrets((error as Error).message)}`, { retryable: true })
    }
    if (!response.ok) {
      const text = scrubProcessSecrets((await response.text()).slice(0, 500))
      throw new DeliveryError(`${name}: creating ${table} failed with HTTP ${response.status}: ${text}`, {
        status: response.status,
        retryable: isRetryableHttpStatus(response.status),
      })
    }
  }

  return {
    name,
    maxBatchSize: inserts.maxBatchSize,
    async send(rows, signal) {
      tableReady ??= createTable(signal).catch((error: unknown) => {
        tableReady = undefined
        throw error
      })
      await tableReady
      return inserts.send(rows, signal)
    },
    async close() {
      tableReady = undefined
      await inserts.close?.()
    },
  }
}

/** A back-quoted identifier; names are checked by the options schema, back quotes escaped all the same. */
function quote(identifier: string): string {
  return `\`${identifier.replaceAll('\\', '\\\\').replaceAll('`', '\\`')}\``
}
