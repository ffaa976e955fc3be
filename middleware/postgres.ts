/**
 * PostgreSQL: every call as a row of a spend-log table with LiteLLM's `LiteLLM_SpendLogs` columns,
 * written in batches (one multi-row INSERT each) over `pg` on the shared delivery queue. LiteLLM has no
 * `postgres` callback (its proxy writes that table itself); this is llm-onion's.
 */
import { z } from 'zod'
import { ValidationError } from '../src/errors'
import type { CallEvent } from '../src/event'
import { defineExporter } from '../src/integrations/exporter'
import { integrationOptionsSchema, requireSetting } from '../src/integrations/options'
import { defineIntegration } from '../src/integrations/descriptor'
import { postgresSink } from '../src/delivery/postgres-sink'
import { registerSecret } from '../src/secret-scrubber'
import { toSpendLogRow, type SpendLogRow } from '../src/integrations/spend-log'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { lazySchema } from '../src/lazy-schema'

const identifier = lazySchema(() =>
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'letters, digits and _, not starting with a digit, at most 63'),
)

const postgresOptionsSchema = lazySchema(() =>
  integrationOptionsSchema
    .omit({ baseUrl: true })
    .extend({
      connectionString: z.string().min(1).optional(),
      schema: identifier.optional(),
      table: identifier.optional(),
      maxBatchSize: z.number().int().positive().max(1000).optional(),
      timeoutMs: z.number().int().positive().optional(),
    })
    .strict(),
)

/**
 * Options of {@link postgres}, besides the common ones (`moments`, `redact`, `env`).
 * - `connectionString`: default `DATABASE_URL` (required), as LiteLLM's proxy reads it.
 * - `schema`: default `public`; another is created if missing.
 * - `table`: default `llm_onion_spend_logs`, created on first use (pass `LiteLLM_SpendLogs` to share LiteLLM's).
 * - `moments`: default `['success', 'failure']`.
 * - `maxBatchSize`: rows per INSERT, default 100.
 * - `timeoutMs`: time limit to connect and per statement, default 10,000.
 */
export type PostgresOptions = z.input<typeof postgresOptionsSchema>

/**
 * postgres() in the catalogue. Switched on only when asked for: `DATABASE_URL` is set in many apps for
 * their own database, which must not start receiving rows because `observability()` ran.
 *
 * @example
 * ```ts
 * postgresIntegration.factory({ table: 'calls' }) // what callbacks({ success: ['postgres'] }) builds
 * ```
 */
export const postgresIntegration = defineIntegration({
  name: 'postgres',
  aliases: [],
  switchedOnBy: [],
  position: 'exporters',
  takesEnv: true,
  factory: postgres,
})

/**
 * Writes every call to PostgreSQL in the background, one row per call in a table created on first
 * use, with LiteLLM's spend-log columns: `request_id`, `model`, `user`/`end_user`, tokens, `spend`,
 * `status`, `startTime`/`endTime`, `metadata`, `messages` and `response` (JSONB; content
 * `"[redacted]"` under `redact: { messages: true }`). A database that is down never fails a call:
 * its batches are retried, then counted as dropped.
 *
 * @example
 * ```ts
 * // DATABASE_URL=postgresql://app:secret@db:5432/app in the environment
 * client.use(postgres())
 * client.use(postgres({ connectionString: 'postgresql://127.0.0.1/logs', schema: 'llm', table: 'calls', redact: { messages: true } }))
 * ```
 */
export function postgres(options: PostgresOptions = {}): Middleware {
  const settings = validate(postgresOptionsSchema, options, 'postgres() options')
  const env = settings.env ?? process.env
  const connectionString = requireSetting({ integration: 'postgres', option: 'connectionString', variable: 'DATABASE_URL' }, settings.connectionString, env)
  registerSecret(passwordOf(connectionString))
  return defineExporter<SpendLogRow>({
    name: 'postgres',
    moments: settings.moments,
    redact: settings.redact,
    sink: postgresSink({
      name: 'postgres',
      connectionString,
      schema: settings.schema ?? 'public',
      table: settings.table ?? 'llm_onion_spend_logs',
      maxBatchSize: settings.maxBatchSize,
      timeoutMs: settings.timeoutMs,
    }),
    toItems: toPostgresRow,
  })
}

/** Maps the standard event to its spend-log row (LiteLLM's columns). */
export function toPostgresRow(event: CallEvent): SpendLogRow {
  return toSpendLogRow(event)
}

/** The password of a connection string, made known to the scrubber; the string itself is checked here. */
function passwordOf(connectionString: string): string | undefined {
  if (!/^postgres(?:ql)?:\/\//i.test(connectionString) || !URL.canParse(connectionString)) {
    throw new ValidationError(
      'postgres(): the connection string is not a PostgreSQL URL; give one such as postgresql://user:password@127.0.0.1:5432/database (DATABASE_URL or { connectionString }).',
      [{ path: 'connectionString', message: 'not a postgresql:// URL' }],
    )
  }
  const password = new URL(connectionString).password
  return password === '' ? undefined : decodeURIComponent(password)
}
