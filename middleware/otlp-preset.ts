/**
 * What a vendor preset of `otlp()` is: a name, the settings it reads (options first, then the
 * vendor's variables, LiteLLM's names where LiteLLM has the integration), and from them the traces
 * URL, the auth headers, the resource and the vendor's extra span attributes. `defineOtlpPreset`
 * turns such a description into a factory and a catalogue descriptor; the descriptions themselves are
 * one table, middleware/otlp-presets.ts.
 */
import { z } from 'zod'
import { ValidationError } from '../src/errors'
import type { CallEvent } from '../src/event'
import type { Environment } from '../src/integrations/options'
import { defineIntegration, type IntegrationDescriptor } from '../src/integrations/descriptor'
import { registerSecret } from '../src/secret-scrubber'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { lazySchema } from '../src/lazy-schema'
import { otlpLayer, otlpTransportOptionsSchema } from './otlp'
import type { SpanAttributes } from '../src/integrations/otel/attributes'
import { serviceNameOf } from '../src/integrations/otel/otlp-exporter'

/** One setting of a preset: an option of the same name, else the first of these variables that is set. */
export interface PresetSetting {
  readonly variables: readonly string[]
  /** Construction fails naming the first variable when neither option nor variable gives it. */
  readonly required?: boolean
  readonly fallback?: string
  /** A credential: registered with the secret scrubber so it never appears in anything exported. */
  readonly secret?: boolean
}

/** A vendor preset: how its settings become a URL, headers, a resource and attributes. */
export interface OtlpPresetDefinition<Name extends string, Key extends string> {
  readonly name: Name
  /** LiteLLM's callback names for it. */
  readonly aliases: readonly string[]
  readonly switchedOnBy: ReadonlyArray<readonly string[]>
  readonly settings: { readonly [K in Key]: PresetSetting }
  /** The full traces URL (`baseUrl` is the option of that name, when given). */
  url(values: PresetValues<Key>, baseUrl: string | undefined): string
  headers(values: PresetValues<Key>): Record<string, string>
  /** Headers fetched before a request (a short-lived token); default none. */
  headersFor?(values: PresetValues<Key>, timeoutMs: number): () => Promise<Record<string, string>>
  /** Resource attributes besides `service.name`. */
  resource?(values: PresetValues<Key>): Record<string, string>
  /** `service.name` when neither the option nor `OTEL_SERVICE_NAME` gives one (default `llm-onion`). */
  serviceName?(values: PresetValues<Key>): string | undefined
  /** The vendor's own span attributes, beside the GenAI ones. */
  attributes?(event: CallEvent, captureContent: boolean, values: PresetValues<Key>): SpanAttributes
  /** Whether prompts and replies are sent by default. */
  readonly captureContent: boolean
}

/** A preset's settings as read: required ones are strings. */
export type PresetValues<Key extends string> = { readonly [K in Key]: string | undefined }

/** A preset's options: the OTLP transport options and one string option per setting. */
export type OtlpPresetOptions<Key extends string> = z.input<typeof otlpTransportOptionsSchema> & { [K in Key]?: string }

/**
 * A preset's factory and catalogue descriptor, from its description.
 *
 * @example
 * ```ts
 * export const { factory: honeycomb, integration: honeycombIntegration } = defineOtlpPreset(honeycombPreset)
 * ```
 */
export function defineOtlpPreset<Name extends string, Key extends string>(
  preset: OtlpPresetDefinition<Name, Key>,
): { factory: (options?: OtlpPresetOptions<Key>) => Middleware; integration: IntegrationDescriptor<Name, OtlpPresetOptions<Key>, Middleware> } {
  const keys = Object.keys(preset.settings) as Key[]
  // Built on the factory's first call: a preset defined at import builds nothing (docs/benchmarks.md, "Cold start").
  const schema = lazySchema(() => otlpTransportOptionsSchema.extend(Object.fromEntries(keys.map((key) => [key, z.string().min(1).optional()]))).strict())
  const factory = (options: OtlpPresetOptions<Key> = {}): Middleware => {
    const settings = validate(schema, options, `${preset.name}() options`) as z.output<typeof otlpTransportOptionsSchema> & Partial<Record<Key, string>>
    const env = settings.env ?? process.env
    const values = readPresetValues(preset, settings, env)
    const captureContent = settings.captureContent ?? preset.captureContent
    const timeoutMs = settings.timeoutMs ?? 10_000
    const url = preset.url(values, settings.baseUrl?.replace(/\/+$/, ''))
    if (!URL.canParse(url)) {
      throw new ValidationError(`${preset.name}(): the traces URL ${JSON.stringify(url)} is not a URL; give a full URL in the baseUrl option or the preset's variable.`, [
        { path: 'baseUrl', message: 'not a URL' },
      ])
    }
    return otlpLayer({
      name: preset.name,
      url,
      headers: preset.headers(values),
      headersFor: preset.headersFor?.(values, timeoutMs),
      protocol: settings.protocol ?? 'http/protobuf',
      gzip: settings.gzip ?? true,
      resource: { ...preset.resource?.(values), 'service.name': serviceNameOf(settings.serviceName ?? preset.serviceName?.(values), env) },
      captureContent,
      moments: settings.moments,
      redact: settings.redact,
      timeoutMs: settings.timeoutMs,
      extraAttributes: preset.attributes ? (event) => preset.attributes!(event, captureContent, values) : undefined,
    })
  }
  Object.defineProperty(factory, 'name', { value: preset.name })
  const integration = defineIntegration<Name, OtlpPresetOptions<Key>, Middleware>({
    name: preset.name,
    aliases: preset.aliases,
    switchedOnBy: preset.switchedOnBy,
    position: 'exporters',
    takesEnv: true,
    factory,
  })
  return { factory, integration }
}

function readPresetValues<Name extends string, Key extends string>(
  preset: OtlpPresetDefinition<Name, Key>,
  options: Partial<Record<Key, string>>,
  env: Environment,
): PresetValues<Key> {
  const values = {} as Record<Key, string | undefined>
  for (const key of Object.keys(preset.settings) as Key[]) {
    const setting: PresetSetting = preset.settings[key]
    let value = options[key]
    for (const variable of setting.variables) value ??= env[variable]?.trim() || undefined
    value ??= setting.fallback
    if (value === undefined && setting.required) {
      const variable = setting.variables[0] ?? key
      throw new ValidationError(`${preset.name}() needs ${variable}: set ${variable} in the environment or pass { ${key}: '...' } to ${preset.name}().`, [
        { path: key, message: `missing; set ${variable}` },
      ])
    }
    if (value !== undefined && setting.secret) registerSecret(value)
    values[key] = value
  }
  return values
}

/**
 * `base` as a traces URL: kept when it already ends in `/v1/traces`, `/traces` added after `/v1`,
 * else `/v1/traces` appended (as the OpenTelemetry SDKs treat `OTEL_EXPORTER_OTLP_ENDPOINT`).
 *
 * @example
 * ```ts
 * tracesUrlOf('https://otlp.arize.com/v1') // 'https://otlp.arize.com/v1/traces'
 * ```
 */
export function tracesUrlOf(base: string): string {
  const trimmed = base.replace(/\/+$/, '')
  if (trimmed.endsWith('/v1/traces')) return trimmed
  if (trimmed.endsWith('/v1')) return `${trimmed}/traces`
  return `${trimmed}/v1/traces`
}

/** `Basic base64(user:password)`. */
export function basicAuthorization(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
}
