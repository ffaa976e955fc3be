/**
 * Pydantic Logfire over OpenTelemetry: every call becomes a GenAI span posted to
 * `{LOGFIRE_BASE_URL}/v1/traces` with the write token as the `Authorization` header (no "Bearer").
 */
import { z } from 'zod'
import type { CallEvent } from '../src/event'
import { readBaseUrl, requireSetting } from '../src/integrations/options'
import { providerModelOf, type SpanAttributes } from '../src/integrations/otel/attributes'
import { defineOtlpExporter, otlpPresetOptionsSchema, serviceNameOf } from '../src/integrations/otel/otlp-exporter'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { defineIntegration } from '../src/integrations/descriptor'

const logfireOptionsSchema = otlpPresetOptionsSchema
  .extend({
    token: z.string().min(1).optional(),
  })
  .strict()

/**
 * Options of {@link logfire}, besides the common ones (`moments`, `redact`, `baseUrl`, `env`).
 * - `token`: default `LOGFIRE_TOKEN` (required; a project write token).
 * - `baseUrl`: default `LOGFIRE_BASE_URL`, else the token's region (`pylf_v1_us_...` →
 *   `https://logfire-us.pydantic.dev`, `pylf_v1_eu_...` → `https://logfire-eu.pydantic.dev`),
 *   else `https://logfire-api.pydantic.dev`.
 * - `captureContent`: default `true` (prompt and reply as `gen_ai.*.messages`; redaction still applies).
 * - `serviceName`: default `OTEL_SERVICE_NAME`, else `llm-onion`.
 * - `moments`: default `['success', 'failure']`.
 * - `timeoutMs`: per-request time limit, default 10,000.
 */
export type LogfireOptions = z.input<typeof logfireOptionsSchema>

const regionHosts: Record<string, string> = {
  us: 'https://logfire-us.pydantic.dev',
  eu: 'https://logfire-eu.pydantic.dev',
}

/**
 * The Logfire API base for a write token: its region's host, else the global one.
 *
 * @example
 * ```ts
 * logfireBaseUrlForToken('pylf_v1_eu_...') // 'https://logfire-eu.pydantic.dev'
 * ```
 */
export function logfireBaseUrlForToken(token: string): string {
  const region = /^pylf_v\d+_([a-z]+)_/.exec(token)?.[1]
  return (region && regionHosts[region]) || 'https://logfire-api.pydantic.dev'
}

/**
 * logfire() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * logfireIntegration.factory({ moments: ['failure'] }) // what callbacks({ failure: ['logfire'] }) builds
 * ```
 */
export const logfireIntegration = defineIntegration({
  name: 'logfire',
  aliases: [],
  switchedOnBy: [['LOGFIRE_TOKEN']],
  position: 'exporters',
  takesEnv: true,
  factory: logfire,
})

/**
 * Sends every call to Logfire as an OpenTelemetry GenAI span (model, usage, cost, timing, errors,
 * messages), shown with a one-line message and Logfire's error level for failures. Retries and
 * fallbacks show as child spans of the call.
 *
 * @example
 * ```ts
 * // LOGFIRE_TOKEN=pylf_v1_eu_... in the environment
 * client.use(logfire())
 * ```
 */
export function logfire(options: LogfireOptions = {}): Middleware {
  const settings = validate(logfireOptionsSchema, options, 'logfire() options')
  const env = settings.env ?? process.env
  const token = requireSetting({ integration: 'logfire', option: 'token', variable: 'LOGFIRE_TOKEN' }, settings.token, env)
  const base = readBaseUrl('logfire', settings.baseUrl, 'LOGFIRE_BASE_URL', logfireBaseUrlForToken(token), env)
  return defineOtlpExporter({
    name: 'logfire',
    moments: settings.moments,
    redact: settings.redact,
    captureContent: settings.captureContent ?? true,
    destination: {
      url: `${base}/v1/traces`,
      headers: { authorization: token },
      gzip: true,
      timeoutMs: settings.timeoutMs,
      resource: { 'service.name': serviceNameOf(settings.serviceName, env) },
    },
    extraAttributes: logfireAttributes,
  })
}

/** Logfire's level numbers (its `logfire.level_num` attribute). */
const errorLevel = 17

/**
 * The `logfire.*` attributes its UI reads: the line shown for the span and, on failure, the error level.
 *
 * @example
 * ```ts
 * logfireAttributes(ctx.toEvent())['logfire.msg'] // 'chat gpt-4o-mini 812 ms, 25 in / 120 out'
 * ```
 */
export function logfireAttributes(event: CallEvent): SpanAttributes {
  const model = event.responseModel ?? providerModelOf(event.model, event.provider)
  const tokens = event.usage ? `, ${event.usage.inputTokens} in / ${event.usage.outputTokens} out` : ''
  const outcome = event.error ? `failed: ${event.error.type}` : `${event.latencyMs} ms${tokens}`
  const attributes: SpanAttributes = { 'logfire.msg': `${event.type === 'embedding' ? 'embeddings' : 'chat'} ${model} ${outcome}` }
  if (event.error) attributes['logfire.level_num'] = errorLevel
  return attributes
}
