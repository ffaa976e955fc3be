/**
 * The guide's Recipe 3, "Logging to a Database", ported with a real database: a hand-written
 * CustomLogger that inserts one row per call into PostgreSQL through `pg`, then the ready-made
 * `postgres()` layer, which does the same with LiteLLM's spend-log columns, in batches, on the
 * delivery queue. The script works in a database of its own and drops it at the end.
 * Needs PostgreSQL (default postgresql://postgres@127.0.0.1:5432/postgres; set EXAMPLE_POSTGRES_URL).
 * Run: npx tsx examples/database-logger.ts
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { createClient, CustomLogger, type LoggerKwargs, type LoggerResponse } from 'llm-onion'
import { customLogger, postgres } from 'llm-onion/middleware'

interface LogRow {
  call_id: string
  user_id: string | null
  model: string
  prompt_tokens: number | null
  cost_usd: number | null
  status: 'success' | 'failure' | 'cancelled'
  error: string | null
  response_json: string | null
}

const createTable = `CREATE TABLE IF NOT EXISTS llm_logs (
  call_id TEXT PRIMARY KEY, user_id TEXT, model TEXT NOT NULL, prompt_tokens INTEGER, cost_usd DOUBLE PRECISION,
  status TEXT NOT NULL, error TEXT, response_json JSONB, logged_at TIMESTAMPTZ NOT NULL DEFAULT now())`

class DatabaseLoggingHandler extends CustomLogger {
  constructor(private readonly pool: pg.Pool) {
    super()
  }

  private async insert(row: LogRow): Promise<void> {
    await this.pool.query(
      'INSERT INTO llm_logs (call_id, user_id, model, prompt_tokens, cost_usd, status, error, response_json) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
      [row.call_id, row.user_id, row.model, row.prompt_tokens, row.cost_usd, row.status, row.error, row.response_json],
    )
  }

  override async asyncLogSuccessEvent(kwargs: LoggerKwargs, response: LoggerResponse) {
    const row: LogRow = {
      call_id: kwargs.litellm_call_id,
      user_id: kwargs.user ?? null,
      model: response.model || kwargs.model,
      prompt_tokens: response.usage?.prompt_tokens ?? null,
      cost_usd: kwargs.response_cost ?? null,
      status: 'success',
      error: null,
      response_json: JSON.stringify(response), // store the full response if you need it
    }
    console.log(`[DB_HANDLER] Logging success: ${row.call_id}`)
    await this.insert(row)
  }

  override async asyncLogFailureEvent(kwargs: LoggerKwargs) {
    const event = kwargs.standard_logging_object!
    console.log(`[DB_HANDLER] Logging ${event.status}: ${kwargs.litellm_call_id}`)
    await this.insert({
      call_id: kwargs.litellm_call_id,
      user_id: kwargs.user ?? null,
      model: kwargs.model,
      prompt_tokens: null,
      cost_usd: kwargs.response_cost ?? null,
      status: event.status,
      error: `${kwargs.exception?.name}: ${kwargs.exception?.message}`,
      response_json: null,
    })
  }
}

// A database of the example's own on the server, dropped at the end.
const server = new URL(process.env.EXAMPLE_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres')
const databaseName = `llm_onion_example_${randomBytes(4).toString('hex')}`
const admin = new pg.Client({ connectionString: server.href })
await admin.connect()
await admin.query(`CREATE DATABASE ${databaseName}`)
const databaseUrl = new URL(server)
databaseUrl.pathname = `/${databaseName}`
const pool = new pg.Pool({ connectionString: databaseUrl.href })
// A pool must listen for errors: an idle connection the server ends (a restart, a failover, the DROP
// below) would otherwise crash the process. The next query opens a new connection.
pool.on('error', (error) => console.warn(`[DB_HANDLER] idle connection lost: ${error.message}`))

let failed = false
try {
  await pool.query(createTable)
  const dbLogger = new DatabaseLoggingHandler(pool)
  // The hand-written handler, and beside it the ready-made layer writing LiteLLM's spend-log columns.
  const client = createClient()
    .use(customLogger(dbLogger))
    .use(postgres({ connectionString: databaseUrl.href, table: 'spend_logs' }))

  const messages = [{ role: 'user' as const, content: 'Store me' }]
  await client.chat({ model: 'mock/gpt-4o-mini', messages, user: 'user-42' })
  await client.embed({ model: 'mock/text-embedding-3-small', input: ['store me too'], user: 'user-42' })
  await client.chat({ model: 'mock/gpt-4o-mini', messages, user: 'user-42', mock_error: { status: 400, message: 'Bad request' } }).catch(() => undefined)
  await client.close() // the inserts run in the background; close() waits for them

  const { rows } = await pool.query<LogRow>('SELECT call_id, user_id, model, prompt_tokens, status, error FROM llm_logs ORDER BY logged_at')
  console.table(rows.map(({ call_id, user_id, model, prompt_tokens, status, error }) => ({ call_id: call_id.slice(0, 8), user_id, model, prompt_tokens, status, error })))
  const spendLogs = await pool.query('SELECT request_id, call_type, model_group, end_user, total_tokens, status FROM spend_logs ORDER BY "startTime"')
  console.table(spendLogs.rows.map((row) => ({ ...row, request_id: String(row.request_id).slice(0, 8) })))
  failed = rows.length !== 3 || spendLogs.rows.length !== 3
} finally {
  await pool.end()
  await admin.query(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`)
  await admin.end()
}
if (failed) process.exit(1)
