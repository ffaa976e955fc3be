/**
 * The guide's Recipe 3, "Logging to a Database", ported with a real local store: a JSON-lines table
 * behind an async interface (swap in your pg / mongodb client; the handler does not change).
 * Run: npx tsx examples/database-logger.ts
 */
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient, CustomLogger, type LoggerKwargs, type LoggerResponse } from 'llm-onion'
import { customLogger } from 'llm-onion/middleware'

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

/** An append-only table in a JSON-lines file, with the async interface a database client has. */
class JsonLinesTable<Row> {
  constructor(private readonly path: string) {}
  async insert(row: Row): Promise<void> {
    await appendFile(this.path, `${JSON.stringify(row)}\n`)
  }
  async all(): Promise<Row[]> {
    const text = await readFile(this.path, 'utf8').catch(() => '')
    return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Row)
  }
}

class DatabaseLoggingHandler extends CustomLogger {
  constructor(private readonly table: JsonLinesTable<LogRow>) {
    super()
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
    await this.table.insert(row)
  }

  override async asyncLogFailureEvent(kwargs: LoggerKwargs) {
    const event = kwargs.standard_logging_object!
    console.log(`[DB_HANDLER] Logging ${event.status}: ${kwargs.litellm_call_id}`)
    await this.table.insert({
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

const directory = await mkdtemp(join(tmpdir(), 'llm-onion-'))
const table = new JsonLinesTable<LogRow>(join(directory, 'llm_logs.jsonl'))
const dbLogger = new DatabaseLoggingHandler(table)
const client = createClient().use(customLogger(dbLogger))

const messages = [{ role: 'user' as const, content: 'Store me' }]
await client.chat({ model: 'mock/gpt-4o-mini', messages, user: 'user-42' })
await client.embed({ model: 'mock/text-embedding-3-small', input: ['store me too'], user: 'user-42' })
await client.chat({ model: 'mock/gpt-4o-mini', messages, user: 'user-42', mock_error: { status: 400, message: 'Bad request' } }).catch(() => undefined)
await client.close() // the inserts run in the background; close() waits for them

const rows = await table.all()
console.table(rows.map(({ call_id, user_id, model, prompt_tokens, status, error }) => ({ call_id: call_id.slice(0, 8), user_id, model, prompt_tokens, status, error })))
await rm(directory, { recursive: true })
if (rows.length !== 3) process.exit(1)
