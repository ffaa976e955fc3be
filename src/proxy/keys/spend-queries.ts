/**
 * The spend read endpoints over the spend-log table, as LiteLLM answers them
 * (litellm/proxy/spend_tracking/spend_management_endpoints.py):
 * - `GET /spend/logs`: the rows, filtered by `api_key` (a key or its hash), `request_id` or `user_id`;
 *   with `start_date` and `end_date` (YYYY-MM-DD), one summary per day instead: `{ startTime, spend,
 *   users: { user: spend }, models: { model: spend } }`.
 * - `GET /global/spend/report`: spend per day between `start_date` and `end_date` grouped by `team`
 *   (default), `customer` (the end user) or `api_key`, or for one `api_key` / `internal_user_id`.
 * Both dates are included whole (LiteLLM's `BETWEEN date AND date` stops at the end date's midnight).
 */
import type { Database } from './database'
import { tokenOf } from './key-hash'
import { ManagementError } from './key-service'

/** Where the rows and the teams are. */
export interface SpendTables {
  /** `"schema"."table"` of the spend logs. */
  spendLogs: string
  /** `"schema"."LiteLLM_TeamTable"`, for team names. */
  teams: string
}

/** Most rows `/spend/logs` returns at once, newest last. */
export const spendLogsLimit = 10_000

const datePattern = /^\d{4}-\d{2}-\d{2}$/

/**
 * `/spend/logs`.
 *
 * @example
 * ```ts
 * await spendLogs(database, tables, new URLSearchParams('api_key=sk-...'))
 * ```
 */
export async function spendLogs(database: Database, tables: SpendTables, query: URLSearchParams): Promise<unknown[]> {
  const conditions: string[] = []
  const values: unknown[] = []
  const apiKey = query.get('api_key')
  const requestId = query.get('request_id')
  const userId = query.get('user_id')
  if (apiKey) conditions.push(`api_key = $${values.push(tokenOf(apiKey))}`)
  if (requestId) conditions.push(`request_id = $${values.push(requestId)}`)
  if (userId) conditions.push(`"user" = $${values.push(userId)}`)
  const range = dateRange(query, false)
  if (range === undefined) {
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : ''
    const { rows } = await database.query(`SELECT * FROM ${tables.spendLogs} ${where} ORDER BY "startTime" LIMIT ${spendLogsLimit}`, values)
    return rows.map(plainRow)
  }
  conditions.push(`"startTime" >= $${values.push(range.start)}::date AND "startTime" < ($${values.push(range.end)}::date + 1)`)
  const { rows } = await database.query<{ day: string; api_key: string; user: string; model: string; spend: number }>(
    `SELECT to_char(date_trunc('day', "startTime"), 'YYYY-MM-DD') AS day, api_key, "user", model, SUM(spend) AS spend
     FROM ${tables.spendLogs} WHERE ${conditions.join(' AND ')} GROUP BY 1, 2, 3, 4 ORDER BY 1`,
    values,
  )
  const days = new Map<string, { startTime: string; spend: number; users: Record<string, number>; models: Record<string, number>; [apiKey: string]: unknown }>()
  for (const row of rows) {
    const day = days.get(row.day) ?? { startTime: row.day, spend: 0, users: {}, models: {} }
    const spend = Number(row.spend)
    day.spend += spend
    day[row.api_key] = ((day[row.api_key] as number | undefined) ?? 0) + spend
    day.users[row.user] = (day.users[row.user] ?? 0) + spend
    day.models[row.model] = (day.models[row.model] ?? 0) + spend
    days.set(row.day, day)
  }
  return [...days.values()]
}

/**
 * `/global/spend/report`.
 *
 * @example
 * ```ts
 * await globalSpendReport(database, tables, new URLSearchParams('start_date=2026-01-01&end_date=2026-01-31&group_by=api_key'))
 * ```
 */
export async function globalSpendReport(database: Database, tables: SpendTables, query: URLSearchParams): Promise<unknown[]> {
  const range = dateRange(query, true)!
  const groupBy = query.get('group_by') ?? 'team'
  const apiKey = query.get('api_key')
  const userId = query.get('internal_user_id')
  const inRange = `sl."startTime" >= $1::date AND sl."startTime" < ($2::date + 1)`
  if (apiKey || userId || groupBy === 'api_key') {
    const filter = apiKey ? ' AND sl.api_key = $3' : userId ? ' AND sl."user" = $3' : ''
    const values = [range.start, range.end, ...(apiKey ? [tokenOf(apiKey)] : userId ? [userId] : [])]
    const { rows } = await database.query(
      `WITH by_model AS (
         SELECT sl.api_key, sl.model, SUM(sl.spend) AS model_cost, SUM(sl.prompt_tokens) AS model_input_tokens, SUM(sl.completion_tokens) AS model_output_tokens
         FROM ${tables.spendLogs} sl WHERE ${inRange}${filter} GROUP BY sl.api_key, sl.model)
       SELECT api_key, SUM(model_cost) AS total_cost, SUM(model_input_tokens) AS total_input_tokens, SUM(model_output_tokens) AS total_output_tokens,
         jsonb_agg(jsonb_build_object('model', model, 'total_cost', model_cost, 'total_input_tokens', model_input_tokens, 'total_output_tokens', model_output_tokens)) AS model_details
       FROM by_model GROUP BY api_key ORDER BY total_cost DESC`,
      values,
    )
    return rows.map((row) => ({ ...row, total_cost: Number(row.total_cost), total_input_tokens: Number(row.total_input_tokens), total_output_tokens: Number(row.total_output_tokens) }))
  }
  if (groupBy !== 'team' && groupBy !== 'customer') {
    throw new ManagementError(400, `group_by must be team, customer or api_key; got "${groupBy}".`, { param: 'group_by' })
  }
  const [name, field, source, join] =
    groupBy === 'team'
      ? ['team_name', 'teams', `COALESCE(tt.team_alias, sl.team_id, 'Unassigned Team')`, `LEFT JOIN ${tables.teams} tt ON sl.team_id = tt.team_id`]
      : ['customer', 'customers', 'sl.end_user', '']
  const { rows } = await database.query(
    `WITH by_model AS (
       SELECT to_char(date_trunc('day', sl."startTime"), 'YYYY-MM-DD') AS group_by_day, ${source} AS ${name}, sl.model, sl.api_key,
         SUM(sl.spend) AS model_api_spend, SUM(sl.total_tokens) AS model_api_tokens
       FROM ${tables.spendLogs} sl ${join} WHERE ${inRange} GROUP BY 1, 2, sl.model, sl.api_key)
     SELECT group_by_day, jsonb_agg(jsonb_build_object('${name}', ${name}, 'total_spend', total_spend, 'metadata', metadata)) AS ${field}
     FROM (SELECT group_by_day, ${name}, SUM(model_api_spend) AS total_spend,
             jsonb_agg(jsonb_build_object('model', model, 'api_key', api_key, 'spend', model_api_spend, 'total_tokens', model_api_tokens)) AS metadata
           FROM by_model GROUP BY group_by_day, ${name}) AS aggregated
     GROUP BY group_by_day ORDER BY group_by_day`,
    [range.start, range.end],
  )
  return rows
}

/** `start_date` and `end_date` (both or neither; `required`: both). */
function dateRange(query: URLSearchParams, required: boolean): { start: string; end: string } | undefined {
  const start = query.get('start_date')
  const end = query.get('end_date')
  if (start === null && end === null && !required) return undefined
  if (start === null || end === null) throw new ManagementError(400, 'Please provide start_date and end_date (YYYY-MM-DD), for example ?start_date=2026-01-01&end_date=2026-01-31.', { param: start === null ? 'start_date' : 'end_date' })
  for (const [field, value] of [['start_date', start], ['end_date', end]] as const) {
    if (!datePattern.test(value) || Number.isNaN(Date.parse(value))) throw new ManagementError(400, `${field} must be a date as YYYY-MM-DD; got "${value}".`, { param: field })
  }
  return { start, end }
}

/** A row as JSON: timestamps as ISO strings (the columns hold UTC wall time), numbers as numbers. */
function plainRow(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [column, value] of Object.entries(row)) {
    out[column] = value instanceof Date ? new Date(value.getTime() - value.getTimezoneOffset() * 60_000).toISOString() : value
  }
  return out
}
