/**
 * A generic OTLP/HTTP traces exporter: every call as a GenAI span sent to any collector or backend
 * that speaks OTLP, configured by the OpenTelemetry exporter variables (read per signal, see
 * src/otel/otlp-environment.ts) or by options. Unlike `otel()` it needs no tracer provider of the
 * application: it runs its own pipeline on the client's delivery queue. The vendor presets
 * (middleware/otlp-presets.ts) are this exporter with a vendor's endpoint, auth header and attributes.
 */
import { z } from 'zod'
import { ValidationError } from '../src/errors'
import type { CallEvent } from '../src/event'
import type { SpanAttributes } from '../src/integrations/otel/attributes'
import { readOtlpEnvironment } from '../src/integrations/otel/otlp-environment'
import { defineOtlpExporter, otlpPresetOptionsSchema, serviceNameOf } from '../src/integrations/otel/otlp-exporter'
import type { OtlpProtocol } from '../src/integrations/otel/pipeline'
import { registerSecret } from '../src/secret-scrubber'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { defineIntegration } from '../src/integrations/descriptor'
import { lazySchema } from '../src/lazy-schema'

/** What every OTLP exporter takes: the preset options plus where to send and how to encode. */
export const otlpTransportOptionsSchema = lazySchema(() =>
  otlpPresetOptionsSchema.extend({
    /** `http/protobuf` (default) or `http/json`. */
    protocol: z.enum(['http/protobuf', 'http/json']).optional(),
    /** Compress request bodies with gzip (default `true`). */
    gzip: z.boolean().optional(),
  }),
)

const otlpOptionsSchema = lazySchema(() =>
  otlpTransportOptionsSchema
    .extend({
      /** The full traces URL, used as it is. */
      url: z.url().optional(),
      /** Headers of every request (credentials); they replace those of the variables. */
      headers: z.record(z.string(), z.string()).optional(),
      /** Resource attributes besides `service.name`. */
      resource: z.record(z.string(), z.string()).optional(),
    })
    .strict(),
)

/**
 * Options of {@link otlp}, besides the common ones (`moments`, `redact`, `env`).
 * - `url`: the full traces URL; default `baseUrl` + `/v1/traces`, else `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
 *   as it is, else `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces` (required: one of them).
 * - `headers`: default `OTEL_EXPORTER_OTLP_HEADERS` merged with `OTEL_EXPORTER_OTLP_TRACES_HEADERS`
 *   (only these; no other header of the application is sent).
 * - `protocol`: default `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`, else `http/protobuf`.
 * - `gzip`: default `OTEL_EXPORTER_OTLP_[TRACES_]COMPRESSION` is `gzip`, else `true`.
 * - `captureContent`: default `false` (prompt and reply as `gen_ai.*.messages` only when asked, as the conventions say).
 * - `serviceName`: default `OTEL_SERVICE_NAME`, else `llm-onion`; `resource`: more resource attributes, default none.
 * - `moments`: default `['success', 'failure']`; `timeoutMs`: default 10,000.
 */
export type OtlpOptions = z.input<typeof otlpOptionsSchema>

/** Everything an OTLP layer is made from, once options and variables are read. */
export interface OtlpLayerSettings {
  name: string
  url: string
  headers: Record<string, string>
  headersFor?: () => Promise<Record<string, string>>
  protocol: OtlpProtocol
  gzip: boolean
  resource: Record<string, string>
  captureContent: boolean
  moments?: z.output<typeof otlpOptionsSchema>['moments']
  redact?: z.output<typeof otlpOptionsSchema>['redact']
  timeoutMs?: number
  extraAttributes?: (event: CallEvent) => SpanAttributes
}

/**
 * otlp() in the catalogue. It is switched on only when asked for: `OTEL_EXPORTER_OTLP_ENDPOINT`
 * switches on `otel()`, which sends through the application's tracer provider.
 *
 * @example
 * ```ts
 * otlpIntegration.factory({ url: 'http://127.0.0.1:4318/v1/traces' }) // what callbacks({ success: ['otlp'] }) builds
 * ```
 */
export const otlpIntegration = defineIntegration({
  name: 'otlp',
  aliases: [],
  switchedOnBy: [],
  position: 'exporters',
  takesEnv: true,
  factory: otlp,
})

/**
 * Sends every call as an OpenTelemetry GenAI span (one per call, a child per attempt) to an OTLP/HTTP
 * endpoint, protobuf or JSON, on the client's delivery queue: retried, counted when dropped, flushed
 * by `client.flush()`.
 *
 * @example
 * ```ts
 * // OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318 and OTEL_EXPORTER_OTLP_HEADERS=api-key=... in the environment
 * client.use(otlp())
 * client.use(otlp({ url: 'http://127.0.0.1:4318/v1/traces', protocol: 'http/json' }))
 * ```
 */
export function otlp(options: OtlpOptions = {}): Middleware {
  const settings = validate(otlpOptionsSchema, options, 'otlp() options')
  const env = settings.env ?? process.env
  const fromEnvironment = readOtlpEnvironment(env)
  const url = settings.url ?? (settings.baseUrl ? `${settings.baseUrl.replace(/\/+$/, '')}/v1/traces` : fromEnvironment.url)
  if (url === undefined) {
    throw new ValidationError(
      'otlp() needs an endpoint: set OTEL_EXPORTER_OTLP_ENDPOINT (a base, /v1/traces is appended) or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (the full URL), or pass { url: "http://collector:4318/v1/traces" }.',
      [{ path: 'url', message: 'missing; set OTEL_EXPORTER_OTLP_ENDPOINT' }],
    )
  }
  for (const value of Object.values(settings.headers ?? {})) registerSecret(value)
  return otlpLayer({
    name: 'otlp',
    url,
    headers: settings.headers ?? fromEnvironment.headers,
    protocol: settings.protocol ?? fromEnvironment.protocol,
    gzip: settings.gzip ?? fromEnvironment.gzip ?? true,
    resource: { ...settings.resource, 'service.name': serviceNameOf(settings.serviceName, env) },
    captureContent: settings.captureContent ?? false,
    moments: settings.moments,
    redact: settings.redact,
    timeoutMs: settings.timeoutMs,
  })
}

/**
 * The layer of an OTLP exporter whose settings are all read: what `otlp()` and every preset build.
 *
 * @example
 * ```ts
 * const layer = otlpLayer({ name: 'my-backend', url, headers: { 'api-key': key }, protocol: 'http/protobuf', gzip: true, resource: { 'service.name': 'shop' }, captureContent: false })
 * ```
 */
export function otlpLayer(settings: OtlpLayerSettings): Middleware {
  return defineOtlpExporter({
    name: settings.name,
    moments: settings.moments,
    redact: settings.redact,
    captureContent: settings.captureContent,
    destination: {
      url: settings.url,
      headers: settings.headers,
      headersFor: settings.headersFor,
      protocol: settings.protocol,
      gzip: settings.gzip,
      timeoutMs: settings.timeoutMs,
      resource: settings.resource,
    },
    extraAttributes: settings.extraAttributes,
  })
}
