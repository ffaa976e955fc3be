/**
 * Lago usage-based billing: every successful call as a usage event (model, tokens, cost) of one
 * customer's subscription, batched to `POST {base}/api/v1/events/batch` as `{ events: [...] }`. The
 * events are those LiteLLM's `lago` callback sends one at a time (litellm/integrations/lago.py).
 */
import { z } from 'zod'
import { ValidationError } from '../src/errors'
import type { CallEvent } from '../src/event'
import { defineExporter } from '../src/integrations/exporter'
import { httpSink } from '../src/delivery/http-sink'
import { integrationOptionsSchema, readBaseUrl, readSetting, requireSetting } from '../src/integrations/options'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { defineIntegration } from '../src/integrations/descriptor'
import { lazySchema } from '../src/lazy-schema'

/** Who a call is billed to, as LiteLLM's `LAGO_API_CHARGE_BY` says. */
export type LagoChargeBy = 'end_user_id' | 'user_id' | 'team_id'

const chargeByValues = ['end_user_id', 'user_id', 'team_id'] as const

const lagoOptionsSchema = lazySchema(() =>
  integrationOptionsSchema
    .extend({
      apiKey: z.string().min(1).optional(),
      eventCode: z.string().min(1).optional(),
      chargeBy: z.enum(chargeByValues).optional(),
      // Lago takes at most 100 events per batch request.
      maxBatchSize: z.number().int().min(1).max(100).optional(),
      timeoutMs: z.number().int().positive().optional(),
    })
    .strict(),
)

/**
 * Options of {@link lago}, besides the common ones (`moments`, `redact`, `baseUrl`, `env`).
 * - `apiKey`: default `LAGO_API_KEY` (required).
 * - `eventCode`: the billable metric's code, default `LAGO_API_EVENT_CODE` (required).
 * - `baseUrl`: default `LAGO_API_BASE`, else `https://api.getlago.com` (Lago Cloud).
 * - `chargeBy`: `'end_user_id'` (the call's `user`), `'user_id'` (`metadata.user_api_key_user_id`) or
 *   `'team_id'` (`metadata.user_api_key_team_id`); default `LAGO_API_CHARGE_BY`, else `'end_user_id'`.
 * - `moments`: default `['success']` (usage is billed on successes, as LiteLLM does).
 * - `maxBatchSize`: events per request, default 100 (Lago's limit); `timeoutMs`: default 10,000.
 */
export type LagoOptions = z.input<typeof lagoOptionsSchema>

/** One usage event, as Lago's `POST /api/v1/events/batch` takes it in its `events` list. */
export interface LagoEvent {
  transaction_id: string
  external_subscription_id: string
  code: string
  /** Unix seconds. */
  timestamp: number
  properties: { model: string; prompt_tokens: number; completion_tokens: number; total_tokens: number; response_cost?: number }
}

/**
 * lago() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * lagoIntegration.factory({ moments: ['success'] }) // what callbacks({ success: ['lago'] }) builds
 * ```
 */
export const lagoIntegration = defineIntegration({
  name: 'lago',
  aliases: [],
  switchedOnBy: [['LAGO_API_KEY', 'LAGO_API_EVENT_CODE']],
  position: 'exporters',
  takesEnv: true,
  factory: lago,
})

/**
 * Bills every successful call in Lago: one usage event per call for the billable metric
 * `eventCode`, with the model, the tokens and the cost, for the subscription of the call's user (or
 * its key's user, or its team: `chargeBy`). A call without that customer is not billed; the mapping
 * reports it to `onHookError` naming the setting to change.
 *
 * @example
 * ```ts
 * // LAGO_API_KEY, LAGO_API_EVENT_CODE=llm_tokens and LAGO_API_BASE=https://lago.example.com in the environment
 * client.use(lago())
 * client.use(lago({ chargeBy: 'team_id' }))
 * ```
 */
export function lago(options: LagoOptions = {}): Middleware {
  const settings = validate(lagoOptionsSchema, options, 'lago() options')
  const env = settings.env ?? process.env
  const apiKey = requireSetting({ integration: 'lago', option: 'apiKey', variable: 'LAGO_API_KEY' }, settings.apiKey, env)
  const eventCode = requireSetting({ integration: 'lago', option: 'eventCode', variable: 'LAGO_API_EVENT_CODE' }, settings.eventCode, env)
  const base = readBaseUrl('lago', settings.baseUrl, 'LAGO_API_BASE', 'https://api.getlago.com', env)
  const chargeBy = settings.chargeBy ?? readChargeBy(env)
  return defineExporter<LagoEvent>({
    name: 'lago',
    moments: settings.moments ?? ['success'],
    redact: settings.redact,
    sink: httpSink({
      name: 'lago',
      url: `${base}/api/v1/events/batch`,
      headers: { authorization: `Bearer ${apiKey}` },
      maxBatchSize: settings.maxBatchSize ?? 100,
      encode: (events) => ({ events }),
      timeoutMs: settings.timeoutMs,
    }),
    toItems: (event) => toLagoEvent(event, { code: eventCode, chargeBy }),
  })
}

/**
 * Maps the standard event to a Lago usage event. The call id is the `transaction_id`, so a batch
 * delivered twice is billed once (Lago keeps one event per transaction id and subscription). Throws
 * when the call has no customer to bill under `chargeBy`, as LiteLLM does.
 *
 * @example
 * ```ts
 * toLagoEvent(event, { code: 'llm_tokens', chargeBy: 'end_user_id' }).external_subscription_id // event.user
 * ```
 */
export function toLagoEvent(event: CallEvent, settings: { code: string; chargeBy: LagoChargeBy }): LagoEvent {
  const subscription = customerOf(event, settings.chargeBy)
  if (subscription === undefined) {
    throw new Error(
      `lago: call ${event.id} has no ${describeChargeBy(settings.chargeBy)} to bill (chargeBy ${settings.chargeBy}); ` +
        'give the call a user, or set LAGO_API_CHARGE_BY (or the chargeBy option) to user_id or team_id; the call was not billed',
    )
  }
  const properties: LagoEvent['properties'] = {
    model: event.responseModel ?? event.model,
    prompt_tokens: event.usage?.inputTokens ?? 0,
    completion_tokens: event.usage?.outputTokens ?? 0,
    total_tokens: event.usage?.totalTokens ?? 0,
  }
  if (event.cost) properties.response_cost = event.cost.total
  return {
    transaction_id: event.id,
    external_subscription_id: subscription,
    code: settings.code,
    timestamp: Math.floor(event.endTime / 1000),
    properties,
  }
}

function customerOf(event: CallEvent, chargeBy: LagoChargeBy): string | undefined {
  const value = chargeBy === 'end_user_id' ? event.user : chargeBy === 'user_id' ? event.metadata.user_api_key_user_id : event.metadata.user_api_key_team_id
  return typeof value === 'string' && value !== '' ? value : undefined
}

function describeChargeBy(chargeBy: LagoChargeBy): string {
  if (chargeBy === 'end_user_id') return 'user (the request\'s "user" field)'
  return chargeBy === 'user_id' ? 'key owner (metadata.user_api_key_user_id)' : 'team (metadata.user_api_key_team_id)'
}

function readChargeBy(env: Record<string, string | undefined>): LagoChargeBy {
  const value = readSetting(undefined, 'LAGO_API_CHARGE_BY', env)
  if (value === undefined) return 'end_user_id'
  if ((chargeByValues as readonly string[]).includes(value)) return value as LagoChargeBy
  throw new ValidationError(`lago(): LAGO_API_CHARGE_BY is ${JSON.stringify(value)}; set it to one of ${chargeByValues.join(', ')}.`, [
    { path: 'chargeBy', message: `LAGO_API_CHARGE_BY must be one of ${chargeByValues.join(', ')}` },
  ])
}
