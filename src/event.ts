/**
 * The standard event: one typed, JSON-serialisable record of a finished call. Every integration maps
 * this record to its own wire format; none of them re-derives usage, cost or timing.
 *
 * An event is a read-only snapshot, built once per outcome and shared by every layer and every
 * exporter's background mapping: nothing may change it. To stay cheap on the call path it copies only
 * what outer layers may still change after it is built (the messages and tags lists, parameters,
 * metadata, attempts, usage, cost) and references the rest: `response` is the very object the
 * caller receives, so a caller that edits its reply in place right after the call may see the edit
 * in exports still being mapped.
 *
 * No credential leaves through it: keys that name one are dropped (`api_key`, `authorization`,
 * `token`, ...), `apiBase` and `http.url` lose their query string or credential parameters, and every
 * string is scrubbed of every credential the client knows by value (src/secret-scrubber.ts), the
 * reply copied only when it had one.
 */
import { z } from 'zod'
import { lazySchema, memoise } from './lazy-schema'
import type { AttemptRecord, Cost, HttpInfo, Timing, Usage } from './call-facts'
import { isAbortError, isLlmError } from './errors'
import { cutToLength } from './content-cut'
import { cleanCopy, REDACTED, type RedactOptions, stripSecretHeaders, stripSecretQuery } from './redact'
import { scrubDeep } from './secret-scrubber'
import type { ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse } from './schema'

/** Builds the schemas of this module, once (see {@link eventSchemas}). */
function buildEventSchemas() {

  const usageSchema = z.object({
    inputTokens: z.number(),
    outputTokens: z.number(),
    totalTokens: z.number(),
    cachedInputTokens: z.number().optional(),
    cacheCreationInputTokens: z.number().optional(),
    reasoningTokens: z.number().optional(),
    estimated: z.boolean().optional(),
  })

  const attemptSchema = z.object({
    attempt: z.number().int().positive(),
    model: z.string(),
    provider: z.string().optional(),
    start: z.number(),
    end: z.number().optional(),
    status: z.enum(['success', 'failure', 'cancelled', 'pending']),
    error: z.object({ type: z.string(), message: z.string(), status: z.number().optional() }).optional(),
  })

  /** The zod schema of {@link CallEvent}; use it to validate events you receive (queues, webhooks). */
  const callEventSchema = z.object({
    id: z.string(),
    traceId: z.string(),
    type: z.enum(['chat', 'embedding']),
    status: z.enum(['success', 'failure', 'cancelled']),
    streaming: z.boolean(),
    /** The model as requested (`openai/gpt-4o-mini`). */
    model: z.string(),
    /** The model the provider says answered. */
    responseModel: z.string().optional(),
    provider: z.string().optional(),
    apiBase: z.string().optional(),
    /** Chat prompt messages (content `"[redacted]"` under redaction). */
    messages: z.array(z.record(z.string(), z.unknown())).optional(),
    /** Embedding input (`"[redacted]"` under redaction). */
    input: z.unknown().optional(),
    /** Model parameters of the request (temperature, max_tokens, tools, ...). */
    parameters: z.record(z.string(), z.unknown()),
    response: z.record(z.string(), z.unknown()).optional(),
    error: z
      .object({ type: z.string(), message: z.string(), status: z.number().optional(), stack: z.string().optional() })
      .optional(),
    usage: usageSchema.optional(),
    /** USD; absent when the price is unknown, never a silent 0. */
    cost: z.object({ input: z.number(), output: z.number(), total: z.number() }).optional(),
    costUnknownReason: z.string().optional(),
    startTime: z.number(),
    endTime: z.number(),
    firstChunkTime: z.number().optional(),
    latencyMs: z.number(),
    ttftMs: z.number().optional(),
    user: z.string().optional(),
    metadata: z.record(z.string(), z.unknown()),
    tags: z.array(z.string()),
    cacheHit: z.boolean(),
    /** What the cached part of the reply would have cost (USD), when a cache answered it. */
    savedCost: z.object({ input: z.number(), output: z.number(), total: z.number() }).optional(),
    attempts: z.array(attemptSchema),
    http: z
      .object({
        method: z.string(),
        url: z.string(),
        headers: z.record(z.string(), z.string()),
        clientIp: z.string().optional(),
      })
      .optional(),
    modelInfo: z.record(z.string(), z.unknown()).optional(),
    /**
     * Each layer's own time in microseconds, outermost first, on a client with `profile: true`
     * (docs/profile.md): the layers that had finished when the event was built.
     */
    layers: z.array(z.object({ name: z.string(), beforeUs: z.number(), afterUs: z.number() })).optional(),
  })
  return { callEventSchema }
}

/**
 * The schemas of this module, built on the first call (not at import: docs/benchmarks.md, "Cold
 * start"); what a call parses with, so it reads the built schema directly.
 */
export const eventSchemas = memoise(buildEventSchemas)

export const callEventSchema = lazySchema(() => eventSchemas().callEventSchema)


/** A finished call, as every sink receives it; read-only (it is shared, never copy-on-write). */
export type CallEvent = z.infer<typeof callEventSchema>
export type CallStatus = CallEvent['status']

export interface EventOptions {
  /** Overrides the client's redaction for this event. */
  redact?: RedactOptions
}

const notParameters = new Set([
  'model', 'messages', 'input', 'metadata', 'user', 'tags', 'stream', 'mock_response', 'mock_error',
  'api_key', 'api_base', 'base_url',
])

/**
 * What an event is built from: the members of `Context` it reads. Named here rather than imported
 * from src/context.ts, which builds its events with this file: the two would import each other.
 */
export interface EventSource {
  readonly id: string
  readonly traceId: string
  readonly type: 'chat' | 'embedding'
  readonly streaming: boolean
  readonly request: ChatRequest | EmbeddingRequest
  readonly response?: ChatResponse | EmbeddingResponse
  readonly error?: Error
  readonly requestedModel: string
  readonly responseModel?: string
  readonly provider?: string
  readonly apiBase?: string
  readonly user?: string
  readonly metadata: Record<string, unknown>
  readonly tags: string[]
  readonly timing: Timing
  readonly attempts: AttemptRecord[]
  readonly cacheHit: boolean
  readonly savedCost?: Cost
  readonly usage?: Usage
  readonly cost?: Cost
  readonly costUnknownReason?: string
  readonly modelInfo?: Record<string, unknown>
  readonly http?: HttpInfo
  /** Each layer's own time so far, on a profiled client. */
  readonly profile?: { layers(): Array<{ name: string; beforeUs: number; afterUs: number }> }
  scrub(text: string): string
}

/** The status a context is in: `cancelled` for an abort, `failure` for any other error. */
export function statusOf(ctx: Pick<EventSource, 'error'>): CallStatus {
  if (!ctx.error) return 'success'
  return isAbortError(ctx.error) ? 'cancelled' : 'failure'
}

/** Builds the event of `ctx`; prefer `ctx.toEvent()`, which builds it once and shares it. */
export function buildEvent(ctx: EventSource, redactMessages: boolean, mask?: (text: string) => string, maxLength?: number): CallEvent {
  const request = ctx.request as Record<string, unknown>
  const end = ctx.timing.end ?? Date.now()
  const parameters: Record<string, unknown> = {}
  for (const key in request) {
    if (!notParameters.has(key) && request[key] !== undefined) parameters[key] = request[key]
  }
  const error = ctx.error
  const scrub = scrubberOf(ctx)
  // Content (prompt, reply, input, error) also goes through the client's logs-only mask, when it has
  // one, and is cut to redact.maxLength after it is scrubbed (a cut must not leave part of a key).
  const masked = mask ? (text: string) => (text.startsWith('data:') ? text : ctx.scrub(mask(text))) : scrub
  const content = maxLength === undefined ? masked : (text: string) => cutToLength(masked(text), maxLength)
  const event: CallEvent = {
    id: ctx.id,
    traceId: ctx.traceId,
    type: ctx.type,
    status: statusOf(ctx),
    streaming: ctx.streaming,
    model: ctx.requestedModel,
    responseModel: ctx.responseModel ?? (ctx.response as { model?: string } | undefined)?.model,
    provider: ctx.provider,
    apiBase: ctx.apiBase === undefined ? undefined : scrub(withoutQuery(ctx.apiBase)),
    parameters: cleanCopy(parameters, scrub),
    startTime: ctx.timing.start,
    endTime: end,
    firstChunkTime: ctx.timing.firstChunk,
    latencyMs: end - ctx.timing.start,
    ttftMs: ctx.timing.firstChunk === undefined ? undefined : ctx.timing.firstChunk - ctx.timing.start,
    user: ctx.user === undefined ? undefined : scrub(ctx.user),
    metadata: cleanCopy(ctx.metadata, scrub),
    // Copied: an outer layer may still add tags while this event waits to be mapped.
    tags: ctx.tags.map(scrub),
    cacheHit: ctx.cacheHit,
    savedCost: ctx.savedCost ? { ...ctx.savedCost } : undefined,
    attempts: ctx.attempts.map((attempt) =>
      attempt.error ? { ...attempt, error: { ...attempt.error, message: content(attempt.error.message) } } : { ...attempt },
    ),
    usage: ctx.usage ? { ...ctx.usage } : undefined,
    cost: ctx.cost ? { ...ctx.cost } : undefined,
    costUnknownReason: ctx.cost ? undefined : ctx.costUnknownReason,
    modelInfo: ctx.modelInfo ? cleanCopy(ctx.modelInfo, scrub) : undefined,
  }
  if (ctx.profile) event.layers = ctx.profile.layers()
  if (ctx.type === 'chat') {
    const messages = request.messages as Array<Record<string, unknown>> | undefined
    event.messages = redactMessages ? messages?.map(redactMessage) : messages?.map((message) => scrubDeep({ ...message }, content))
  } else {
    event.input = redactMessages ? REDACTED : scrubDeep(request.input, content)
  }
  if (ctx.response && !error) {
    // Referenced, not cloned: a deep copy of every reply (it grows with each stream chunk) was the
    // largest part of building the event. Scrubbing copies only a reply that held a credential.
    event.response = scrubDeep(redactMessages ? redactResponse(ctx.response) : (ctx.response as unknown as Record<string, unknown>), content)
  }
  if (error) {
    event.error = {
      type: error.name || 'Error',
      message: content(error.message),
      status: isLlmError(error) ? error.status : undefined,
      stack: error.stack === undefined ? undefined : content(error.stack),
    }
  }
  if (ctx.http) {
    const headers = stripSecretHeaders(ctx.http.headers)
    for (const name in headers) headers[name] = scrub(headers[name]!)
    event.http = {
      method: ctx.http.method,
      url: scrub(stripSecretQuery(ctx.http.url)),
      headers,
      clientIp: ctx.http.clientIp,
    }
  }
  return event
}

/**
 * What the event's strings go through. Image and audio payloads (data URLs) are passed over:
 * megabytes of base64 never hold a key by accident. (Returned, not a named closure in buildEvent,
 * which tools that keep function names would rename on every event.)
 */
function scrubberOf(ctx: EventSource): (text: string) => string {
  return (text) => (text.startsWith('data:') ? text : ctx.scrub(text))
}

/** A base URL without its query string and fragment (`?key=...` is a credential more often than not). */
function withoutQuery(url: string): string {
  const end = url.search(/[?#]/)
  return end === -1 ? url : url.slice(0, end)
}

function redactMessage(message: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...message, content: REDACTED }
  if (Array.isArray(message.tool_calls)) {
    copy.tool_calls = message.tool_calls.map((call: { function?: object }) => ({
      ...call,
      function: { ...call.function, arguments: REDACTED },
    }))
  }
  return copy
}

function redactResponse(response: ChatResponse | EmbeddingResponse): Record<string, unknown> {
  if (response.object === 'list') {
    return { ...response, data: response.data.map((item) => ({ ...item, embedding: REDACTED })) }
  }
  return {
    ...response,
    choices: response.choices.map((choice) => ({ ...choice, message: redactMessage(choice.message) })),
  }
}
