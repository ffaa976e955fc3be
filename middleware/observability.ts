/**
 * `observability()`: every built-in integration whose credentials are in the environment, composed
 * into one layer, and `presets` for common stacks.
 */
import koaCompose from 'koa-compose'
import { z } from 'zod'
import type { Context } from '../src/context'
import type { Environment } from '../src/integration-options'
import type { RedactOptions } from '../src/redact'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { athina, type AthinaOptions } from './athina'
import { consoleLog, type ConsoleLogOptions } from './console-log'
import { datadog, type DatadogOptions } from './datadog'
import { helicone, type HeliconeOptions } from './helicone'
import { jsonLog, type JsonLogOptions } from './json-log'
import { langfuse, type LangfuseOptions } from './langfuse'
import { logfire, type LogfireOptions } from './logfire'
import { loki, type LokiOptions } from './loki'
import { lunary, type LunaryOptions } from './lunary'
import { otel, type OtelOptions } from './otel'
import { posthog, type PosthogOptions } from './posthog'
import { prometheus, type PrometheusOptions } from './prometheus'
import { sentry, type SentryOptions } from './sentry'
import { slack, type SlackOptions } from './slack'
import { traceloop, type TraceloopOptions } from './traceloop'

type Factory = (options: Record<string, unknown>) => Middleware

interface CatalogEntry {
  factory: Factory
  /** Switches the integration on when every variable of one of these sets is present; empty: only on request. */
  signals: string[][]
  /** Whether the factory reads variables from an `env` option (and takes `redact`). */
  takesEnv: boolean
}

/**
 * In onion order, outermost first: tracing outside so its span is active while the others run, and
 * Sentry next so its breadcrumb is there before anything else can fail.
 */
const catalog = {
  otel: { factory: otel as Factory, signals: [['OTEL_EXPORTER_OTLP_ENDPOINT'], ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']], takesEnv: false },
  sentry: { factory: sentry as Factory, signals: [['SENTRY_DSN']], takesEnv: true },
  langfuse: { factory: langfuse as Factory, signals: [['LANGFUSE_PUBLIC_KEY', 'LANGFUSE_SECRET_KEY']], takesEnv: true },
  logfire: { factory: logfire as Factory, signals: [['LOGFIRE_TOKEN']], takesEnv: true },
  traceloop: { factory: traceloop as Factory, signals: [['TRACELOOP_API_KEY']], takesEnv: true },
  datadog: { factory: datadog as Factory, signals: [['DD_API_KEY']], takesEnv: true },
  helicone: { factory: helicone as Factory, signals: [['HELICONE_API_KEY']], takesEnv: true },
  posthog: { factory: posthog as Factory, signals: [['POSTHOG_API_KEY']], takesEnv: true },
  lunary: { factory: lunary as Factory, signals: [['LUNARY_PUBLIC_KEY']], takesEnv: true },
  athina: { factory: athina as Factory, signals: [['ATHINA_API_KEY']], takesEnv: true },
  loki: { factory: loki as Factory, signals: [['LOKI_URL']], takesEnv: true },
  slack: { factory: slack as Factory, signals: [['SLACK_WEBHOOK_URL']], takesEnv: true },
  jsonLog: { factory: jsonLog as Factory, signals: [['LLM_ONION_LOG_FILE']], takesEnv: true },
  prometheus: { factory: prometheus as Factory, signals: [], takesEnv: false },
  consoleLog: { factory: consoleLog as Factory, signals: [], takesEnv: false },
} satisfies Record<string, CatalogEntry>

/** The names `observability()` knows, in the order it composes them. */
export type IntegrationName = keyof typeof catalog

/** Per integration: `false` never, `true` always (credentials must then be present), an object always with these options. */
type Choice<Options> = boolean | Options

/** Options of {@link observability}; every one has a default. */
export interface ObservabilityOptions {
  /** Variables to read instead of `process.env` (default `process.env`). */
  env?: Environment
  /** Passed to every integration: `{ messages: true }` keeps prompt and reply content out of all of them (default: the client's setting). */
  redact?: RedactOptions
  /** Switch integrations on by the variables present (default true); `false` enables only those named `true` or with options. */
  detect?: boolean
  /** No `console.info` line saying what was enabled (default false). */
  quiet?: boolean
  otel?: Choice<OtelOptions>
  sentry?: Choice<SentryOptions>
  langfuse?: Choice<LangfuseOptions>
  logfire?: Choice<LogfireOptions>
  traceloop?: Choice<TraceloopOptions>
  datadog?: Choice<DatadogOptions>
  helicone?: Choice<HeliconeOptions>
  posthog?: Choice<PosthogOptions>
  lunary?: Choice<LunaryOptions>
  athina?: Choice<AthinaOptions>
  loki?: Choice<LokiOptions>
  slack?: Choice<SlackOptions>
  jsonLog?: Choice<JsonLogOptions>
  /** Not switched on by any variable: pass `true` or options (then read it from `layer.integrations.prometheus`). */
  prometheus?: Choice<PrometheusOptions>
  /** Not switched on by any variable: pass `true` or options. */
  consoleLog?: Choice<ConsoleLogOptions>
}

/** The layer {@link observability} returns: the enabled integrations as one middleware. */
export interface ObservabilityLayer extends Middleware {
  /** Names of the integrations enabled, in onion order. */
  readonly enabled: string[]
  /** Each enabled integration's own layer, by name (`integrations.prometheus.metrics()`). */
  readonly integrations: Readonly<Record<string, Middleware>>
}

const names = Object.keys(catalog) as IntegrationName[]
const choiceSchema = z.union([z.boolean(), z.record(z.string(), z.unknown())]).optional()
const observabilityOptionsSchema = z
  .object({
    env: z.record(z.string(), z.string().optional()).optional(),
    redact: z.object({ messages: z.boolean().optional() }).strict().optional(),
    detect: z.boolean().optional(),
    quiet: z.boolean().optional(),
    ...Object.fromEntries(names.map((name) => [name, choiceSchema])),
  })
  .strict()

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
  const settings = validate(observabilityOptionsSchema, options, 'observability() options') as ObservabilityOptions
  const env = settings.env ?? process.env
  const detect = settings.detect ?? true
  const integrations: Record<string, Middleware> = {}
  for (const name of names) {
    const entry: CatalogEntry = catalog[name]
    const choice = settings[name]
    if (choice === false) continue
    const requested = choice !== undefined
    if (!requested && !(detect && entry.signals.some((set) => set.every((variable) => present(env, variable))))) continue
    const own = typeof choice === 'object' ? (choice as Record<string, unknown>) : {}
    const shared: Record<string, unknown> = {}
    if (settings.redact && !('redact' in own)) shared.redact = settings.redact
    if (entry.takesEnv && settings.env && !('env' in own)) shared.env = settings.env
    integrations[name] = entry.factory({ ...shared, ...own })
  }
  const enabled = Object.keys(integrations)
  if (!settings.quiet) console.info(summary(enabled))

  const layers = Object.values(integrations)
  const dispatch = koaCompose(layers as Array<koaCompose.Middleware<Context>>)
  const layer = (
    layers.length === 0
      ? async function observability(_ctx: Context, next: () => Promise<void>) {
          await next()
        }
      : async function observability(ctx: Context, next: () => Promise<void>) {
          await dispatch(ctx, next)
        }
  ) as ObservabilityLayer
  Object.defineProperty(layer, 'enabled', { value: enabled, enumerable: true })
  Object.defineProperty(layer, 'integrations', { value: Object.freeze(integrations), enumerable: true })
  return layer
}

function present(env: Environment, variable: string): boolean {
  const value = env[variable]
  return value !== undefined && value.trim() !== ''
}

function summary(enabled: string[]): string {
  if (enabled.length > 0) return `[llm-onion] observability(): enabled ${enabled.join(', ')}.`
  const hints = names
    .filter((name) => catalog[name].signals.length > 0)
    .map((name) => catalog[name].signals[0]!.join(' + '))
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
