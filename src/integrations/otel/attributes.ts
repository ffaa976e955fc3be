/**
 * The OpenTelemetry GenAI span of a call, from the standard event: its name and attributes under the
 * semantic conventions (development status; the names current since 1.37, `gen_ai.provider.name`
 * rather than `gen_ai.system`). Shared by `otel()` and every OTLP preset.
 */
import type { CallEvent } from '../../event'
import { descriptorForPrefix } from '../../providers/descriptors'
import { inputMessagesOf, outputMessagesOf } from './messages'

/** Attribute values OpenTelemetry accepts. */
export type SpanAttributeValue = string | number | boolean | string[] | number[]
export type SpanAttributes = Record<string, SpanAttributeValue>

/** Names the conventions know for providers the library has no descriptor of (yet). */
const undescribedNames: Record<string, string> = {
  vertex: 'gcp.vertex_ai',
  anthropic: 'anthropic',
}

/** `gen_ai.provider.name` for one of our provider names, from its descriptor (unknown names pass through). */
export function genAiProviderName(provider: string): string {
  return descriptorForPrefix(provider)?.otelName ?? undescribedNames[provider] ?? provider
}

/** `gen_ai.operation.name`: `chat` or `embeddings`. */
export function operationOf(type: CallEvent['type']): 'chat' | 'embeddings' {
  return type === 'embedding' ? 'embeddings' : 'chat'
}

/** The model name the provider was asked for: `openai/gpt-4o-mini` → `gpt-4o-mini`. */
export function providerModelOf(model: string, provider: string | undefined): string {
  const prefix = provider === undefined ? '' : `${provider}/`
  return prefix !== '' && model.startsWith(prefix) ? model.slice(prefix.length) : model
}

/** `"{gen_ai.operation.name} {gen_ai.request.model}"`, as the conventions name the span. */
export function genAiSpanName(type: CallEvent['type'], requestModel: string): string {
  return `${operationOf(type)} ${requestModel}`
}

export interface GenAiAttributeOptions {
  /** `gen_ai.request.model`: the model the provider was asked for (`ctx.model`); default the event's model without its `provider/` prefix. */
  requestModel?: string
  /** Adds the prompt and the reply (`gen_ai.input.messages`, `gen_ai.output.messages`, `gen_ai.system_instructions`) as JSON strings. */
  captureContent: boolean
}

/** Receives one attribute of a span: a value OpenTelemetry keeps (never undefined, null or a non-finite number). */
export type PutAttribute = (key: string, value: SpanAttributeValue) => void

/**
 * Every attribute of the call's span, as an object. Content attributes only with `captureContent`,
 * and then from the event as given (already redacted when redaction is on).
 *
 * @example
 * ```ts
 * const attributes = genAiAttributes(ctx.toEvent(), { captureContent: false, requestModel: ctx.model })
 * attributes['gen_ai.usage.input_tokens'] // 25
 * ```
 */
export function genAiAttributes(event: CallEvent, options: GenAiAttributeOptions): SpanAttributes {
  const attributes: SpanAttributes = {}
  forEachGenAiAttribute(event, options, (key, value) => {
    attributes[key] = value
  })
  return attributes
}

/**
 * Hands every attribute of the call's span to `put`, in the order {@link genAiAttributes} holds them:
 * what the OTLP encoder writes straight to protobuf, with no object in between.
 *
 * @example
 * ```ts
 * forEachGenAiAttribute(event, { captureContent: false }, (key, value) => console.log(key, value))
 * ```
 */
export function forEachGenAiAttribute(event: CallEvent, options: GenAiAttributeOptions, put: PutAttribute): void {
  const set = (key: string, value: SpanAttributeValue | undefined | null) => {
    if (value !== undefined && value !== null && !(typeof value === 'number' && !Number.isFinite(value))) put(key, value)
  }
  set('gen_ai.operation.name', operationOf(event.type))
  set('gen_ai.request.model', options.requestModel ?? providerModelOf(event.model, event.provider))
  set('llm_onion.call.id', event.id)
  set('llm_onion.status', event.status)
  if (event.provider) set('gen_ai.provider.name', genAiProviderName(event.provider))
  if (event.type === 'chat') set('gen_ai.request.stream', event.streaming)
  addRequestParameters(event.parameters, set)
  addServer(event.apiBase, set)

  const response = event.response as { id?: string; choices?: Array<{ finish_reason?: string | null }> } | undefined
  set('gen_ai.response.model', event.responseModel)
  if (event.type === 'chat' && response) {
    set('gen_ai.response.id', response.id)
    const reasons = (response.choices ?? []).map((choice) => choice.finish_reason).filter((reason): reason is string => !!reason)
    if (reasons.length > 0) set('gen_ai.response.finish_reasons', reasons)
  }
  if (event.usage) {
    set('gen_ai.usage.input_tokens', event.usage.inputTokens)
    set('gen_ai.usage.output_tokens', event.usage.outputTokens)
    set('gen_ai.usage.cache_read.input_tokens', event.usage.cachedInputTokens)
    set('gen_ai.usage.cache_creation.input_tokens', event.usage.cacheCreationInputTokens)
    set('gen_ai.usage.reasoning.output_tokens', event.usage.reasoningTokens)
  }
  // No convention names cost; Langfuse reads this one, and other backends show it as it is.
  set('gen_ai.usage.cost', event.cost?.total)
  if (event.streaming && event.ttftMs !== undefined) set('gen_ai.response.time_to_first_chunk', event.ttftMs / 1000)
  if (event.error) set('error.type', event.error.type)

  set('user.id', event.user)
  const sessionId = event.metadata.session_id
  if (typeof sessionId === 'string' || typeof sessionId === 'number') set('session.id', String(sessionId))
  if (event.traceId !== event.id) set('llm_onion.trace.id', event.traceId)
  if (event.tags.length > 0) set('llm_onion.tags', event.tags)
  if (event.attempts.length > 1) set('llm_onion.attempts', event.attempts.length)
  if (event.cacheHit) set('llm_onion.cache_hit', true)

  if (options.captureContent && event.type === 'chat') {
    const { input, system } = inputMessagesOf(event)
    set('gen_ai.input.messages', JSON.stringify(input))
    if (system.length > 0) set('gen_ai.system_instructions', JSON.stringify(system))
    if (event.response) set('gen_ai.output.messages', JSON.stringify(outputMessagesOf(event)))
  }
}

/** The attributes of one attempt's child span (retries and fallbacks). */
export function attemptAttributes(attempt: CallEvent['attempts'][number], type: CallEvent['type']): SpanAttributes {
  const attributes: SpanAttributes = {
    'gen_ai.operation.name': operationOf(type),
    'gen_ai.request.model': providerModelOf(attempt.model, attempt.provider),
    'llm_onion.attempt': attempt.attempt,
    'llm_onion.status': attempt.status,
  }
  if (attempt.provider) attributes['gen_ai.provider.name'] = genAiProviderName(attempt.provider)
  if (attempt.error) attributes['error.type'] = attempt.error.type
  return attributes
}

/** Request parameters with a numeric attribute, as [parameter, attribute] pairs. */
const numericParameters: ReadonlyArray<readonly [string, string]> = [
  ['temperature', 'gen_ai.request.temperature'],
  ['top_p', 'gen_ai.request.top_p'],
  ['max_tokens', 'gen_ai.request.max_tokens'],
  ['max_completion_tokens', 'gen_ai.request.max_tokens'],
  ['frequency_penalty', 'gen_ai.request.frequency_penalty'],
  ['presence_penalty', 'gen_ai.request.presence_penalty'],
  ['seed', 'gen_ai.request.seed'],
  ['dimensions', 'gen_ai.embeddings.dimension.count'],
]

function addRequestParameters(parameters: Record<string, unknown>, set: (key: string, value: SpanAttributeValue | undefined) => void): void {
  for (const [name, attribute] of numericParameters) {
    const value = parameters[name]
    if (typeof value === 'number') set(attribute, value)
  }
  const stop = parameters.stop
  if (typeof stop === 'string') set('gen_ai.request.stop_sequences', [stop])
  else if (Array.isArray(stop)) set('gen_ai.request.stop_sequences', stop.map(String))
  if (typeof parameters.n === 'number' && parameters.n !== 1) set('gen_ai.request.choice.count', parameters.n)
}

const defaultPorts: Record<string, number> = { 'http:': 80, 'https:': 443 }

/** The server of the last `apiBase` seen: a process calls few, so one parse each rather than one per span. */
let lastServer: { apiBase: string; address: string; port: number | undefined } | undefined

function addServer(apiBase: string | undefined, set: (key: string, value: SpanAttributeValue | undefined) => void): void {
  if (!apiBase) return
  if (lastServer?.apiBase !== apiBase) {
    if (!URL.canParse(apiBase)) return
    const url = new URL(apiBase)
    if (url.hostname === '') return
    lastServer = { apiBase, address: url.hostname, port: url.port === '' ? defaultPorts[url.protocol] : Number(url.port) }
  }
  set('server.address', lastServer.address)
  set('server.port', lastServer.port)
}
