/**
 * Greenscale (GenAI spend and usage monitoring): one JSON record per successful call, with the model,
 * the token counts, the latency and `greenscale_*` metadata as project, application and tags, POSTed
 * to `GREENSCALE_ENDPOINT` with the `api-key` header, as LiteLLM's `greenscale` callback sends it
 * (litellm/integrations/greenscale.py). No prompt or reply content is sent.
 */
import { z } from 'zod'
import { ValidationError } from '../src/errors'
import type { CallEvent } from '../src/event'
import { defineExporter } from '../src/integrations/exporter'
import { httpSink } from '../src/delivery/http-sink'
import { integrationOptionsSchema, requireSetting } from '../src/integrations/options'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { defineIntegration } from '../src/integrations/descriptor'
import { lazySchema } from '../src/lazy-schema'
import { isoTime } from '../src/iso-time'

const greenscaleOptionsSchema = lazySchema(() =>
  integrationOptionsSchema
    .extend({
      apiKey: z.string().min(1).optional(),
      endpoint: z.url().optional(),
      timeoutMs: z.number().int().positive().optional(),
    })
    .strict(),
)

/**
 * Options of {@link greenscale}, besides the common ones (`moments`, `redact`, `env`).
 * - `apiKey`: default `GREENSCALE_API_KEY` (required).
 * - `endpoint`: the full logging URL Greenscale gives you, default `GREENSCALE_ENDPOINT` (required;
 *   `baseUrl` is taken as the same).
 * - `moments`: default `['success']` (LiteLLM logs successes to Greenscale).
 * - `timeoutMs`: per-request time limit, default 10,000.
 */
export type GreenscaleOptions = z.input<typeof greenscaleOptionsSchema>

/** One Greenscale record, as LiteLLM posts it. */
export interface GreenscaleRecord {
  modelId: string
  inputTokenCount?: number
  outputTokenCount?: number
  /** UTC, `YYYY-MM-DDTHH:MM:SSZ`. */
  timestamp: string
  /** Milliseconds. */
  invocationLatency: number
  project?: string
  application?: string
  tags: Array<{ key: string; value: string }>
}

/**
 * greenscale() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * greenscaleIntegration.factory({ moments: ['success'] }) // what callbacks({ success: ['greenscale'] }) builds
 * ```
 */
export const greenscaleIntegration = defineIntegration({
  name: 'greenscale',
  aliases: [],
  switchedOnBy: [['GREENSCALE_API_KEY', 'GREENSCALE_ENDPOINT']],
  position: 'exporters',
  takesEnv: true,
  factory: greenscale,
})

/**
 * Sends every successful call's usage to Greenscale: model, tokens, latency, and the call's
 * `greenscale_project`, `greenscale_application` and other `greenscale_*` metadata keys.
 *
 * @example
 * ```ts
 * // GREENSCALE_API_KEY and GREENSCALE_ENDPOINT in the environment
 * client.use(greenscale())
 * await client.chat({ model, messages, metadata: { greenscale_project: 'checkout', greenscale_team: 'search' } })
 * ```
 */
export function greenscale(options: GreenscaleOptions = {}): Middleware {
  const settings = validate(greenscaleOptionsSchema, options, 'greenscale() options')
  const env = settings.env ?? process.env
  const apiKey = requireSetting({ integration: 'greenscale', option: 'apiKey', variable: 'GREENSCALE_API_KEY' }, settings.apiKey, env)
  const endpoint = requireSetting({ integration: 'greenscale', option: 'endpoint', variable: 'GREENSCALE_ENDPOINT' }, settings.endpoint ?? settings.baseUrl, env)
  if (!URL.canParse(endpoint)) {
    throw new ValidationError(`greenscale(): GREENSCALE_ENDPOINT is not a URL (${JSON.stringify(endpoint)}); give the full logging URL Greenscale gave you.`, [
      { path: 'endpoint', message: 'not a URL' },
    ])
  }
  return defineExporter<GreenscaleRecord>({
    name: 'greenscale',
    moments: settings.moments ?? ['success'],
    redact: settings.redact,
    sink: httpSink({
      name: 'greenscale',
      url: endpoint,
      headers: { 'api-key': apiKey },
      // LiteLLM posts one record per request; no batch form is documented.
      maxBatchSize: 1,
      encode: (records) => records[0],
      timeoutMs: settings.timeoutMs,
    }),
    toItems: toGreenscaleRecord,
  })
}

/**
 * Maps the standard event to a Greenscale record: `greenscale_project` and `greenscale_application`
 * become `project` and `application`, every other `greenscale_<name>` key a tag `<name>`.
 *
 * @example
 * ```ts
 * toGreenscaleRecord(event).tags // [{ key: 'team', value: 'search' }] for metadata { greenscale_team: 'search' }
 * ```
 */
export function toGreenscaleRecord(event: CallEvent): GreenscaleRecord {
  const record: GreenscaleRecord = {
    modelId: event.responseModel ?? event.model,
    timestamp: `${isoTime(event.endTime).slice(0, 19)}Z`,
    invocationLatency: Math.round(event.latencyMs),
    tags: [],
  }
  if (event.usage) {
    record.inputTokenCount = event.usage.inputTokens
    record.outputTokenCount = event.usage.outputTokens
  }
  for (const [key, value] of Object.entries(event.metadata)) {
    if (!key.startsWith('greenscale')) continue
    if (key === 'greenscale_project') record.project = String(value)
    else if (key === 'greenscale_application') record.application = String(value)
    else record.tags.push({ key: key.replace('greenscale_', ''), value: typeof value === 'string' ? value : JSON.stringify(value) })
  }
  return record
}
