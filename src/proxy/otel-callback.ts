/**
 * `otel` in a proxy config's callback lists. In the library `otel()` records spans in the
 * application's tracer provider; the proxy has none unless one was preloaded (`node --import` of an
 * OpenTelemetry SDK setup), so `otel` alone exported nothing. Here it becomes an exporter:
 * - a tracer provider is registered: `otel()` as in the library, spans go where that provider sends;
 * - else an endpoint is set (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT`, or
 *   LiteLLM's `OTEL_ENDPOINT` with `OTEL_HEADERS`): `otlp()`, the generic OTLP exporter, built from them;
 * - else the proxy refuses to start, naming the variables to set.
 */
import { findIntegration } from '../integrations/catalogue'
import type { Environment } from '../integrations/options'
import { parseOtlpHeaders } from '../integrations/otel/otlp-environment'
import { ConfigError } from './config'

/** The callback lists with `otel` resolved, and the options `otlp()` is built with if it replaced it. */
export interface ResolvedOtelCallback {
  lists: { input: string[]; success: string[]; failure: string[] }
  otlpOptions?: { url?: string; headers?: Record<string, string>; env: Environment }
  /** For the start-up summary: `otel → otlp (http://collector:4318/v1/traces)`; undefined when unchanged. */
  note?: string
}

const endpointVariables = ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_ENDPOINT'] as const

/**
 * Resolves `otel` in `lists` as described above.
 *
 * @example
 * ```ts
 * const { lists, otlpOptions } = await resolveOtelCallback({ input: [], success: ['otel'], failure: [] }, process.env)
 * ```
 */
export async function resolveOtelCallback(lists: ResolvedOtelCallback['lists'], env: Environment): Promise<ResolvedOtelCallback> {
  const isOtel = (name: string) => findIntegration(name)?.name === 'otel'
  const named = Object.entries(lists).find(([, list]) => list.some(isOtel))
  if (!named) return { lists }
  if (await tracerProviderRegistered()) return { lists }
  const read = (variable: string) => env[variable]?.trim() || undefined
  const standard = read('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? read('OTEL_EXPORTER_OTLP_ENDPOINT')
  // LiteLLM's own variables: its exporter takes OTEL_ENDPOINT as the full URL and OTEL_HEADERS as name=value pairs.
  const litellmEndpoint = standard === undefined ? read('OTEL_ENDPOINT') : undefined
  if (standard === undefined && litellmEndpoint === undefined) {
    const key = `litellm_settings.${named[0]}_callback`
    throw new ConfigError(
      `${key}: "otel" would export nothing: no OpenTelemetry tracer provider is registered and none of ${endpointVariables.join(', ')} is set. Set OTEL_EXPORTER_OTLP_ENDPOINT (for example http://localhost:4318) so the proxy exports spans over OTLP, or preload your SDK setup with node --import.`,
      [{ path: key, message: 'otel needs OTEL_EXPORTER_OTLP_ENDPOINT or a registered tracer provider' }],
    )
  }
  // A plain copy: zod does not take process.env itself as a record.
  const otlpOptions: NonNullable<ResolvedOtelCallback['otlpOptions']> = { env: { ...env } }
  if (litellmEndpoint !== undefined) {
    otlpOptions.url = /\/v1\/traces\/?$/.test(litellmEndpoint) ? litellmEndpoint : `${litellmEndpoint.replace(/\/+$/, '')}/v1/traces`
    otlpOptions.headers = { ...parseOtlpHeaders(read('OTEL_HEADERS'), 'OTEL_HEADERS') }
  }
  const replace = (list: string[]) => [...new Set(list.map((name) => (isOtel(name) ? 'otlp' : name)))]
  return {
    lists: { input: replace(lists.input), success: replace(lists.success), failure: replace(lists.failure) },
    otlpOptions,
    note: `otel → otlp (${litellmEndpoint !== undefined ? 'OTEL_ENDPOINT' : read('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT'})`,
  }
}

/** Whether an application registered a global tracer provider (the API's proxy then delegates to it). */
async function tracerProviderRegistered(): Promise<boolean> {
  const api = await import('@opentelemetry/api')
  const provider = api.trace.getTracerProvider() as { getDelegate?: () => unknown }
  // An unset global delegates to the API's one no-op provider, the same a fresh proxy provider delegates to.
  return typeof provider.getDelegate === 'function' && provider.getDelegate() !== new api.ProxyTracerProvider().getDelegate()
}
