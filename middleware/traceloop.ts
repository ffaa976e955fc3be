/**
 * Traceloop over OpenTelemetry: every call becomes a GenAI span posted as OTLP protobuf to
 * `{TRACELOOP_BASE_URL}/v1/traces` with `Authorization: Bearer <key>`, as Traceloop's own SDK sends.
 */
import { z } from 'zod'
import type { CallEvent } from '../src/event'
import { readBaseUrl, readSetting, requireSetting } from '../src/integrations/options'
import { genAiProviderName, type SpanAttributes } from '../src/integrations/otel/attributes'
import { textOfContent } from '../src/integrations/otel/messages'
import { defineOtlpExporter, otlpPresetOptionsSchema, serviceNameOf } from '../src/integrations/otel/otlp-exporter'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { defineIntegration } from '../src/integrations/descriptor'

const traceloopOptionsSchema = otlpPresetOptionsSchema
  .extend({
    apiKey: z.string().min(1).optional(),
  })
  .strict()

/**
 * Options of {@link traceloop}, besides the common ones (`moments`, `redact`, `baseUrl`, `env`).
 * - `apiKey`: default `TRACELOOP_API_KEY` (required).
 * - `baseUrl`: default `TRACELOOP_BASE_URL`, else `https://api.traceloop.com`.
 * - `captureContent`: default `true` unless `TRACELOOP_TRACE_CONTENT=false` (Traceloop's own switch);
 *   redaction still applies.
 * - `serviceName`: default `OTEL_SERVICE_NAME`, else `llm-onion`.
 * - `moments`: default `['success', 'failure']`.
 * - `timeoutMs`: per-request time limit, default 10,000.
 */
export type TraceloopOptions = z.input<typeof traceloopOptionsSchema>

/**
 * traceloop() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * traceloopIntegration.factory({ moments: ['failure'] }) // what callbacks({ failure: ['traceloop'] }) builds
 * ```
 */
export const traceloopIntegration = defineIntegration({
  name: 'traceloop',
  aliases: [],
  switchedOnBy: [['TRACELOOP_API_KEY']],
  position: 'exporters',
  takesEnv: true,
  factory: traceloop,
})

/**
 * Sends every call to Traceloop as an OpenTelemetry span with the GenAI conventions plus the
 * OpenLLMetry attributes Traceloop's dashboards read (`llm.request.type`, `gen_ai.prompt.N.*`,
 * `gen_ai.completion.N.*`, `traceloop.association.properties.*` from the call's metadata and user).
 *
 * @example
 * ```ts
 * // TRACELOOP_API_KEY=tl-... in the environment
 * client.use(traceloop())
 * ```
 */
export function traceloop(options: TraceloopOptions = {}): Middleware {
  const settings = validate(traceloopOptionsSchema, options, 'traceloop() options')
  const env = settings.env ?? process.env
  const apiKey = requireSetting({ integration: 'traceloop', option: 'apiKey', variable: 'TRACELOOP_API_KEY' }, settings.apiKey, env)
  const base = readBaseUrl('traceloop', settings.baseUrl, 'TRACELOOP_BASE_URL', 'https://api.traceloop.com', env)
  const captureContent = settings.captureContent ?? readSetting(undefined, 'TRACELOOP_TRACE_CONTENT', env)?.toLowerCase() !== 'false'
  return defineOtlpExporter({
    name: 'traceloop',
    moments: settings.moments,
    redact: settings.redact,
    captureContent,
    destination: {
      url: `${base}/v1/traces`,
      headers: { authorization: `Bearer ${apiKey}` },
      gzip: true,
      timeoutMs: settings.timeoutMs,
      resource: { 'service.name': serviceNameOf(settings.serviceName, env) },
    },
    extraAttributes: (event) => openLlmetryAttributes(event, captureContent),
  })
}

/**
 * The OpenLLMetry (Traceloop SDK) attribute names, for dashboards that predate the current conventions.
 *
 * @example
 * ```ts
 * openLlmetryAttributes(ctx.toEvent(), true)['gen_ai.prompt.0.content'] // the first prompt message's text
 * ```
 */
export function openLlmetryAttributes(event: CallEvent, captureContent: boolean): SpanAttributes {
  const attributes: SpanAttributes = { 'llm.request.type': event.type === 'embedding' ? 'embedding' : 'chat' }
  if (event.provider) attributes['gen_ai.system'] = genAiProviderName(event.provider)
  if (event.usage) {
    attributes['gen_ai.usage.prompt_tokens'] = event.usage.inputTokens
    attributes['gen_ai.usage.completion_tokens'] = event.usage.outputTokens
    attributes['llm.usage.total_tokens'] = event.usage.totalTokens
  }
  if (event.user !== undefined) attributes['traceloop.association.properties.user_id'] = event.user
  for (const [key, value] of Object.entries(event.metadata)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      attributes[`traceloop.association.properties.${key}`] = String(value)
    }
  }
  if (captureContent && event.type === 'chat') {
    ;(event.messages ?? []).forEach((message, index) => {
      attributes[`gen_ai.prompt.${index}.role`] = String(message.role)
      attributes[`gen_ai.prompt.${index}.content`] = textOfContent(message.content)
    })
    const choices = (event.response?.choices ?? []) as Array<{ message?: { role?: string; content?: unknown }; finish_reason?: string | null }>
    choices.forEach((choice, index) => {
      attributes[`gen_ai.completion.${index}.role`] = choice.message?.role ?? 'assistant'
      attributes[`gen_ai.completion.${index}.content`] = textOfContent(choice.message?.content)
      if (choice.finish_reason) attributes[`gen_ai.completion.${index}.finish_reason`] = choice.finish_reason
    })
  }
  return attributes
}
