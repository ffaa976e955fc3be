/**
 * Athina inference logging: one `POST {base}/api/v2/log/inference` per finished call.
 */
import { z } from 'zod'
import type { CallEvent } from '../src/event'
import { defineExporter } from '../src/integrations/exporter'
import { httpSink } from '../src/delivery/http-sink'
import { integrationOptionsSchema, readBaseUrl, requireSetting } from '../src/integrations/options'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { defineIntegration } from '../src/integrations/descriptor'

const athinaOptionsSchema = integrationOptionsSchema
  .extend({
    apiKey: z.string().min(1).optional(),
    environment: z.string().min(1).optional(),
    timeoutMs: z.number().int().positive().optional(),
  })
  .strict()

/**
 * Options of {@link athina}, besides the common ones (`moments`, `redact`, `baseUrl`, `env`).
 * - `apiKey`: default `ATHINA_API_KEY` (required).
 * - `baseUrl`: default `ATHINA_BASE_URL`, else `https://log.athina.ai`.
 * - `environment`: Athina's `environment` field for calls whose metadata names none, default none.
 * - `moments`: default `['success', 'failure']`.
 * - `timeoutMs`: per-request time limit, default 10,000.
 */
export type AthinaOptions = z.input<typeof athinaOptionsSchema>

/** Metadata keys Athina has fields of its own for; they are copied to the top level. */
const athinaFields = [
  'environment', 'prompt_slug', 'customer_id', 'customer_user_id', 'session_id', 'external_reference_id',
  'context', 'expected_response', 'user_query', 'user_feedback', 'model_options', 'custom_attributes',
] as const

/** One Athina inference log. */
export type AthinaInference = Record<string, unknown> & { language_model_id: string; prompt: unknown; response: unknown }

/**
 * athina() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * athinaIntegration.factory({ moments: ['failure'] }) // what callbacks({ failure: ['athina'] }) builds
 * ```
 */
export const athinaIntegration = defineIntegration({
  name: 'athina',
  aliases: [],
  switchedOnBy: [['ATHINA_API_KEY']],
  position: 'exporters',
  takesEnv: true,
  factory: athina,
})

/**
 * Logs every call to Athina: model, prompt, response, token counts, response time, cost, status
 * and error, the user as `customer_user_id`, the trace id as `session_id` (unless metadata names
 * one), the call id as `external_reference_id`, and Athina's own metadata keys.
 *
 * @example
 * ```ts
 * // ATHINA_API_KEY=... in the environment
 * client.use(athina({ environment: 'staging' }))
 * ```
 */
export function athina(options: AthinaOptions = {}): Middleware {
  const settings = validate(athinaOptionsSchema, options, 'athina() options')
  const env = settings.env ?? process.env
  const apiKey = requireSetting({ integration: 'athina', option: 'apiKey', variable: 'ATHINA_API_KEY' }, settings.apiKey, env)
  const base = readBaseUrl('athina', settings.baseUrl, 'ATHINA_BASE_URL', 'https://log.athina.ai', env)
  return defineExporter<AthinaInference>({
    name: 'athina',
    moments: settings.moments,
    redact: settings.redact,
    sink: httpSink({
      name: 'athina',
      url: `${base}/api/v2/log/inference`,
      headers: { 'athina-api-key': apiKey },
      // Athina's inference endpoint takes one log per request.
      maxBatchSize: 1,
      encode: (logs) => logs[0],
      timeoutMs: settings.timeoutMs,
    }),
    toItems: (event) => toAthinaInference(event, settings.environment),
  })
}

/** Maps the standard event to Athina's inference log. */
export function toAthinaInference(event: CallEvent, environment?: string): AthinaInference {
  const log: AthinaInference = {
    language_model_id: event.responseModel ?? event.model,
    prompt: event.type === 'chat' ? event.messages : event.input,
    response: event.response ?? null,
    prompt_tokens: event.usage?.inputTokens,
    completion_tokens: event.usage?.outputTokens,
    total_tokens: event.usage?.totalTokens,
    response_time: Math.round(event.latencyMs),
    status_code: event.error ? (event.error.status ?? 500) : 200,
    session_id: event.traceId,
    external_reference_id: event.id,
    tags: event.tags,
  }
  if (event.cost) log.cost = event.cost.total
  if (event.error) log.error = `${event.error.type}: ${event.error.message}`
  if (event.user !== undefined) log.customer_user_id = event.user
  if (environment !== undefined) log.environment = environment
  if (event.parameters.tools !== undefined) log.tools = event.parameters.tools
  for (const key of athinaFields) {
    if (event.metadata[key] !== undefined) log[key] = event.metadata[key]
  }
  return log
}
