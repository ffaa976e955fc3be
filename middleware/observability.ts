/**
 * `observability()`: every built-in integration whose credentials are in the environment, composed
 * into one layer, and `presets` for common stacks.
 */
import { z } from 'zod'
import type { Context } from '../src/context'
import type { Environment } from '../src/integrations/options'
import { catalogue, type CatalogueEntry, type IntegrationName, type OptionsOf } from '../src/integrations/catalogue'
import { chainLayers } from '../src/integrations/chain'
import { declareLayerSinks, sinksOfLayer } from '../src/delivery/layer-sinks'
import type { FactoryOptions, IntegrationDescriptor } from '../src/integrations/descriptor'
import type { RedactOptions } from '../src/redact'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { lazySchema } from '../src/lazy-schema'

export type { IntegrationName }

/** Per integration: `false` never, `true` always (credentials must then be present), an object always with these options. */
type Choice<Options> = boolean | Options

/** One key per integration of the catalogue, typed with that integration's options. */
type Choices = { [Entry in CatalogueEntry as Entry['name']]?: Choice<OptionsOf<Entry>> }

/**
 * Options of {@link observability}; every one has a default. Besides these, one key per integration
 * (`sentry`, `langfuse`, ..., `prometheus` and `consoleLog`, which no variable switches on).
 */
export interface ObservabilityOptions extends Choices {
  /** Variables to read instead of `process.env` (default `process.env`). */
  env?: Environment
  /** Passed to every integration: `{ messages: true }` keeps prompt and reply content out of all of them (default: the client's setting). */
  redact?: RedactOptions
  /** Switch integrations on by the variables present (default true); `false` enables only those named `true` or with options. */
  detect?: boolean
  /** No `console.info` line saying what was enabled (default false). */
  quiet?: boolean
}

/** The layer {@link observability} returns: the enabled integrations as one middleware. */
export interface ObservabilityLayer extends Middleware {
  /** Names of the integrations enabled, in onion order. */
  readonly enabled: string[]
  /** Each enabled integration's own layer, by name (`integrations.prometheus.metrics()`). */
  readonly integrations: Readonly<Record<string, Middleware>>
}

const choiceSchema = lazySchema(() => z.union([z.boolean(), z.record(z.string(), z.unknown())]).optional())
const observabilityOptionsSchema = lazySchema(() =>
  z
    .object({
      env: z.record(z.string(), z.string().optional()).optional(),
      redact: z.object({ messages: z.boolean().optional() }).strict().optional(),
      detect: z.boolean().optional(),
      quiet: z.boolean().optional(),
      ...Object.fromEntries(catalogue.map((integration) => [integration.name, choiceSchema])),
    })
    .strict(),
)

/**
 * Enables every built-in integration whose credentials are in the environment (`LANGFUSE_PUBLIC_KEY`
 * + `LANGFUSE_SECRET_KEY`, `SENTRY_DSN`, `HELICONE_API_KEY`, `SLACK_WEBHOOK_URL`, ...; the table is in
 * docs/integrations/observability.md) and composes them into one layer, tracing outermost. It says
 * which it enabled in one `console.info` line and in `layer.enabled`. Per integration, `false`
 * leaves it out, `true` or an options object puts it in whatever the environment says.
 *
 * @example
 * ```ts
 * const layer = observability({ slack: { thresholdMs: 20_000 }, prometheus: true })
 * client.use(layer)
 * console.log(layer.enabled)                        // ['langfuse', 'slack', 'prometheus']
 * ```
 */
export function observability(options: ObservabilityOptions = {}): ObservabilityLayer {
  validate(observabilityOptionsSchema, options, 'observability() options')
  const env = options.env ?? process.env
  const detect = options.detect ?? true
  const enabledLayers: Record<string, Middleware> = {}
  for (const entry of catalogue) {
    const integration: IntegrationDescriptor = entry
    const choice = options[entry.name]
    if (choice === false) continue
    const requested = choice !== undefined
    if (!requested && !(detect && integration.switchedOnBy.some((set) => set.every((variable) => present(env, variable))))) continue
    const own: FactoryOptions = typeof choice === 'object' ? choice : {}
    const shared: FactoryOptions = {}
    if (options.redact && !('redact' in own)) shared.redact = options.redact
    if (integration.takesEnv && options.env && !('env' in own)) shared.env = options.env
    enabledLayers[integration.name] = integration.factory({ ...shared, ...own })
  }
  const enabled = Object.keys(enabledLayers)
  if (!options.quiet) console.info(summary(enabled))

  const layers = Object.values(enabledLayers)
  const chained = chainLayers(layers)
  const layer =
    layers.length === 0
      ? async function observability(_ctx: Context, next: () => Promise<void>) {
          await next()
        }
      : // Not async: a frame of its own per call would be garbage for nothing (docs/benchmarks.md, notes).
        function observability(ctx: Context, next: () => Promise<void>) {
          return chained(ctx, next)
        }
  // The integrations' sinks: a client with a durable spool replays them when this layer is added.
  declareLayerSinks(layer, sinksOfLayer(chained))
  return Object.assign(layer, { enabled, integrations: Object.freeze(enabledLayers) })
}

function present(env: Environment, variable: string): boolean {
  const value = env[variable]
  return value !== undefined && value.trim() !== ''
}

function summary(enabled: string[]): string {
  if (enabled.length > 0) return `[llm-onion] observability(): enabled ${enabled.join(', ')}.`
  const hints = catalogue.filter((integration) => integration.switchedOnBy.length > 0).map((integration) => integration.switchedOnBy[0]!.join(' + '))
  return `[llm-onion] observability(): no integration enabled; none of ${hints.join(', ')} is set.`
}

/** Options of a preset: those of {@link observability}, without `detect`. */
export type PresetOptions = Omit<ObservabilityOptions, 'detect'>

/**
 * Ready-made stacks: each enables exactly its integrations (credentials must be present, and a
 * missing one fails naming its variable), with the same options as {@link observability}.
 *
 * @example
 * ```ts
 * client.use(presets.grafana())                       // needs LOKI_URL
 * client.use(presets.development({ jsonLog: { path: './calls.jsonl' } }))
 * ```
 */
export const presets = {
  /** Langfuse traces, Sentry errors, Slack alerts. */
  langfuseSentrySlack: (options: PresetOptions = {}) =>
    observability({ ...options, detect: false, langfuse: options.langfuse ?? true, sentry: options.sentry ?? true, slack: options.slack ?? true }),
  /** Errors only: Sentry for the stack traces, Slack for the alert. */
  sentrySlack: (options: PresetOptions = {}) => observability({ ...options, detect: false, sentry: options.sentry ?? true, slack: options.slack ?? true }),
  /** Grafana: logs to Loki, metrics for Prometheus to scrape (`layer.integrations.prometheus.metrics()`). */
  grafana: (options: PresetOptions = {}) => observability({ ...options, detect: false, loki: options.loki ?? true, prometheus: options.prometheus ?? true }),
  /** Product analytics: PostHog events and Helicone request logs. */
  posthogHelicone: (options: PresetOptions = {}) =>
    observability({ ...options, detect: false, posthog: options.posthog ?? true, helicone: options.helicone ?? true }),
  /** Local development: a console line per call and a JSON-lines file. */
  development: (options: PresetOptions = {}) =>
    observability({ ...options, detect: false, consoleLog: options.consoleLog ?? true, jsonLog: options.jsonLog ?? true }),
}
