/**
 * A sink that writes spend-log rows to a PostgreSQL table over `pg`: one multi-row INSERT per batch,
 * the table created on first use. `pg` is loaded on the first send, so importing the middleware stays
 * light, and its pool is opened then and ended by `close()` (a later send opens it again).
 *
 * A retried batch that the server had in fact committed does not duplicate rows: `request_id` is the
 * primary key and the INSERT skips ids already there (`ON CONFLICT DO NOTHING`).
 */
import type { Pool } from 'pg'
import { scrubProcessSecrets } from '../secret-scrubber'
import { DeliveryError, type SendResult, type Sink } from './sink'
import { spendLogColumns, spendLogJsonColumns, type SpendLogRow } from '../integrations/spend-log'
import { isoTime } from '../iso-time'

export interface PostgresSinkOptions {
  /** Names the sink in counters and warnings. */
  name: string
  /** `postgresql://user:password@host:port/database`. */
  connectionString: string
  /** Schema of the table; created if missing unless it is `public`. */
  schema: string
  table: string
  /** Largest batch per INSERT (default 100). */
  maxBatchSize?: number
  /** Time limit for connecting and for each statement, in ms (default 10,000). */
  timeoutMs?: number
}

/** Column types, LiteLLM's `LiteLLM_SpendLogs` as Prisma creates it in PostgreSQL. */
const columnTypes: Record<(typeof spendLogColumns)[number], string> = {
  request_id: 'TEXT PRIMARY KEY', call_type: 'TEXT NOT NULL', api_key: "TEXT NOT NULL DEFAULT ''",
  spend: 'DOUBLE PRECISION NOT NULL DEFAULT 0', total_tokens: 'INTEGER NOT NULL DEFAULT 0',
  prompt_tokens: 'INTEGER NOT NULL DEFAULT 0', completion_tokens: 'INTEGER NOT NULL DEFAULT 0',
  startTime: 'TIMESTAMP(3) NOT NULL', endTime: 'TIMESTAMP(3) NOT NULL', request_duration_ms: 'INTEGER',
  completionStartTime: 'TIMESTAMP(3)', model: "TEXT NOT NULL DEFAULT ''", model_id: "TEXT DEFAULT ''",
  model_group: "TEXT DEFAULT ''", custom_llm_provider: "TEXT DEFAULT ''", api_base: "TEXT DEFAULT ''",
  user: "TEXT DEFAULT ''", metadata: "JSONB DEFAULT '{}'", cache_hit: "TEXT DEFAULT ''", cache_key: "TEXT DEFAULT ''",
  request_tags: "JSONB DEFAULT '[]'", team_id: 'TEXT', organization_id: 'TEXT', end_user: 'TEXT',
  requester_ip_address: 'TEXT', messages: "JSONB DEFAULT '{}'", response: "JSONB DEFAULT '{}'", session_id: 'TEXT',
  status: 'TEXT',
}

/** PostgreSQL error classes where trying again can help: connection, resources, shutdown, serialization. */
const retryableClasses = new Set(['08', '40', '53', '57'])

/**
 * A {@link Sink} of spend-log rows into `schema.table`.
 *
 * @example
 * ```ts
 * const sink = postgresSink({ name: 'postgres', connectionString: process.env.DATABASE_URL!, schema: 'public', table: 'llm_onion_spend_logs' })
 * ```
 */
export function postgresSink(options: PostgresSinkOptions): Sink<SpendLogRow> {
  const { name, connectionString, timeoutMs = 10_000 } = options
  const table = `${quote(options.schema)}.${quote(options.table)}`
  const columnList = spendLogColumns.map(quote).join(', ')
  let pool: Pool | undefined
  let tableReady: Promise<void> | undefined

  async function openPool(): Promise<Pool> {
    if (pool) return pool
    const { default: pg } = await import('pg')
    const opened = new pg.Pool({ connectionString, max: 2, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs })
    // An idle connection the server drops must not crash the process; the next query reconnects.
    opened.on('error', () => undefined)
    pool = opened
    return opened
  }

  /**
   * `CREATE ... IF NOT EXISTS` is not safe against itself: when replicas or workers run it at the
   * same moment, the losers fail ("type already exists", a unique violation in the catalog). So the
   * creation holds a transaction-scoped advisory lock named after the table.
   */
  async function createTable(database: Pool): Promise<void> {
    const columns = spendLogColumns.map((column) => `${quote(column)} ${columnTypes[column]}`).join(', ')
    const connection = await database.connect()
    try {
      await connection.query('BEGIN')
      await connection.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`llm-onion:${table}`])
      if (options.schema !== 'public') await connection.query(`CREATE SCHEMA IF NOT EXISTS ${quote(options.schema)}`)
      await connection.query(`CREATE TABLE IF NOT EXISTS ${table} (${columns})`)
      await connection.query('COMMIT')
    } catch (error) {
      await connection.query('ROLLBACK').catch(() => undefined)
      throw error
    } finally {
      connection.release()
    }
  }

  return {
    name,
    maxBatchSize: options.maxBatchSize ?? 100,
    async send(rows) {
      const unencodable: NonNullable<SendResult['unencodable']> = []
      const values: unknown[] = []
      const tuples: string[] = []
      rows.forEach((row, index) => {
        try {
          const encoded = spendLogColumns.map((column) => encodeValue(column, row[column]))
          const first = values.length
          values.push(...encoded)
          tuples.push(`(${encoded.map((_, offset) => `$${first + offset + 1}`).join(', ')})`)
        } catch (error) {
          unencodable.push({ index, error })
        }
      })
      if (tuples.length === 0) throw new DeliveryError(`${name}: no row of the batch could be encoded`, { retryable: false, unencodable: true })
      try {
        const database = await openPool()
        tableReady ??= createTable(database).catch((error: unknown) => {
          tableReady = undefined
          throw error
        })
        await tableReady
        await database.query(`INSERT INTO ${table} (${columnList}) VALUES ${tuples.join(', ')} ON CONFLICT ("request_id") DO NOTHING`, values)
      } catch (error) {
        throw asDeliveryError(name, error)
      }
      return unencodable.length > 0 ? { unencodable } : undefined
    },
    async close() {
      const open = pool
      pool = undefined
      tableReady = undefined
      await open?.end()
    },
  }
}

/** A double-quoted identifier; names are checked by the options schema, quotes doubled all the same. */
function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`
}

function encodeValue(column: string, value: unknown): unknown {
  // pg would turn a JS array into a PostgreSQL array literal: JSON columns are encoded here instead.
  if (spendLogJsonColumns.has(column)) return JSON.stringify(value ?? null).replaceAll('\\u0000', '')
  if (column === 'startTime' || column === 'endTime' || column === 'completionStartTime') {
    // UTC wall time, as Prisma stores LiteLLM's TIMESTAMP(3) columns (the zone of a literal is ignored).
    return value === null ? null : isoTime(value as number)
  }
  return value
}

function asDeliveryError(name: string, error: unknown): DeliveryError {
  const code = (error as { code?: unknown }).code
  const message = scrubProcessSecrets(error instanceof Error ? error.message : String(error))
  // No SQLSTATE: a network failure (refused, reset, timed out), which a retry can outlast.
  const retryable = typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code) || retryableClasses.has(code.slice(0, 2))
  return new DeliveryError(`${name}: ${message}`, { retryable })
}

