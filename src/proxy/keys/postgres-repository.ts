/**
 * Keys, users and teams in PostgreSQL, in a schema of their own (default `llm_onion`), tables named as
 * LiteLLM names them (`LiteLLM_VerificationToken`, `LiteLLM_UserTable`, `LiteLLM_TeamTable`) with the
 * columns of {@link KeyRecord}, {@link UserRecord} and {@link TeamRecord}. The schema and tables are
 * created on first use, under an advisory lock so that replicas starting together do not race.
 * Keys are stored as their sha256 hash (`token`), never as themselves.
 */
import type { Database } from './database'
import { DuplicateAliasError, type KeyFilter, type KeyRecord, type KeyRepository, type TeamRecord, type UserRecord } from './records'

const keyColumns = ['token', 'key_name', 'key_alias', 'user_id', 'team_id', 'models', 'max_budget', 'budget_duration', 'tpm_limit', 'rpm_limit', 'max_parallel_requests', 'metadata', 'expires', 'blocked', 'created_at', 'updated_at'] as const
const userColumns = ['user_id', 'user_alias', 'user_email', 'models', 'max_budget', 'budget_duration', 'tpm_limit', 'rpm_limit', 'metadata', 'created_at', 'updated_at'] as const
const teamColumns = ['team_id', 'team_alias', 'models', 'max_budget', 'budget_duration', 'tpm_limit', 'rpm_limit', 'metadata', 'blocked', 'created_at', 'updated_at'] as const

const jsonColumns = new Set(['models', 'metadata'])
const timeColumns = new Set(['expires', 'created_at', 'updated_at'])
const numberColumns = new Set(['max_budget', 'tpm_limit', 'rpm_limit', 'max_parallel_requests'])

/** An arbitrary constant for pg_advisory_xact_lock: serialises the tables' creation across processes. */
const schemaLock = 7_318_004_211

function tables(schema: string): string[] {
  const at = (table: string) => `${quote(schema)}.${quote(table)}`
  return [
    `CREATE SCHEMA IF NOT EXISTS ${quote(schema)}`,
    `CREATE TABLE IF NOT EXISTS ${at('LiteLLM_VerificationToken')} (
      token TEXT PRIMARY KEY, key_name TEXT NOT NULL, key_alias TEXT UNIQUE, user_id TEXT, team_id TEXT,
      models JSONB NOT NULL DEFAULT '[]', max_budget DOUBLE PRECISION, budget_duration TEXT, tpm_limit BIGINT,
      rpm_limit BIGINT, max_parallel_requests INTEGER, metadata JSONB NOT NULL DEFAULT '{}', expires TIMESTAMPTZ,
      blocked BOOLEAN NOT NULL DEFAULT FALSE, created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS verification_token_user_id ON ${at('LiteLLM_VerificationToken')} (user_id)`,
    `CREATE INDEX IF NOT EXISTS verification_token_team_id ON ${at('LiteLLM_VerificationToken')} (team_id)`,
    `CREATE TABLE IF NOT EXISTS ${at('LiteLLM_UserTable')} (
      user_id TEXT PRIMARY KEY, user_alias TEXT, user_email TEXT, models JSONB NOT NULL DEFAULT '[]',
      max_budget DOUBLE PRECISION, budget_duration TEXT, tpm_limit BIGINT, rpm_limit BIGINT,
      metadata JSONB NOT NULL DEFAULT '{}', created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${at('LiteLLM_TeamTable')} (
      team_id TEXT PRIMARY KEY, team_alias TEXT, models JSONB NOT NULL DEFAULT '[]', max_budget DOUBLE PRECISION,
      budget_duration TEXT, tpm_limit BIGINT, rpm_limit BIGINT, metadata JSONB NOT NULL DEFAULT '{}',
      blocked BOOLEAN NOT NULL DEFAULT FALSE, created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL)`,
  ]
}

/**
 * A {@link KeyRepository} on PostgreSQL.
 *
 * @example
 * ```ts
 * const repository = postgresKeyRepository(openDatabase({ connectionString, timeoutMs: 3_000 }), 'llm_onion')
 * await repository.saveKey(record)
 * ```
 */
export function postgresKeyRepository(database: Database, schema = 'llm_onion'): KeyRepository {
  const table = (name: string) => `${quote(schema)}.${quote(name)}`
  const keys = table('LiteLLM_VerificationToken')
  const users = table('LiteLLM_UserTable')
  const teams = table('LiteLLM_TeamTable')
  let ready: Promise<void> | undefined
  const ensureTables = (): Promise<void> =>
    (ready ??= database
      .transaction(async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1)', [schemaLock])
        for (const statement of tables(schema)) await client.query(statement)
      })
      .catch((error: unknown) => {
        ready = undefined
        throw error
      }))
  const select = async <Row>(text: string, values: unknown[], columns: readonly string[]): Promise<Row[]> => {
    await ensureTables()
    const { rows } = await database.query(text, values)
    return rows.map((row) => fromRow(row, columns) as Row)
  }
  const upsert = async (target: string, key: string, columns: readonly string[], record: Record<string, unknown>): Promise<void> => {
    await ensureTables()
    const list = columns.map(quote).join(', ')
    const placeholders = columns.map((_, index) => `$${index + 1}`).join(', ')
    const updates = columns.filter((column) => column !== key && column !== 'created_at').map((column) => `${quote(column)} = EXCLUDED.${quote(column)}`).join(', ')
    await database.query(`INSERT INTO ${target} (${list}) VALUES (${placeholders}) ON CONFLICT (${quote(key)}) DO UPDATE SET ${updates}`, columns.map((column) => toColumn(column, record[column])))
  }

  return {
    kind: 'postgres',
    async getKey(token) {
      return (await select<KeyRecord>(`SELECT * FROM ${keys} WHERE token = $1`, [token], keyColumns))[0]
    },
    async getKeyByAlias(alias) {
      return (await select<KeyRecord>(`SELECT * FROM ${keys} WHERE key_alias = $1`, [alias], keyColumns))[0]
    },
    async saveKey(record) {
      try {
        await upsert(keys, 'token', keyColumns, record as unknown as Record<string, unknown>)
      } catch (error) {
        if ((error as { code?: string }).code === '23505' && record.key_alias !== null) throw new DuplicateAliasError(record.key_alias)
        throw error
      }
    },
    async deleteKeys(tokens) {
      if (tokens.length === 0) return []
      await ensureTables()
      const { rows } = await database.query<{ token: string }>(`DELETE FROM ${keys} WHERE token = ANY($1::text[]) RETURNING token`, [tokens])
      return rows.map((row) => row.token)
    },
    async listKeys(filter: KeyFilter) {
      const wanted = (['user_id', 'team_id', 'key_alias'] as const).filter((column) => filter[column] !== undefined)
      const where = wanted.length === 0 ? '' : ` WHERE ${wanted.map((column, index) => `${quote(column)} = $${index + 1}`).join(' AND ')}`
      return select<KeyRecord>(`SELECT * FROM ${keys}${where} ORDER BY created_at`, wanted.map((column) => filter[column]), keyColumns)
    },
    async getUser(userId) {
      return (await select<UserRecord>(`SELECT * FROM ${users} WHERE user_id = $1`, [userId], userColumns))[0]
    },
    async saveUser(record) {
      await upsert(users, 'user_id', userColumns, record as unknown as Record<string, unknown>)
    },
    async getTeam(teamId) {
      return (await select<TeamRecord>(`SELECT * FROM ${teams} WHERE team_id = $1`, [teamId], teamColumns))[0]
    },
    async saveTeam(record) {
      await upsert(teams, 'team_id', teamColumns, record as unknown as Record<string, unknown>)
    },
    close: () => database.close(),
  }
}

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`
}

function toColumn(column: string, value: unknown): unknown {
  if (jsonColumns.has(column)) return JSON.stringify(value ?? (column === 'models' ? [] : {}))
  return value ?? null
}

/** A row as a record: JSONB comes parsed, TIMESTAMPTZ as a Date (made ISO), BIGINT as a string (made a number). */
function fromRow(row: Record<string, unknown>, columns: readonly string[]): Record<string, unknown> {
  const record: Record<string, unknown> = {}
  for (const column of columns) {
    const value = row[column]
    if (timeColumns.has(column)) record[column] = value instanceof Date ? value.toISOString() : (value ?? null)
    else if (numberColumns.has(column)) record[column] = value === null || value === undefined ? null : Number(value)
    else record[column] = value ?? null
  }
  return record
}
