/**
 * The proxy's PostgreSQL connection for keys, users, teams and the spend-log reads: one `pg` pool,
 * opened on first use (`pg` is loaded then), with a time limit on connecting and on each statement so
 * a database that hangs cannot hold requests. The connection string's password is registered with
 * the scrubber, and every error leaves as a {@link RepositoryUnavailableError} (or a plain error for a
 * wrong statement) with credentials scrubbed.
 */
import type { Pool, PoolClient } from 'pg'
import { registerSecret, scrubProcessSecrets } from '../../secret-scrubber'
import { RepositoryUnavailableError } from './records'

/** PostgreSQL error classes that mean "not reachable now": connection, resources, shutdown. */
const unavailableClasses = new Set(['08', '53', '57'])

/**
 * A lazily opened pool and the two ways to use it.
 *
 * @example
 * ```ts
 * const database = openDatabase({ connectionString: process.env.DATABASE_URL!, timeoutMs: 3_000 })
 * const { rows } = await database.query('SELECT 1 AS one')
 * ```
 */
export interface Database {
  query<Row extends Record<string, unknown> = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: Row[] }>
  /** Runs `work` in a transaction (BEGIN ... COMMIT, ROLLBACK on a throw). */
  transaction<Result>(work: (client: PoolClient) => Promise<Result>): Promise<Result>
  close(): Promise<void>
}

/**
 * Opens (lazily) a pool on `connectionString`.
 *
 * @example
 * ```ts
 * const database = openDatabase({ connectionString: 'postgresql://postgres@127.0.0.1:5432/app', timeoutMs: 3_000 })
 * ```
 */
export function openDatabase(options: { connectionString: string; timeoutMs: number; maxConnections?: number }): Database {
  registerSecret(options.connectionString)
  let pool: Pool | undefined
  const open = async (): Promise<Pool> => {
    if (pool) return pool
    const { default: pg } = await import('pg')
    const opened = new pg.Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 4,
      connectionTimeoutMillis: options.timeoutMs,
      query_timeout: options.timeoutMs,
    })
    // An idle connection the server drops must not crash the proxy; the next query reconnects.
    opened.on('error', () => undefined)
    pool ??= opened
    return pool
  }
  return {
    async query(text, values) {
      try {
        const database = await open()
        return (await database.query(text, values)) as { rows: never[] }
      } catch (error) {
        throw asDatabaseError(error)
      }
    },
    async transaction(work) {
      let client: PoolClient
      try {
        client = await (await open()).connect()
      } catch (error) {
        throw asDatabaseError(error)
      }
      try {
        await client.query('BEGIN')
        const result = await work(client)
        await client.query('COMMIT')
        return result
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined)
        throw asDatabaseError(error)
      } finally {
        client.release()
      }
    },
    async close() {
      const open = pool
      pool = undefined
      await open?.end()
    },
  }
}

/**
 * A database error as the proxy passes it on: unreachable (no SQLSTATE, or a connection, resource or
 * shutdown class) becomes {@link RepositoryUnavailableError}; the message never carries a credential.
 */
export function asDatabaseError(error: unknown): Error {
  if (error instanceof RepositoryUnavailableError) return error
  const code = (error as { code?: unknown }).code
  const message = scrubProcessSecrets(error instanceof Error ? error.message : String(error))
  const sqlState = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined
  if (sqlState === undefined || unavailableClasses.has(sqlState.slice(0, 2)) || /timeout/i.test(message)) {
    return new RepositoryUnavailableError(`PostgreSQL is unavailable (${message || 'no answer'}); check DATABASE_URL / general_settings.database_url and that the server is up.`)
  }
  const wrapped = new Error(`PostgreSQL: ${message}`)
  ;(wrapped as Error & { code?: string }).code = sqlState
  return wrapped
}
