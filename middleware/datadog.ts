/**
 * Datadog: every call as a log (`POST /api/v2/logs`, gzip JSON) and as an LLM Observability span,
 * through the JSON spans intake by default or over OTLP (`mode: 'otlp'`).
 */
import { hostname } from 'node:os'
import { z } from 'zod'
import { ValidationError } from '../src/errors'
import type { CallEvent } from '../src/event'
import { defineExporter } from '../src/integrations/exporter'
import { chainLayers } from '../src/integrations/chain'
import { httpSink } from '../src/delivery/http-sink'
import { readBaseUrl, readSetting, requireSetting } from '../src/integrations/options'
import { genAiProviderName, genAiSpanName, providerModelOf } from '../src/integrations/otel/attributes'
import { toOtelTraceId } from '../src/integrations/otel/ids'
import { textOfContent } from '../src/integrations/otel/messages'
import { defineOtlpExporter, otlpPresetOptionsSchema } from '../src/integrations/otel/otlp-exporter'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { defineIntegration } from '../src/integrations/descriptor'
import { lazySchema } from '../src/lazy-schema'
import { eventJson } from '../src/event-json'

const datadogOptionsSchema = lazySchema(() =>
  otlpPresetOptionsSchema
    .omit({ serviceName: true })
    .extend({
      apiKey: z.string().min(1).optional(),
      site: z.string().min(1).optional(),
      service: z.string().min(1).optional(),
      environment: z.string().min(1).optional(),
      version: z.string().min(1).optional(),
      source: z.string().min(1).optional(),
      hostname: z.string().min(1).optional(),
      mlApp: z.string().min(1).optional(),
      logs: z.boolean().optional(),
      llmObservability: z.boolean().optional(),
      mode: z.enum(['json', 'otlp']).optional(),
      otlpUrl: z.url().optional(),
    })
    .strict(),
)

/**
 * Options of {@link datadog}, besides the common ones (`moments`, `redact`, `env`).
 * - `apiKey`: default `DD_API_KEY` (required).
 * - `site`: default `DD_SITE`, else `datadoghq.com`.
 * - `baseUrl`: default `DD_BASE_URL`; replaces the host of every Datadog endpoint (self-hosted proxy, tests).
 * - `service`, `environment`, `version`, `source`: default `DD_SERVICE` (else `llm-onion`), `DD_ENV`,
 *   `DD_VERSION`, `DD_SOURCE` (else `llm-onion`); they become `service`, `ddsource` and `ddtags`.
 * - `hostname`: default the machine's host name.
 * - `logs`: default `true`, one log per call with the event as its message.
 * - `llmObservability`: default `true`, one LLM Observability span per call.
 * - `mlApp`: the LLM Observability application, default `DD_LLMOBS_ML_APP`, else the service.
 * - `mode`: `'json'` (default; the documented spans intake) or `'otlp'` (OTLP with `dd-otlp-source: llmobs`).
 * - `otlpUrl`: default `{baseUrl}/v1/traces`, else `https://otlp.{site}/v1/traces` (Datadog's OTLP
 *   endpoint for LLM Observability is not settled; set it from Datadog's docs for your site).
 * - `captureContent`: default `true`, messages in the LLM Observability span (redaction still applies).
 * - `moments`: default `['success', 'failure']`.
 * - `timeoutMs`: per-request time limit, default 10,000.
 */
export type DatadogOptions = z.input<typeof datadogOptionsSchema>

/** One log entry, as Datadog's `HTTPLogItem`. */
export interface DatadogLogItem {
  ddsource: string
  ddtags: string
  hostname: string
  service: string
  status: 'info' | 'error'
  /** The standard event as JSON. */
  message: string
}

/** Datadog takes at most 1 MB per log entry. */
const maxLogBytes = 1_000_000

/**
 * datadog() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * datadogIntegration.factory({ moments: ['failure'] }) // what callbacks({ failure: ['datadog'] }) builds
 * ```
 */
export const datadogIntegration = defineIntegration({
  name: 'datadog',
  // LiteLLM's name for its LLM Observability logger.
  aliases: ['datadog_llm_observability'],
  // In callback lists the names mean what LiteLLM's do: `datadog` is Datadog Logs only,
  // `datadog_llm_observability` LLM Observability only; datadog() itself sends both.
  callbackOptions: { datadog: { llmObservability: false }, datadog_llm_observability: { logs: false } },
  switchedOnBy: [['DD_API_KEY']],
  position: 'exporters',
  takesEnv: true,
  factory: datadog,
})

/**
 * Sends every call to Datadog: a log entry (status `info` or `error`) carrying the event, and an LLM
 * Observability span (kind `llm`, or `embedding`) with messages, token counts, cost and time to first
 * token.
 *
 * @example
 * ```ts
 * // DD_API_KEY=... and DD_SITE=datadoghq.eu in the environment
 * client.use(datadog({ service: 'checkout' }))
 * ```
 */
export function datadog(options: DatadogOptions = {}): Middleware {
  const settings = validate(datadogOptionsSchema, options, 'datadog() options')
  const env = settings.env ?? process.env
  const apiKey = requireSetting({ integration: 'datadog', option: 'apiKey', variable: 'DD_API_KEY' }, settings.apiKey, env)
  const site = readSetting(settings.site, 'DD_SITE', env) ?? 'datadoghq.com'
  const base = readSetting(settings.baseUrl, 'DD_BASE_URL', env) === undefined ? undefined : readBaseUrl('datadog', settings.baseUrl, 'DD_BASE_URL', 'https://dd-proxy.example.com', env)
  const service = readSetting(settings.service, 'DD_SERVICE', env) ?? 'llm-onion'
  const environment = readSetting(settings.environment, 'DD_ENV', env)
  const version = readSetting(settings.version, 'DD_VERSION', env)
  const source = readSetting(settings.source, 'DD_SOURCE', env) ?? 'llm-onion'
  const mlApp = settings.mlApp ?? readSetting(undefined, 'DD_LLMOBS_ML_APP', env) ?? service
  const host = settings.hostname ?? hostname()
  const captureContent = settings.captureContent ?? true
  const tags = [`service:${service}`, ...(environment ? [`env:${environment}`] : []), ...(version ? [`version:${version}`] : []), `source:${source}`]
  const layers: Middleware[] = []

  if (settings.logs ?? true) {
    const ddtags = tags.join(',')
    layers.push(
      defineExporter<DatadogLogItem>({
        name: 'datadog',
        moments: settings.moments,
        redact: settings.redact,
        sink: httpSink({
          name: 'datadog-logs',
          url: `${base ?? `https://http-intake.logs.${site}`}/api/v2/logs`,
          headers: { 'dd-api-key': apiKey },
          gzip: true,
          // The intake takes 1,000 entries and 5 MB per request; 100 keeps typical batches well under both.
          maxBatchSize: 100,
          timeoutMs: settings.timeoutMs,
          encode: (items) => items,
        }),
        toItems: (event) => ({ ddsource: source, ddtags, hostname: host, service, status: event.status === 'success' ? 'info' : 'error', message: logMessage(event) }),
      }),
    )
  }
  if ((settings.llmObservability ?? true) && settings.mode === 'otlp') {
    layers.push(
      defineOtlpExporter({
        name: 'datadog-llmobs',
        moments: settings.moments,
        redact: settings.redact,
        captureContent,
        destination: {
          url: settings.otlpUrl ?? `${base ?? `https://otlp.${site}`}/v1/traces`,
          headers: { 'dd-api-key': apiKey, 'dd-otlp-source': 'llmobs' },
          gzip: true,
          timeoutMs: settings.timeoutMs,
          resource: { 'service.name': mlApp, ...(environment ? { 'deployment.environment.name': environment } : {}), ...(version ? { 'service.version': version } : {}) },
        },
      }),
    )
  } else if (settings.llmObservability ?? true) {
    layers.push(
      defineExporter<LlmObsSpan>({
        name: 'datadog',
        moments: settings.moments,
        redact: settings.redact,
        sink: httpSink({
          name: 'datadog-llmobs',
          url: `${base ?? `https://api.${site}`}/api/intake/llm-obs/v1/trace/spans`,
          headers: { 'dd-api-key': apiKey },
          maxBatchSize: 50,
          timeoutMs: settings.timeoutMs,
          encode: (spans) => ({ data: { type: 'span', attributes: { ml_app: mlApp, tags, spans } } }),
        }),
        toItems: (event) => toLlmObsSpan(event, captureContent),
      }),
    )
  }
  const [outer] = layers
  if (!outer) {
    throw new ValidationError('datadog(): logs and llmObservability are both false, so nothing would be sent; leave one of them on.', [
      { path: 'logs', message: 'both outputs are off' },
    ])
  }
  // Both outputs run as one observing layer (its name is still `datadog`), which joins observability()'s group.
  return layers.length > 1 ? chainLayers(layers) : outer
}

/** The event as the log's message, without its largest fields when it would pass Datadog's 1 MB limit. */
function logMessage(event: CallEvent): string {
  const message = eventJson(event)
  // A UTF-16 unit is at most 3 bytes of UTF-8: most messages are known to fit without counting them.
  if (message.length * 3 <= maxLogBytes || Buffer.byteLength(message) <= maxLogBytes) return message
  return JSON.stringify({ ...event, messages: undefined, input: undefined, response: undefined, truncated: 'messages and response left out: over 1 MB' })
}

/** One span of the LLM Observability spans intake. */
export interface LlmObsSpan {
  trace_id: string
  span_id: string
  parent_id: 'undefined'
  name: string
  start_ns: number
  duration: number
  status: 'ok' | 'error'
  session_id?: string
  meta: {
    kind: 'llm' | 'embedding'
    input: Record<string, unknown>
    output: Record<string, unknown>
    metadata: Record<string, unknown>
    error?: { message: string; type: string; stack?: string }
  }
  metrics: Record<string, number>
  tags: string[]
}

/**
 * Maps the standard event to an LLM Observability span (kind `llm`, or `embedding`).
 *
 * @example
 * ```ts
 * const span = toLlmObsSpan(ctx.toEvent(), true)
 * span.metrics.total_tokens // input + output tokens
 * ```
 */
export function toLlmObsSpan(event: CallEvent, captureContent: boolean): LlmObsSpan {
  const model = providerModelOf(event.model, event.provider)
  const metrics: Record<string, number> = {}
  if (event.usage) {
    metrics.input_tokens = event.usage.inputTokens
    metrics.output_tokens = event.usage.outputTokens
    metrics.total_tokens = event.usage.totalTokens
  }
  if (event.cost) metrics.total_cost = event.cost.total
  if (event.ttftMs !== undefined) metrics.time_to_first_token = event.ttftMs / 1000
  const sessionId = event.metadata.session_id
  const span: LlmObsSpan = {
    trace_id: toOtelTraceId(event.traceId),
    // The call id, so a span and the call's log entry join on it.
    span_id: event.id,
    parent_id: 'undefined',
    name: genAiSpanName(event.type, model),
    start_ns: event.startTime * 1_000_000,
    duration: event.latencyMs * 1_000_000,
    status: event.status === 'success' ? 'ok' : 'error',
    ...(typeof sessionId === 'string' ? { session_id: sessionId } : {}),
    meta: {
      kind: event.type === 'embedding' ? 'embedding' : 'llm',
      input: captureContent ? inputOf(event) : {},
      output: captureContent ? outputOf(event) : {},
      metadata: { ...event.parameters, model_name: model, model_provider: event.provider, call_id: event.id, ...event.metadata },
      ...(event.error ? { error: { message: event.error.message, type: event.error.type, ...(event.error.stack ? { stack: event.error.stack } : {}) } } : {}),
    },
    metrics,
    tags: [`model_name:${model}`, ...(event.provider ? [`model_provider:${genAiProviderName(event.provider)}`] : []), ...(event.user ? [`user_id:${event.user}`] : []), ...event.tags],
  }
  return span
}

function inputOf(event: CallEvent): Record<string, unknown> {
  if (event.type === 'embedding') {
    const inputs = Array.isArray(event.input) ? event.input : [event.input]
    return { documents: inputs.map((input) => ({ text: typeof input === 'string' ? input : JSON.stringify(input) })) }
  }
  return { messages: (event.messages ?? []).map((message) => ({ role: String(message.role), content: textOfContent(message.content) })) }
}

function outputOf(event: CallEvent): Record<string, unknown> {
  if (event.type === 'embedding' || !event.response) return {}
  const choices = (event.response.choices ?? []) as Array<{ message?: { role?: string; content?: unknown } }>
  return { messages: choices.map((choice) => ({ role: choice.message?.role ?? 'assistant', content: textOfContent(choice.message?.content) })) }
}
