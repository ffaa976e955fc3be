/**
 * CloudZero cost export: every successful call with a known cost as one row of CloudZero's Common
 * Bill Format (CBF), batched to the AnyCost Stream API,
 * `POST {base}/v2/connections/billing/anycost/{connection id}/billing_drops` as
 * `{ month, operation: 'sum', data: [rows] }`. The row has the columns, resource name (CZRN) and tags
 * of LiteLLM's `cloudzero` callback (litellm/integrations/cloudzero/transform.py,
 * cz_resource_names.py, cz_stream_api.py); LiteLLM builds its rows from its daily spend table once an
 * hour and replaces that hour, llm-onion sends one row per call as the call ends and adds it (`sum`).
 */
import { z } from 'zod'
import type { CallEvent } from '../src/event'
import { defineExporter } from '../src/integrations/exporter'
import { httpSink } from '../src/delivery/http-sink'
import type { SendResult, Sink } from '../src/delivery/sink'
import { integrationOptionsSchema, readBaseUrl, requireSetting } from '../src/integrations/options'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { lazySchema } from '../src/lazy-schema'
import { defineIntegration } from '../src/integrations/descriptor'
import { isoTime } from '../src/iso-time'

const cloudzeroOptionsSchema = lazySchema(() =>
  integrationOptionsSchema
    .extend({
      apiKey: z.string().min(1).optional(),
      connectionId: z.string().min(1).optional(),
      authorization: z.enum(['key', 'bearer']).optional(),
      // A billing drop's body may be at most 5 MB; 1,000 rows of about 1 KB stay well under it.
      maxBatchSize: z.number().int().min(1).max(1000).optional(),
      timeoutMs: z.number().int().positive().optional(),
    })
    .strict(),
)

/**
 * Options of {@link cloudzero}, besides the common ones (`moments`, `redact`, `baseUrl`, `env`).
 * - `apiKey`: default `CLOUDZERO_API_KEY` (LiteLLM's name; required).
 * - `connectionId`: the AnyCost Stream connection, default `CLOUDZERO_CONNECTION_ID` (LiteLLM's name; required).
 * - `baseUrl`: default `CLOUDZERO_API_BASE` (llm-onion's own variable; LiteLLM's host is fixed), else `https://api.cloudzero.com`.
 * - `authorization`: `'key'` sends `Authorization: <key>` as CloudZero's API reference says;
 *   `'bearer'` sends `Authorization: Bearer <key>` as LiteLLM's cz_stream_api.py does. Default `'key'`.
 * - `moments`: default `['success']` (only successes with a known cost become rows).
 * - `maxBatchSize`: rows per billing drop, default 100; `timeoutMs`: default 10,000.
 */
export type CloudzeroOptions = z.input<typeof cloudzeroOptionsSchema>

/**
 * One CBF row as the AnyCost Stream API takes it: column names as keys, every value a string
 * (numbers in plain decimal notation), `resource/tag:<name>` columns for the tags.
 */
export type CloudzeroRow = Record<string, string>

/** The body of one billing drop. */
export interface CloudzeroBillingDrop {
  /** `YYYY-MM`, the month of every row's `time/usage_start`. */
  month: string
  /** `sum` adds the rows to what the connection holds (`replace_hourly` would drop earlier rows of the hour). */
  operation: 'sum'
  data: CloudzeroRow[]
}

/**
 * cloudzero() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * cloudzeroIntegration.factory({ moments: ['success'] }) // what callbacks({ success: ['cloudzero'] }) builds
 * ```
 */
export const cloudzeroIntegration = defineIntegration({
  name: 'cloudzero',
  aliases: [],
  switchedOnBy: [['CLOUDZERO_API_KEY', 'CLOUDZERO_CONNECTION_ID']],
  position: 'exporters',
  takesEnv: true,
  factory: cloudzero,
})

/**
 * Exports the cost of every successful call to a CloudZero AnyCost Stream connection: one CBF row
 * per call (cost, tokens, model, provider, the team and virtual key of a proxied call), added to
 * the month's data with `operation: 'sum'`. A call whose price is unknown sends nothing: no row is
 * better than a false 0.
 *
 * @example
 * ```ts
 * // CLOUDZERO_API_KEY and CLOUDZERO_CONNECTION_ID in the environment
 * client.use(cloudzero())
 * ```
 */
export function cloudzero(options: CloudzeroOptions = {}): Middleware {
  const settings = validate(cloudzeroOptionsSchema, options, 'cloudzero() options')
  const env = settings.env ?? process.env
  const apiKey = requireSetting({ integration: 'cloudzero', option: 'apiKey', variable: 'CLOUDZERO_API_KEY' }, settings.apiKey, env)
  const connectionId = requireSetting({ integration: 'cloudzero', option: 'connectionId', variable: 'CLOUDZERO_CONNECTION_ID' }, settings.connectionId, env)
  const base = readBaseUrl('cloudzero', settings.baseUrl, 'CLOUDZERO_API_BASE', 'https://api.cloudzero.com', env)
  const drops = httpSink<CloudzeroRow>({
    name: 'cloudzero',
    url: `${base}/v2/connections/billing/anycost/${encodeURIComponent(connectionId)}/billing_drops`,
    headers: { authorization: settings.authorization === 'bearer' ? `Bearer ${apiKey}` : apiKey },
    maxBatchSize: settings.maxBatchSize ?? 100,
    encode: (rows): CloudzeroBillingDrop => ({ month: monthOf(rows[0]!), operation: 'sum', data: rows }),
    timeoutMs: settings.timeoutMs,
  })
  return defineExporter<CloudzeroRow>({
    name: 'cloudzero',
    moments: settings.moments ?? ['success'],
    redact: settings.redact,
    sink: oneMonthPerDrop(drops),
    toItems: toCloudzeroRow,
  })
}

/**
 * Maps a successful call with a known cost to its CBF row, the columns and tags of LiteLLM's
 * transform.py for one row of its daily spend table that holds this one call; `undefined` for a
 * failure, a cancelled call or a call whose price is unknown.
 *
 * @example
 * ```ts
 * toCloudzeroRow(event)?.['resource/id'] // 'czrn:litellm:openai:cross-region:team-a:llm-usage:gpt-4o-mini'
 * ```
 */
export function toCloudzeroRow(event: CallEvent): CloudzeroRow | undefined {
  if (event.status !== 'success' || event.cost === undefined) return undefined
  const metadata = event.metadata
  const model = event.responseModel ?? event.model
  const provider = event.provider ?? ''
  const teamId = textOf(metadata.user_api_key_team_id) ?? textOf(metadata.team_id)
  const teamAlias = textOf(metadata.user_api_key_team_alias)
  const keyAlias = textOf(metadata.user_api_key_alias)
  // The first 8 characters of the virtual key's hash, never the key itself (LiteLLM's api_key_prefix).
  const keyPrefix = textOf(metadata.user_api_key_hash)?.slice(0, 8) ?? ''
  const promptTokens = event.usage?.inputTokens ?? 0
  const completionTokens = event.usage?.outputTokens ?? 0
  const czrnProvider = czrnComponent(czrnProviders[provider.toLowerCase().replace(/_/g, '-')] ?? provider)

  const row: CloudzeroRow = {
    'time/usage_start': `${isoTime(event.startTime).slice(0, 19)}Z`,
    'cost/cost': decimal(event.cost.total),
    'resource/id': `czrn:litellm:${czrnProvider}:cross-region:${czrnComponent(teamId)}:llm-usage:${model}`,
    'usage/amount': String(promptTokens + completionTokens),
    'usage/units': 'tokens',
    'resource/service': event.model,
    'resource/account': keyAlias ? `${keyAlias}|${keyPrefix}` : keyPrefix,
    'resource/region': 'cross-region',
    'resource/usage_family': provider,
    'action/operation': teamId ?? '',
    'lineitem/type': 'Usage',
    'resource/tag:provider': provider || czrnProvider,
    'resource/tag:model': model,
    'resource/tag:entity_type': 'team',
  }
  // Tags with no value are left out, as LiteLLM leaves out empty, 'N/A' and 'unknown' ones.
  const tags: Array<[string, string | undefined]> = [
    ['entity_id', teamAlias ?? teamId],
    ['team_alias', teamAlias],
    ['model_group', event.model],
    ['api_key_prefix', keyPrefix],
    ['api_key_alias', keyAlias],
    ['user_email', textOf(metadata.user_api_key_user_email)],
    ['api_requests', '1'],
    ['successful_requests', '1'],
    ['failed_requests', '0'],
    ['cache_creation_tokens', String(event.usage?.cacheCreationInputTokens ?? 0)],
    ['cache_read_tokens', String(event.usage?.cachedInputTokens ?? 0)],
    ['organization_alias', textOf(metadata.user_api_key_org_alias)],
    ['project_alias', textOf(metadata.user_api_key_project_alias)],
  ]
  for (const [name, value] of tags) if (value) row[`resource/tag:${name}`] = value
  if (promptTokens > 0) row['resource/tag:prompt_tokens'] = String(promptTokens)
  if (completionTokens > 0) row['resource/tag:completion_tokens'] = String(completionTokens)
  return row
}

/**
 * LiteLLM's provider names for a CZRN (cz_resource_names.py, `_normalize_provider`), as it applies
 * them: the name lower-cased with `_` turned to `-` is looked up, so only these entries ever match
 * (`vertex_ai` stays `vertex-ai`, as in LiteLLM's rows). Any other name is its own.
 */
const czrnProviders: Readonly<Record<string, string>> = { bedrock: 'aws', gemini: 'google' }

/** A CZRN component: lower case, runs of anything but `a-z0-9-` as one `-`, no `-` at either end; `unknown` when empty. */
function czrnComponent(value: string | undefined): string {
  const component = (value ?? '').toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').replace(/^-|-$/g, '')
  return component || 'unknown'
}

/** A number as CloudZero takes it: a string in plain decimal notation (never `1e-7`), at most 10 decimals. */
function decimal(value: number): string {
  return value.toFixed(10).replace(/0+$/, '').replace(/\.$/, '')
}

function textOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

function monthOf(row: CloudzeroRow): string {
  return row['time/usage_start']!.slice(0, 7)
}

/**
 * A billing drop names one month, so a batch whose rows span two (a batch sent around midnight at
 * the end of a month) goes as one drop per month. A failed drop fails the batch, which the queue
 * sends again whole.
 */
function oneMonthPerDrop(drops: Sink<CloudzeroRow>): Sink<CloudzeroRow> {
  return {
    name: drops.name,
    maxBatchSize: drops.maxBatchSize,
    maxConcurrency: drops.maxConcurrency,
    async send(rows, signal) {
      const first = monthOf(rows[0]!)
      if (rows.every((row) => monthOf(row) === first)) return drops.send(rows, signal)
      const months = new Map<string, number[]>()
      rows.forEach((row, index) => {
        const month = monthOf(row)
        const indexes = months.get(month)
        if (indexes) indexes.push(index)
        else months.set(month, [index])
      })
      const unencodable: NonNullable<SendResult['unencodable']> = []
      for (const indexes of months.values()) {
        const result = await drops.send(indexes.map((index) => rows[index]!), signal)
        for (const left of result?.unencodable ?? []) unencodable.push({ index: indexes[left.index]!, error: left.error })
      }
      return unencodable.length > 0 ? { unencodable } : undefined
    },
    close: () => drops.close?.() ?? Promise.resolve(),
  }
}
