/**
 * Supabase: LiteLLM's `supabase` callback, through Supabase's REST API (PostgREST): the rows of
 * LiteLLM's `request_logs` table, upserted on `litellm_call_id`, in batches.
 */
import { z } from 'zod'
import { ValidationError } from '../src/errors'
import type { CallEvent } from '../src/event'
import { defineExporter } from '../src/integrations/exporter'
import { httpSink } from '../src/delivery/http-sink'
import { integrationOptionsSchema, requireSetting } from '../src/integrations/options'
import { defineIntegration } from '../src/integrations/descriptor'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { lazySchema } from '../src/lazy-schema'

const supabaseOptionsSchema = lazySchema(() =>
  integrationOptionsSchema
    .extend({
      apiKey: z.string().min(1).optional(),
      table: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'letters, digits and _, not starting with a digit').optional(),
      maxBatchSize: z.number().int().positive().max(1000).optional(),
      timeoutMs: z.number().int().positive().optional(),
    })
    .strict(),
)

/**
 * Options of {@link supabase}, besides the common ones (`moments`, `redact`, `env`).
 * - `baseUrl`: the project URL, default `SUPABASE_URL` (required), e.g. `https://xyz.supabase.co`.
 * - `apiKey`: default `SUPABASE_KEY` (required); sent as `apikey` and `Authorization: Bearer`.
 * - `table`: default `request_logs`, LiteLLM's table.
 * - `moments`: default `['success', 'failure']`.
 * - `maxBatchSize`: rows per request, default 100.
 * - `timeoutMs`: per-request time limit, default 10,000.
 */
export type SupabaseOptions = z.input<typeof supabaseOptionsSchema>

/** One row of LiteLLM's Supabase `request_logs` table (`litellm/integrations/supabase.py`). */
export interface SupabaseRow {
  litellm_call_id: string
  model: string
  /** Seconds, as LiteLLM writes it. */
  response_time: number
  /** USD; null when the price is unknown. */
  total_cost: number | null
  messages: unknown
  /** The reply's text (first choice); null for a failure or an embedding. */
  response: string | null
  /** The error message; null for a success. */
  error: string | null
  end_user: string | null
  status: CallEvent['status']
}

/**
 * supabase() in the catalogue. Switched on only when asked for: an app that uses Supabase for its own
 * data has `SUPABASE_URL` and `SUPABASE_KEY` set without wanting a `request_logs` table.
 *
 * @example
 * ```ts
 * supabaseIntegration.factory({ table: 'calls' }) // what callbacks({ success: ['supabase'] }) builds
 * ```
 */
export const supabaseIntegration = defineIntegration({
  name: 'supabase',
  aliases: [],
  switchedOnBy: [],
  position: 'exporters',
  takesEnv: true,
  factory: supabase,
})

/**
 * Logs every call to a Supabase table in the background, as LiteLLM's `supabase` callback does: one
 * row per call in `request_logs` (create it first, see the docs page), upserted on `litellm_call_id`.
 *
 * @example
 * ```ts
 * // SUPABASE_URL=https://xyz.supabase.co and SUPABASE_KEY=... in the environment
 * client.use(supabase())
 * client.use(supabase({ baseUrl: 'http://127.0.0.1:54321', apiKey: serviceRoleKey, table: 'calls' }))
 * ```
 */
export function supabase(options: SupabaseOptions = {}): Middleware {
  const settings = validate(supabaseOptionsSchema, options, 'supabase() options')
  const env = settings.env ?? process.env
  const base = projectUrl(requireSetting({ integration: 'supabase', option: 'baseUrl', variable: 'SUPABASE_URL' }, settings.baseUrl, env))
  const apiKey = requireSetting({ integration: 'supabase', option: 'apiKey', variable: 'SUPABASE_KEY' }, settings.apiKey, env)
  const table = settings.table ?? 'request_logs'
  return defineExporter<SupabaseRow>({
    name: 'supabase',
    moments: settings.moments,
    redact: settings.redact,
    sink: httpSink({
      name: 'supabase',
      // LiteLLM upserts on the call id, so a retried batch the server had stored does not duplicate rows.
      url: `${base}/rest/v1/${table}?on_conflict=litellm_call_id`,
      headers: { apikey: apiKey, authorization: `Bearer ${apiKey}`, prefer: 'resolution=merge-duplicates,return=minimal' },
      maxBatchSize: settings.maxBatchSize ?? 100,
      encode: (rows) => rows,
      timeoutMs: settings.timeoutMs,
    }),
    toItems: toSupabaseRow,
  })
}

/** Maps the standard event to LiteLLM's `request_logs` row; every row has every key (PostgREST bulk inserts need that). */
export function toSupabaseRow(event: CallEvent): SupabaseRow {
  return {
    litellm_call_id: event.id,
    model: event.responseModel ?? event.model,
    response_time: event.latencyMs / 1000,
    total_cost: event.cost?.total ?? null,
    messages: event.type === 'embedding' ? (event.input ?? null) : (event.messages ?? []),
    response: event.error ? null : replyText(event.response),
    error: event.error ? event.error.message : null,
    end_user: event.user ?? null,
    status: event.status,
  }
}

function replyText(response: Record<string, unknown> | undefined): string | null {
  const choices = response?.choices as Array<{ message?: { content?: unknown } }> | undefined
  const content = choices?.[0]?.message?.content
  return typeof content === 'string' ? content : null
}

function projectUrl(value: string): string {
  if (!URL.canParse(value) || !/^https?:/i.test(value)) {
    throw new ValidationError(`supabase(): SUPABASE_URL (or baseUrl) is not an http(s) URL; give the project URL such as https://xyz.supabase.co.`, [
      { path: 'baseUrl', message: 'not a URL' },
    ])
  }
  return value.replace(/\/+$/, '')
}
