/**
 * An integration's descriptor: what the catalogue, `observability()`, `callbacks()` and the proxy's
 * config need to know about it, declared once beside its factory.
 */
import type { IntegrationMoment } from './exporter'
import type { Environment } from './options'
import type { RedactOptions } from '../redact'
import type { Middleware } from '../types'
import { buildRouted } from '../delivery/worker-routes'

/**
 * Where in the onion an integration sits, outermost first: tracing outside so its span is active
 * while the others run, error reporting next so its breadcrumb is there before anything else can
 * fail, then exporters, alerts, and what stays in the process (files, metrics, the console).
 */
export const onionPositions = ['tracing', 'errors', 'exporters', 'alerts', 'local'] as const

export type OnionPosition = (typeof onionPositions)[number]

/** What every factory accepts from `observability()` and `callbacks()`, besides its own options. */
export interface FactoryOptions {
  moments?: IntegrationMoment[]
  redact?: RedactOptions
  env?: Environment
  [option: string]: unknown
}

export interface IntegrationDescriptor<Name extends string = string, Options extends object = FactoryOptions, Layer extends Middleware = Middleware> {
  /** Its name in `observability({ name: ... })`, `callbacks({ success: ['name'] })` and the proxy's callback lists. */
  readonly name: Name
  /** Other names it answers to in callback lists: the LiteLLM callback names that mean it (`langfuse_otel`). */
  readonly aliases: readonly string[]
  /**
   * Options a name in a callback list implies, by name (its own or an alias), where LiteLLM's callback
   * of that name sends only part of what the factory sends by default: Datadog's `datadog` is its logs,
   * `datadog_llm_observability` its LLM Observability spans. A callback list builds one layer per such
   * name; options given for the integration (`integrationOptions`) come on top.
   */
  readonly callbackOptions?: Readonly<Record<string, Readonly<FactoryOptions>>>
  /** `observability()` switches it on when every variable of one of these sets is set; empty: only when asked for. */
  readonly switchedOnBy: ReadonlyArray<readonly string[]>
  /** Its place in the onion; the catalogue lists integrations in this order. */
  readonly position: OnionPosition
  /** Whether the factory reads its settings from an `env` option (so `observability({ env })` passes it on). */
  readonly takesEnv: boolean
  /** Builds the layer; options are the integration's own plus `moments`, `redact` and `env`. */
  factory(options?: Options): Layer
}

/**
 * Declares an integration, beside its factory. The catalogue (src/integrations/catalogue.ts) lists it
 * with one line, and from there `observability()`, `callbacks()` and the proxy know it.
 *
 * @example
 * ```ts
 * export const heliconeIntegration = defineIntegration({
 *   name: 'helicone',
 *   aliases: [],
 *   switchedOnBy: [['HELICONE_API_KEY']],
 *   position: 'exporters',
 *   takesEnv: true,
 *   factory: helicone,
 * })
 * ```
 */
export function defineIntegration<Name extends string, Options extends object, Layer extends Middleware>(
  descriptor: IntegrationDescriptor<Name, Options, Layer>,
): IntegrationDescriptor<Name, Options, Layer> {
  const build = descriptor.factory
  // Built through its descriptor (callbacks(), observability(), the proxy), an integration's exporters
  // can run in the delivery worker, which builds it again from the same name and options.
  return Object.freeze({ ...descriptor, factory: (options?: Options) => buildRouted(descriptor.name, options, () => build(options)) })
}

/** The names a descriptor answers to: its own, then its aliases. */
export function namesOf(descriptor: IntegrationDescriptor): string[] {
  return [descriptor.name, ...descriptor.aliases]
}
