/**
 * OpenMeter usage metering: every successful call as a CloudEvent (tokens and cost, by subject),
 * batched to `POST {base}/api/v1/events` as `application/cloudevents-batch+json`.
 */
import { z } from 'zod'
import type { CallEvent } from '../src/event'
import { defineExporter } from '../src/integrations/exporter'
import { httpSink } from '../src/delivery/http-sink'
import { integrationOptionsSchema, readBaseUrl, readSetting, requireSetting } from '../src/integrations/options'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { lazySchema } from '../src/lazy-schema'
import { defineIntegration } from '../src/integrations/descriptor'
import { isoTime } from '../src/iso-time'

const openmeterOptionsSchema = lazySchema(() =>
  integrationOptionsSchema
    .extend({
      apiKey: z.string().min(1).optional(),
      eventType: z.string().min(1).optional(),
      maxBatchSize: z.number().int().min(1).max(1000).optional(),
      timeoutMs: z.number().int().positive().optional(),
    })
    .strict(),
)

/**
 * Options of {@link openmeter}, besides the common ones (`moments`, `redact`, `baseUrl`, `env`).
 * - `apiKey`: default `OPENMETER_API_KEY` (LiteLLM's name; required).
 * - `baseUrl`: default `OPENMETER_API_ENDPOINT`, else `https://openmeter.cloud`.
 * - `eventType`: the CloudEvent `type` your meters match, default `OPENMETER_EVENT_TYPE`, else `litellm_tokens`.
 * - `moments`: default `['success']` (usage is metered on successes, as LiteLLM does).
 * - `maxBatchSize`: events per request, default 100; `timeoutMs`: default 10,000.
 */
export type OpenmeterOptions = z.input<typeof openmeterOptionsSchema>

/** One CloudEvent, as OpenMeter's ingest API takes it. */
export interface OpenmeterEvent {
  specversion: '1.0'
  type: string
  id: string
  time: string
  source: string
  subject: string
  data: { model: string; prompt_tokens: number; completion_tokens: number; total_tokens: number; cost?: number; provider: string }
}

/**
 * openmeter() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * openmeterIntegration.factory({ moments: ['success'] }) // what callbacks({ success: ['openmeter'] }) builds
 * ```
 */
export const openmeterIntegration = defineIntegration({
  name: 'openmeter',
  aliases: [],
  switchedOnBy: [['OPENMETER_API_KEY']],
  position: 'exporters',
  takesEnv: true,
  factory: openmeter,
})

/**
 * Meters every successful call in OpenMeter: one CloudEvent per call with its model, tokens and
 * cost, whose subject is the call's user (else `metadata.user_api_key_user_id`, else `anonymous`).
 *
 * @example
 * ```ts
 * // OPENMETER_API_KEY=om_... in the environment
 * client.use(openmeter())
 * ```
 */
export function openmeter(options: OpenmeterOptions = {}): Middleware {
  const settings = validate(openmeterOptionsSchema, options, 'openmeter() options')
  const env = settings.env ?? process.env
  const apiKey = requireSetting({ integration: 'openmeter', option: 'apiKey', variable: 'OPENMETER_API_KEY' }, settings.apiKey, env)
  const base = readBaseUrl('openmeter', settings.baseUrl, 'OPENMETER_API_ENDPOINT', 'https://openmeter.cloud', env)
  const eventType = readSetting(settings.eventType, 'OPENMETER_EVENT_TYPE', env) ?? 'litellm_tokens'
  return defineExporter<OpenmeterEvent>({
    name: 'openmeter',
    moments: settings.moments ?? ['success'],
    redact: settings.redact,
    sink: httpSink({
      name: 'openmeter',
      url: `${base}/api/v1/events`,
      headers: { authorization: `Bearer ${apiKey}` },
      contentType: 'application/cloudevents-batch+json',
      maxBatchSize: settings.maxBatchSize ?? 100,
      encode: (events) => JSON.stringify(events),
      timeoutMs: settings.timeoutMs,
    }),
    toItems: (event) => toOpenmeterEvent(event, eventType),
  })
}

/** Maps the standard event to an OpenMeter CloudEvent; the call id makes a resent event a duplicate OpenMeter drops. */
export function toOpenmeterEvent(event: CallEvent, eventType: string): OpenmeterEvent {
  const keyOwner = event.metadata.user_api_key_user_id
  const data: OpenmeterEvent['data'] = {
    model: event.responseModel ?? event.model,
    prompt_tokens: event.usage?.inputTokens ?? 0,
    completion_tokens: event.usage?.outputTokens ?? 0,
    total_tokens: event.usage?.totalTokens ?? 0,
    provider: event.provider ?? 'unknown',
  }
  if (event.cost) data.cost = event.cost.total
  return {
    specversion: '1.0',
    type: eventType,
    id: event.id,
    time: isoTime(event.endTime),
    source: 'llm-onion',
    subject: event.user ?? (typeof keyOwner === 'string' ? keyOwner : 'anonymous'),
    data,
  }
}
