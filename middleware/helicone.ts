/**
 * Helicone async logging: one `POST {base}/custom/v1/log` per finished call, in the shape of
 * Helicone's manual logger (providerRequest, providerResponse, timing).
 */
import { z } from 'zod'
import type { CallEvent } from '../src/event'
import { defineExporter } from '../src/integrations/exporter'
import { httpSink } from '../src/delivery/http-sink'
import { integrationOptionsSchema, readBaseUrl, requireSetting } from '../src/integrations/options'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { defineIntegration } from '../src/integrations/descriptor'

const heliconeOptionsSchema = integrationOptionsSchema
  .extend({
    apiKey: z.string().min(1).optional(),
    timeoutMs: z.number().int().positive().optional(),
  })
  .strict()

/**
 * Options of {@link helicone}, besides the common ones (`moments`, `redact`, `baseUrl`, `env`).
 * - `apiKey`: default `HELICONE_API_KEY` (required).
 * - `baseUrl`: default `HELICONE_API_BASE`, else `https://api.worker.helicone.ai`.
 * - `moments`: default `['success', 'failure']`.
 * - `timeoutMs`: per-request time limit, default 10,000.
 */
export type HeliconeOptions = z.input<typeof heliconeOptionsSchema>

/** One Helicone log, as `POST /custom/v1/log` takes it. */
export interface HeliconeLog {
  providerRequest: { url: string; json: Record<string, unknown>; meta: Record<string, string> }
  providerResponse: { json: Record<string, unknown>; status: number; headers: Record<string, string> }
  timing: {
    startTime: { seconds: number; milliseconds: number }
    endTime: { seconds: number; milliseconds: number }
    timeToFirstToken?: number
  }
}

/**
 * helicone() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * heliconeIntegration.factory({ moments: ['failure'] }) // what callbacks({ failure: ['helicone'] }) builds
 * ```
 */
export const heliconeIntegration = defineIntegration({
  name: 'helicone',
  aliases: [],
  switchedOnBy: [['HELICONE_API_KEY']],
  position: 'exporters',
  takesEnv: true,
  factory: helicone,
})

/**
 * Logs every call to Helicone (or a self-hosted Helicone) in the background: the request the
 * provider got, its response or error with the HTTP status, and the timing. The user, the trace id
 * and string metadata go in as Helicone's `Helicone-User-Id`, `Helicone-Session-Id` and
 * `Helicone-Property-*` meta.
 *
 * @example
 * ```ts
 * // HELICONE_API_KEY=sk-helicone-... in the environment
 * client.use(helicone())
 * // a self-hosted Helicone
 * client.use(helicone({ baseUrl: 'http://localhost:8585' }))
 * ```
 */
export function helicone(options: HeliconeOptions = {}): Middleware {
  const settings = validate(heliconeOptionsSchema, options, 'helicone() options')
  const env = settings.env ?? process.env
  const apiKey = requireSetting({ integration: 'helicone', option: 'apiKey', variable: 'HELICONE_API_KEY' }, settings.apiKey, env)
  const base = readBaseUrl('helicone', settings.baseUrl, 'HELICONE_API_BASE', 'https://api.worker.helicone.ai', env)
  return defineExporter<HeliconeLog>({
    name: 'helicone',
    moments: settings.moments,
    redact: settings.redact,
    sink: httpSink({
      name: 'helicone',
      url: `${base}/custom/v1/log`,
      headers: { authorization: `Bearer ${apiKey}` },
      // Helicone's log endpoint takes one log per request.
      maxBatchSize: 1,
      encode: (logs) => logs[0],
      timeoutMs: settings.timeoutMs,
    }),
    toItems: toHeliconeLog,
  })
}

/** Maps the standard event to Helicone's manual-logger shape. */
export function toHeliconeLog(event: CallEvent): HeliconeLog {
  const path = event.type === 'embedding' ? '/embeddings' : '/chat/completions'
  const json: Record<string, unknown> = { model: providerModel(event), ...event.parameters }
  if (event.type === 'embedding') json.input = event.input
  else json.messages = event.messages
  if (event.streaming) json.stream = true
  if (event.user !== undefined) json.user = event.user
  return {
    // Helicone's own manual logger says `custom-model-nopath` when there is no provider URL.
    providerRequest: { url: event.apiBase ? `${event.apiBase}${path}` : 'custom-model-nopath', json, meta: metaOf(event) },
    providerResponse: event.error
      ? { json: { error: { message: event.error.message, type: event.error.type } }, status: event.error.status ?? 500, headers: {} }
      : { json: event.response ?? {}, status: 200, headers: {} },
    timing: {
      startTime: epoch(event.startTime),
      endTime: epoch(event.endTime),
      ...(event.ttftMs === undefined ? {} : { timeToFirstToken: event.ttftMs }),
    },
  }
}

/** The model name as the provider got it: `openai/gpt-4o-mini` → `gpt-4o-mini`. */
function providerModel(event: CallEvent): string {
  const prefix = event.provider === undefined ? '' : `${event.provider}/`
  return prefix !== '' && event.model.startsWith(prefix) ? event.model.slice(prefix.length) : event.model
}

function metaOf(event: CallEvent): Record<string, string> {
  const meta: Record<string, string> = { 'Helicone-Request-Id': event.id }
  if (event.user !== undefined) meta['Helicone-User-Id'] = event.user
  if (event.traceId !== event.id) meta['Helicone-Session-Id'] = event.traceId
  for (const [key, value] of Object.entries(event.metadata)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') meta[`Helicone-Property-${key}`] = String(value)
  }
  return meta
}

function epoch(ms: number): { seconds: number; milliseconds: number } {
  return { seconds: Math.trunc(ms / 1000), milliseconds: ms % 1000 }
}
