/**
 * Langfuse over OpenTelemetry: every call becomes a generation (an OTLP span) posted to
 * `{LANGFUSE_HOST}/api/public/otel/v1/traces` with Basic auth. The old `/api/public/ingestion` batch
 * API is deprecated and is not used.
 */
import { z } from 'zod'
import type { CallEvent } from '../src/event'
import { readBaseUrl, requireSetting } from '../src/integrations/options'
import type { SpanAttributes } from '../src/integrations/otel/attributes'
import { defineOtlpExporter, otlpPresetOptionsSchema, serviceNameOf } from '../src/integrations/otel/otlp-exporter'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { defineIntegration } from '../src/integrations/descriptor'
import { lazySchema } from '../src/lazy-schema'
import { isoTime } from '../src/iso-time'

const langfuseOptionsSchema = lazySchema(() =>
  otlpPresetOptionsSchema
    .extend({
      publicKey: z.string().min(1).optional(),
      secretKey: z.string().min(1).optional(),
      /** `langfuse.environment` of every trace (default `LANGFUSE_TRACING_ENVIRONMENT`, else none). */
      environment: z.string().min(1).optional(),
    })
    .strict(),
)

/**
 * Options of {@link langfuse}, besides the common ones (`moments`, `redact`, `baseUrl`, `env`).
 * - `publicKey`: default `LANGFUSE_PUBLIC_KEY` (required).
 * - `secretKey`: default `LANGFUSE_SECRET_KEY` (required).
 * - `baseUrl`: default `LANGFUSE_HOST`, else `https://cloud.langfuse.com`.
 * - `environment`: default `LANGFUSE_TRACING_ENVIRONMENT`, else none.
 * - `captureContent`: default `true` (prompt and reply as the generation's input and output; redaction still applies).
 * - `serviceName`: default `OTEL_SERVICE_NAME`, else `llm-onion`.
 * - `moments`: default `['success', 'failure']`.
 * - `timeoutMs`: per-request time limit, default 10,000.
 */
export type LangfuseOptions = z.input<typeof langfuseOptionsSchema>

/**
 * langfuse() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * langfuseIntegration.factory({ moments: ['failure'] }) // what callbacks({ failure: ['langfuse'] }) builds
 * ```
 */
export const langfuseIntegration = defineIntegration({
  name: 'langfuse',
  aliases: ['langfuse_otel'],
  switchedOnBy: [['LANGFUSE_PUBLIC_KEY', 'LANGFUSE_SECRET_KEY']],
  position: 'exporters',
  takesEnv: true,
  factory: langfuse,
})

/**
 * Sends every call to Langfuse (cloud or self-hosted) as an OpenTelemetry generation: model, usage,
 * cost, input and output messages, user, session (`metadata.session_id`), tags, time to first chunk,
 * and the error of a failed call. Retries and fallbacks show as child spans of the call.
 *
 * @example
 * ```ts
 * // LANGFUSE_PUBLIC_KEY=pk-lf-... and LANGFUSE_SECRET_KEY=sk-lf-... in the environment
 * client.use(langfuse())
 * // a self-hosted Langfuse
 * client.use(langfuse({ baseUrl: 'http://localhost:3000' }))
 * ```
 */
export function langfuse(options: LangfuseOptions = {}): Middleware {
  const settings = validate(langfuseOptionsSchema, options, 'langfuse() options')
  const env = settings.env ?? process.env
  const publicKey = requireSetting({ integration: 'langfuse', option: 'publicKey', variable: 'LANGFUSE_PUBLIC_KEY' }, settings.publicKey, env)
  const secretKey = requireSetting({ integration: 'langfuse', option: 'secretKey', variable: 'LANGFUSE_SECRET_KEY' }, settings.secretKey, env)
  const host = readBaseUrl('langfuse', settings.baseUrl, 'LANGFUSE_HOST', 'https://cloud.langfuse.com', env)
  const environment = settings.environment ?? (env.LANGFUSE_TRACING_ENVIRONMENT?.trim() || undefined)
  return defineOtlpExporter({
    name: 'langfuse',
    moments: settings.moments,
    redact: settings.redact,
    captureContent: settings.captureContent ?? true,
    destination: {
      url: `${host}/api/public/otel/v1/traces`,
      headers: {
        authorization: `Basic ${Buffer.from(`${publicKey}:${secretKey}`).toString('base64')}`,
        // Langfuse's ingestion API asks direct OTLP exporters to name the ingestion version they speak.
        'x-langfuse-ingestion-version': '4',
      },
      gzip: true,
      timeoutMs: settings.timeoutMs,
      resource: { 'service.name': serviceNameOf(settings.serviceName, env) },
    },
    extraAttributes: (event) => langfuseAttributes(event, environment, settings.captureContent ?? true),
  })
}

/**
 * The `langfuse.*` attributes Langfuse reads besides the GenAI conventions.
 *
 * @example
 * ```ts
 * langfuseAttributes(ctx.toEvent(), 'staging', true)['langfuse.observation.type'] // 'generation'
 * ```
 */
export function langfuseAttributes(event: CallEvent, environment: string | undefined, captureContent: boolean): SpanAttributes {
  const attributes: SpanAttributes = {
    'langfuse.observation.type': event.type === 'embedding' ? 'embedding' : 'generation',
    'langfuse.observation.model.parameters': JSON.stringify(event.parameters),
  }
  if (environment) attributes['langfuse.environment'] = environment
  if (event.firstChunkTime !== undefined) attributes['langfuse.observation.completion_start_time'] = isoTime(event.firstChunkTime)
  if (event.cost) attributes['langfuse.observation.cost_details'] = JSON.stringify(event.cost)
  if (event.error) {
    attributes['langfuse.observation.level'] = 'ERROR'
    attributes['langfuse.observation.status_message'] = event.error.message
  }
  if (event.tags.length > 0) attributes['langfuse.trace.tags'] = event.tags
  const traceName = event.metadata.trace_name
  if (typeof traceName === 'string') attributes['langfuse.trace.name'] = traceName
  for (const [key, value] of Object.entries(event.metadata)) {
    if (value === undefined || value === null) continue
    attributes[`langfuse.observation.metadata.${key}`] = typeof value === 'object' ? JSON.stringify(value) : String(value)
  }
  // Embedding inputs have no GenAI message attribute; Langfuse takes them as the observation's input.
  if (captureContent && event.type === 'embedding') attributes['langfuse.observation.input'] = JSON.stringify(event.input)
  return attributes
}
