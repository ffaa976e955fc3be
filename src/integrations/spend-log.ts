/**
 * One call as a row of LiteLLM's spend log (`LiteLLM_SpendLogs` in LiteLLM's schema.prisma): the
 * row `postgres()` and `clickhouse()` write, with LiteLLM's column names so queries and dashboards
 * written for LiteLLM's table read ours.
 *
 * What differs from LiteLLM, and why: `api_key` is the hash of the proxy's virtual key when the call
 * came with one (`metadata.user_api_key_hash`, as LiteLLM's logging metadata names it), else `''` (a provider key never goes
 * in a row);
 * `call_type` is `completion` or `embedding`; a failure's error goes into `metadata.error_information`
 * as LiteLLM puts it; `status` is `success`, `failure` or `cancelled`.
 */
import type { CallEvent } from '../event'

/** One spend-log row, by LiteLLM's column names; JSON columns hold plain values (not yet encoded). */
export interface SpendLogRow {
  request_id: string
  call_type: 'completion' | 'embedding'
  api_key: string
  /** USD; 0 when the price is unknown (LiteLLM's default), `metadata.cost_unknown_reason` says why. */
  spend: number
  total_tokens: number
  prompt_tokens: number
  completion_tokens: number
  /** Epoch milliseconds. */
  startTime: number
  endTime: number
  request_duration_ms: number
  /** Epoch milliseconds of the first streamed chunk; null when not streamed. */
  completionStartTime: number | null
  /** The model that answered (as the provider names it), else the one requested. */
  model: string
  model_id: string
  /** The model as requested (`openai/gpt-4o-mini`), LiteLLM's public model name. */
  model_group: string
  custom_llm_provider: string
  api_base: string
  /** The internal user (`metadata.user_api_key_user_id`), as LiteLLM fills it; `''` otherwise. */
  user: string
  metadata: Record<string, unknown>
  /** `'True'` or `'False'`, a string as in LiteLLM's table. */
  cache_hit: string
  cache_key: string
  request_tags: string[]
  team_id: string | null
  organization_id: string | null
  /** The request's `user` (the end user of an app), LiteLLM's `end_user`. */
  end_user: string | null
  requester_ip_address: string | null
  /** The prompt messages (chat) or the input (embedding); `"[redacted]"` content under redaction. */
  messages: unknown
  /** The reply; `{}` for a failure. */
  response: unknown
  session_id: string
  status: CallEvent['status']
}

/** The columns of {@link SpendLogRow}, in table order. */
export const spendLogColumns = [
  'request_id', 'call_type', 'api_key', 'spend', 'total_tokens', 'prompt_tokens', 'completion_tokens',
  'startTime', 'endTime', 'request_duration_ms', 'completionStartTime', 'model', 'model_id', 'model_group',
  'custom_llm_provider', 'api_base', 'user', 'metadata', 'cache_hit', 'cache_key', 'request_tags', 'team_id',
  'organization_id', 'end_user', 'requester_ip_address', 'messages', 'response', 'session_id', 'status',
] as const satisfies ReadonlyArray<keyof SpendLogRow>

/** The columns that hold JSON (JSONB in PostgreSQL, a JSON string in ClickHouse). */
export const spendLogJsonColumns: ReadonlySet<string> = new Set(['metadata', 'request_tags', 'messages', 'response'])

/**
 * Maps a finished call's event to its spend-log row.
 *
 * @example
 * ```ts
 * toSpendLogRow(event).spend // 0.000123
 * ```
 */
export function toSpendLogRow(event: CallEvent): SpendLogRow {
  const metadata: Record<string, unknown> = { ...event.metadata }
  if (event.error) {
    metadata.error_information = { error_class: event.error.type, error_message: event.error.message, error_code: event.error.status ?? null }
  }
  if (event.cost === undefined && event.costUnknownReason !== undefined) metadata.cost_unknown_reason = event.costUnknownReason
  return {
    request_id: event.id,
    call_type: event.type === 'embedding' ? 'embedding' : 'completion',
    api_key: stringOf(event.metadata.user_api_key_hash) ?? '',
    spend: event.cost?.total ?? 0,
    total_tokens: event.usage?.totalTokens ?? 0,
    prompt_tokens: event.usage?.inputTokens ?? 0,
    completion_tokens: event.usage?.outputTokens ?? 0,
    startTime: event.startTime,
    endTime: event.endTime,
    request_duration_ms: Math.round(event.latencyMs),
    completionStartTime: event.firstChunkTime ?? null,
    model: event.responseModel ?? event.model,
    model_id: stringOf(event.modelInfo?.id) ?? '',
    model_group: event.model,
    custom_llm_provider: event.provider ?? '',
    api_base: event.apiBase ?? '',
    user: stringOf(event.metadata.user_api_key_user_id) ?? '',
    metadata,
    cache_hit: event.cacheHit ? 'True' : 'False',
    cache_key: '',
    request_tags: [...event.tags],
    team_id: stringOf(event.metadata.user_api_key_team_id) ?? stringOf(event.metadata.team_id) ?? null,
    organization_id: stringOf(event.metadata.user_api_key_org_id) ?? null,
    end_user: event.user ?? null,
    requester_ip_address: event.http?.clientIp ?? null,
    messages: event.type === 'embedding' ? (event.input ?? null) : (event.messages ?? []),
    response: event.response ?? {},
    session_id: event.traceId,
    status: event.status,
  }
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}
