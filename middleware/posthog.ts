/**
 * PostHog LLM analytics: `$ai_generation` and `$ai_embedding` events, batched to `POST {url}/batch/`.
 */
import { z } from 'zod'
import type { CallEvent } from '../src/event'
import { defineExporter } from '../src/integrations/exporter'
import { httpSink } from '../src/delivery/http-sink'
import { integrationOptionsSchema, readBaseUrl, requireSetting } from '../src/integrations/options'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { defineIntegration } from '../src/integrations/descriptor'
import { lazySchema } from '../src/lazy-schema'
import { isoTime } from '../src/iso-time'

const posthogOptionsSchema = lazySchema(() =>
  integrationOptionsSchema
    .extend({
      apiKey: z.string().min(1).optional(),
      maxBatchSize: z.number().int().min(1).max(100).optional(),
      timeoutMs: z.number().int().positive().optional(),
    })
    .strict(),
)

/**
 * Options of {@link posthog}, besides the common ones (`moments`, `redact`, `baseUrl`, `env`).
 * - `apiKey`: the project API key, default `POSTHOG_API_KEY` (required).
 * - `baseUrl`: default `POSTHOG_API_URL`, else `https://us.i.posthog.com`.
 * - `moments`: default `['success', 'failure']`.
 * - `maxBatchSize`: events per request, default 100 (PostHog's limit).
 * - `timeoutMs`: per-request time limit, default 10,000.
 */
export type PosthogOptions = z.input<typeof posthogOptionsSchema>

/** One event of PostHog's batch API. */
export interface PosthogEvent {
  event: '$ai_generation' | '$ai_embedding'
  distinct_id: string
  properties: Record<string, unknown>
  timestamp: string
  uuid: string
}

/**
 * posthog() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * posthogIntegration.factory({ moments: ['failure'] }) // what callbacks({ failure: ['posthog'] }) builds
 * ```
 */
export const posthogIntegration = defineIntegration({
  name: 'posthog',
  aliases: [],
  switchedOnBy: [['POSTHOG_API_KEY']],
  position: 'exporters',
  takesEnv: true,
  factory: posthog,
})

/**
 * Sends every call to PostHog's LLM analytics as a `$ai_generation` (chat) or `$ai_embedding`
 * event: model, provider, input and output, tokens, cost, latency, trace and span ids, errors, and
 * the call's own metadata keys. A cancelled call (the caller stopped reading, or went away) has no
 * `$ai_http_status`, `$ai_is_error: false` and `llm_onion_status: "cancelled"`. `distinct_id` is the call's user, else its trace id.
 *
 * @example
 * ```ts
 * // POSTHOG_API_KEY=phc_... in the environment; POSTHOG_API_URL=https://eu.i.posthog.com for the EU cloud
 * client.use(posthog())
 * ```
 */
export function posthog(options: PosthogOptions = {}): Middleware {
  const settings = validate(posthogOptionsSchema, options, 'posthog() options')
  const env = settings.env ?? process.env
  const apiKey = requireSetting({ integration: 'posthog', option: 'apiKey', variable: 'POSTHOG_API_KEY' }, settings.apiKey, env)
  const base = readBaseUrl('posthog', settings.baseUrl, 'POSTHOG_API_URL', 'https://us.i.posthog.com', env)
  return defineExporter<PosthogEvent>({
    name: 'posthog',
    moments: settings.moments,
    redact: settings.redact,
    sink: httpSink({
      name: 'posthog',
      url: `${base}/batch/`,
      maxBatchSize: settings.maxBatchSize ?? 100,
      // PostHog authenticates the batch by the project key in the body, not by a header.
      encode: (batch) => ({ api_key: apiKey, batch }),
      timeoutMs: settings.timeoutMs,
    }),
    toItems: toPosthogEvent,
  })
}

/** Maps the standard event to a PostHog `$ai_*` event. */
export function toPosthogEvent(event: CallEvent): PosthogEvent {
  const isChat = event.type === 'chat'
  const properties: Record<string, unknown> = {
    // The call's own metadata first, so the `$ai_*` properties below always win.
    ...event.metadata,
    $ai_model: event.responseModel ?? event.model,
    $ai_provider: event.provider ?? 'unknown',
    $ai_input: isChat ? event.messages : event.input,
    $ai_input_tokens: event.usage?.inputTokens ?? 0,
    $ai_latency: event.latencyMs / 1000,
    $ai_trace_id: event.traceId,
    $ai_span_id: event.id,
    $ai_stream: event.streaming,
    $ai_model_parameters: event.parameters,
    $lib: 'llm-onion',
  }
  if (isChat) {
    const choices = (event.response?.choices as Array<{ message?: unknown }> | undefined) ?? []
    properties.$ai_output_choices = choices.map((choice) => choice.message)
    properties.$ai_output_tokens = event.usage?.outputTokens ?? 0
  }
  if (event.usage?.cachedInputTokens !== undefined) properties.$ai_cache_read_input_tokens = event.usage.cachedInputTokens
  if (event.cost) {
    properties.$ai_input_cost_usd = event.cost.input
    properties.$ai_output_cost_usd = event.cost.output
    properties.$ai_total_cost_usd = event.cost.total
  }
  if (event.ttftMs !== undefined) properties.$ai_time_to_first_token = event.ttftMs / 1000
  if (event.apiBase !== undefined) properties.$ai_base_url = event.apiBase
  const parentId = event.metadata.parent_id ?? event.metadata.parent_run_id
  if (typeof parentId === 'string') properties.$ai_parent_id = parentId
  if (event.status === 'cancelled') {
    // The caller went away: no HTTP status came back and nothing failed. PostHog documents no
    // cancelled state, so the call says so in a property of its own rather than as a 500.
    properties.$ai_is_error = false
    properties.llm_onion_status = 'cancelled'
  } else if (event.error) {
    properties.$ai_http_status = event.error.status ?? 500
    properties.$ai_is_error = true
    properties.$ai_error = `${event.error.type}: ${event.error.message}`
  } else {
    properties.$ai_http_status = 200
  }
  // Without a user there is no person to attach the event to; PostHog's own SDK says so this way.
  if (event.user === undefined) properties.$process_person_profile = false
  return {
    event: isChat ? '$ai_generation' : '$ai_embedding',
    distinct_id: event.user ?? event.traceId,
    properties,
    timestamp: isoTime(event.endTime),
    // The call id, so PostHog drops the duplicate when a retried batch had in fact arrived.
    uuid: event.id,
  }
}
