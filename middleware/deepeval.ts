/**
 * DeepEval on Confident AI: every finished call as one trace holding one LLM span, posted to
 * `POST {base}/v1/tracing` with the `CONFIDENT_API_KEY` header, one trace per request, in the shape
 * LiteLLM's `deepeval` callback sends (litellm/integrations/deepeval/).
 */
import { z } from 'zod'
import type { CallEvent } from '../src/event'
import { ValidationError } from '../src/errors'
import { defineExporter } from '../src/integrations/exporter'
import { httpSink } from '../src/delivery/http-sink'
import { integrationOptionsSchema, readBaseUrl, readSetting, requireSetting, type Environment } from '../src/integrations/options'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { lazySchema } from '../src/lazy-schema'
import { defineIntegration } from '../src/integrations/descriptor'
import { isoTime } from '../src/iso-time'
import { digestHex } from '../src/text-digest'

/** The environments Confident AI files a trace under (LiteLLM accepts these three). */
export const deepevalEnvironments = ['production', 'development', 'staging'] as const
export type DeepevalEnvironment = (typeof deepevalEnvironments)[number]

const deepevalOptionsSchema = lazySchema(() =>
  integrationOptionsSchema
    .extend({
      apiKey: z.string().min(1).optional(),
      environment: z.enum(deepevalEnvironments).optional(),
      timeoutMs: z.number().int().positive().optional(),
    })
    .strict(),
)

/**
 * Options of {@link deepeval}, besides the common ones (`moments`, `redact`, `baseUrl`, `env`).
 * - `apiKey`: the Confident AI project key, default `CONFIDENT_API_KEY` (LiteLLM's name; required).
 * - `baseUrl`: default `CONFIDENT_BASE_URL` (DeepEval's own SDK reads it; LiteLLM reads none), else
 *   `https://api.confident-ai.com`.
 * - `environment`: `production`, `development` or `staging`, default `LITELM_ENVIRONMENT` (LiteLLM's
 *   spelling, one L short), else `development`.
 * - `moments`: default `['success', 'failure']`.
 * - `timeoutMs`: per-request time limit, default 10,000.
 */
export type DeepevalOptions = z.input<typeof deepevalOptionsSchema>

/** An LLM span of a Confident AI trace, with the fields LiteLLM fills. */
export interface DeepevalSpan {
  uuid: string
  name: 'litellm_success_callback' | 'litellm_failure_callback'
  status: 'SUCCESS' | 'ERRORED'
  type: 'llm'
  traceUuid: string
  startTime: string
  endTime: string
  input: unknown
  output?: unknown
  model?: string
  inputTokenCount?: number
  outputTokenCount?: number
}

/** A Confident AI trace, as `POST /v1/tracing` takes it: one call, one LLM span. */
export interface DeepevalTrace {
  uuid: string
  baseSpans: DeepevalSpan[]
  agentSpans: DeepevalSpan[]
  llmSpans: DeepevalSpan[]
  retrieverSpans: DeepevalSpan[]
  toolSpans: DeepevalSpan[]
  startTime: string
  endTime: string
  environment: DeepevalEnvironment
}

/**
 * deepeval() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * deepevalIntegration.factory({ moments: ['failure'] }) // what callbacks({ failure: ['deepeval'] }) builds
 * ```
 */
export const deepevalIntegration = defineIntegration({
  name: 'deepeval',
  aliases: [],
  switchedOnBy: [['CONFIDENT_API_KEY']],
  position: 'exporters',
  takesEnv: true,
  factory: deepeval,
})

/**
 * Sends every call to Confident AI (DeepEval's platform) as a trace with one LLM span: the prompt,
 * the reply's text (or its tool calls) or the error, the model, the token counts and the times, under
 * the environment you name. One trace per request, as LiteLLM sends them.
 *
 * @example
 * ```ts
 * // CONFIDENT_API_KEY=... in the environment; LITELM_ENVIRONMENT=production to file traces there
 * client.use(deepeval())
 * // the EU region, or a self-hosted Confident AI
 * client.use(deepeval({ baseUrl: 'https://eu.api.confident-ai.com', environment: 'staging' }))
 * ```
 */
export function deepeval(options: DeepevalOptions = {}): Middleware {
  const settings = validate(deepevalOptionsSchema, options, 'deepeval() options')
  const env = settings.env ?? process.env
  const apiKey = requireSetting({ integration: 'deepeval', option: 'apiKey', variable: 'CONFIDENT_API_KEY' }, settings.apiKey, env)
  const base = readBaseUrl('deepeval', settings.baseUrl, 'CONFIDENT_BASE_URL', 'https://api.confident-ai.com', env)
  const environment = settings.environment ?? environmentFrom(env)
  return defineExporter<DeepevalTrace>({
    name: 'deepeval',
    moments: settings.moments,
    redact: settings.redact,
    sink: httpSink({
      name: 'deepeval',
      url: `${base}/v1/tracing`,
      // Confident AI reads the key from a header of this very name (no Bearer scheme).
      headers: { CONFIDENT_API_KEY: apiKey },
      // The tracing endpoint takes one trace per request.
      maxBatchSize: 1,
      encode: (traces) => traces[0],
      timeoutMs: settings.timeoutMs,
    }),
    toItems: (event) => toDeepevalTrace(event, environment),
  })
}

/** `LITELM_ENVIRONMENT`, checked as LiteLLM checks it, else `development`. */
function environmentFrom(env: Environment): DeepevalEnvironment {
  const value = readSetting(undefined, 'LITELM_ENVIRONMENT', env)
  if (value === undefined) return 'development'
  if ((deepevalEnvironments as readonly string[]).includes(value)) return value as DeepevalEnvironment
  throw new ValidationError(
    `deepeval(): LITELM_ENVIRONMENT is ${JSON.stringify(value)}; set it to one of ${deepevalEnvironments.join(', ')}, or pass { environment: 'production' } to deepeval().`,
    [{ path: 'environment', message: `not one of ${deepevalEnvironments.join(', ')}` }],
  )
}

/**
 * Maps the standard event to a Confident AI trace with one LLM span, field for field as LiteLLM's
 * `DeepEvalLogger` fills them: the span is the call (its id), the trace is the call's trace.
 */
export function toDeepevalTrace(event: CallEvent, environment: DeepevalEnvironment): DeepevalTrace {
  const startTime = isoTime(event.startTime)
  const endTime = isoTime(event.endTime)
  const traceUuid = traceUuidOf(event)
  const failed = event.error !== undefined
  const span: DeepevalSpan = {
    uuid: event.id,
    name: failed ? 'litellm_failure_callback' : 'litellm_success_callback',
    status: failed ? 'ERRORED' : 'SUCCESS',
    type: 'llm',
    traceUuid,
    startTime,
    endTime,
    input: (event.type === 'chat' ? event.messages : event.input) ?? 'NO_INPUT',
    model: providerModel(event),
  }
  if (event.error) {
    span.output = `${event.error.type}: ${event.error.message}`
  } else {
    const output = successOutput(event.response)
    if (output !== undefined) span.output = output
    if (event.usage) {
      span.inputTokenCount = event.usage.inputTokens
      span.outputTokenCount = event.usage.outputTokens
    }
  }
  return { uuid: traceUuid, baseSpans: [], agentSpans: [], llmSpans: [span], retrieverSpans: [], toolSpans: [], startTime, endTime, environment }
}

/** The model as the provider got it, as LiteLLM logs it: `openai/gpt-4o-mini` → `gpt-4o-mini`, on a success or a failure alike. */
function providerModel(event: CallEvent): string {
  const prefix = event.provider === undefined ? '' : `${event.provider}/`
  return prefix !== '' && event.model.startsWith(prefix) ? event.model.slice(prefix.length) : event.model
}

/**
 * What LiteLLM reports as a reply: the first choice's text; its tool calls when it has no text; an
 * empty text as it is; `NO_OUTPUT` for a reply without choices (an embedding); nothing otherwise.
 */
function successOutput(response: CallEvent['response']): unknown {
  const choices = response?.choices
  if (!Array.isArray(choices) || choices.length === 0) return 'NO_OUTPUT'
  const message = (choices[0] as { message?: { content?: unknown; tool_calls?: unknown } } | undefined)?.message ?? {}
  const { content, tool_calls: toolCalls } = message
  if ((typeof content === 'string' && content !== '') || (Array.isArray(content) && content.length > 0)) return content
  if (Array.isArray(toolCalls) && toolCalls.length > 0) return toolCalls
  return typeof content === 'string' ? content : undefined
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * The trace's uuid. LiteLLM's trace and span never share one (its trace id and call id are two
 * uuids), so a lone call, whose trace id is its own id, gets a uuid derived from that id; a
 * `metadata.trace_id` that is a uuid is used as it is, and any other is hashed to one, so the calls
 * that share it share a trace. Derived uuids are the same on every send.
 */
function traceUuidOf(event: CallEvent): string {
  if (event.traceId !== event.id && uuidPattern.test(event.traceId)) return event.traceId
  return uuidFrom(event.traceId === event.id ? `trace of ${event.id}` : event.traceId)
}

/** A version 8 uuid (RFC 9562's custom layout) from the first 128 bits of the text's SHA-256. */
function uuidFrom(text: string): string {
  const hex = digestHex('sha256', text)
  const variant = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}
