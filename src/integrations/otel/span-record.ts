/**
 * A finished call as a tree of spans: the call's span and, when retry or fallback made several
 * attempts, one child span per attempt. Built once from the event, then written through whichever
 * tracer the layer uses (the application's, or a preset's private one).
 */
import type * as Api from '@opentelemetry/api'
import type { CallEvent } from '../../event'
import { attemptAttributes, genAiAttributes, genAiSpanName, providerModelOf, type SpanAttributes } from './attributes'
import { toOtelTraceId } from './ids'

/** One span to write, times in epoch milliseconds. */
export interface SpanRecord {
  name: string
  start: number
  end: number
  attributes: SpanAttributes
  error?: { type: string; message: string; stack?: string }
}

/** The call's span and its attempt children. */
export interface CallSpanTree extends SpanRecord {
  attempts: SpanRecord[]
}

/** A finished call as an OTLP sink takes it: its span tree and its OTLP trace id. */
export interface TracedCall {
  tree: CallSpanTree
  traceId: string
}

/** What a call hands an OTLP exporter: the OTLP sink encodes its spans straight from it (see `tracedCall`). */
export interface FinishedCall {
  event: CallEvent
  /** `ctx.model` when the call ended: the model the provider was asked for. */
  requestModel: string
  /** The first attempt made inside this layer. */
  firstAttempt: number
}

/** An OTLP sink's item: a finished call, encoded straight from its event, or a span tree already built. */
export type OtlpCall = FinishedCall | TracedCall

/** What an OTLP exporter's spans hold besides the GenAI conventions. */
export interface TracedCallOptions {
  /** Send the prompt and the reply (`gen_ai.input.messages`, ...). */
  captureContent: boolean
  /** Service-specific attributes added to the call's span (`langfuse.*`). */
  extraAttributes?: (event: CallEvent) => SpanAttributes
}

export interface CallSpanOptions {
  captureContent: boolean
  /** The model the provider was asked for (`ctx.model`). */
  requestModel?: string
  /** The attempts made inside the layer (the event's attempts from the layer's first one on). */
  attempts?: CallEvent['attempts']
  /** Service-specific attributes added to the call's span (`langfuse.*`). */
  extraAttributes?: (event: CallEvent) => SpanAttributes
}

/**
 * The span tree of a finished call. A single attempt is the call's span itself; several become
 * children, so a retried call shows each try with its own time and error under one parent.
 *
 * @example
 * ```ts
 * const tree = callSpanTree(ctx.toEvent(), { captureContent: false, requestModel: ctx.model })
 * tree.name // 'chat gpt-4o-mini'
 * ```
 */
export function callSpanTree(event: CallEvent, options: CallSpanOptions): CallSpanTree {
  const requestModel = options.requestModel ?? providerModelOf(event.model, event.provider)
  const attributes = genAiAttributes(event, { captureContent: options.captureContent, requestModel })
  if (options.extraAttributes) Object.assign(attributes, options.extraAttributes(event))
  return {
    name: genAiSpanName(event.type, requestModel),
    start: event.startTime,
    end: event.endTime,
    attributes,
    error: event.error,
    attempts: attemptSpans(event, options.attempts ?? event.attempts),
  }
}

/** The child spans of a call's attempts: one per attempt when there were several, else none (the call's span is the attempt). */
export function attemptSpans(event: CallEvent, attempts: CallEvent['attempts']): SpanRecord[] {
  if (attempts.length <= 1) return []
  return attempts.map((attempt) => ({
    name: genAiSpanName(event.type, providerModelOf(attempt.model, attempt.provider)),
    start: attempt.start,
    end: attempt.end ?? event.endTime,
    attributes: attemptAttributes(attempt, event.type),
    error: attempt.error,
  }))
}

/**
 * A finished call's GenAI span tree (one span per call, a child per attempt when several were made
 * from `firstAttempt` on) and its OTLP trace id: what the SDK's encoders take. The protobuf encoder
 * writes a {@link FinishedCall} without it.
 *
 * @example
 * ```ts
 * const item = tracedCall({ event, requestModel: ctx.model, firstAttempt: 0 }, { captureContent: false })
 * ```
 */
export function tracedCall(call: FinishedCall, options: TracedCallOptions): TracedCall {
  const tree = callSpanTree(call.event, { ...options, requestModel: call.requestModel, attempts: layerAttempts(call) })
  return { tree, traceId: toOtelTraceId(call.event.traceId) }
}

/** The attempts of `call` made inside its layer. */
export function layerAttempts(call: FinishedCall): CallEvent['attempts'] {
  return call.firstAttempt === 0 ? call.event.attempts : call.event.attempts.slice(call.firstAttempt)
}

/**
 * Completes `span` (already started at the call's start) from `tree`: final name and attributes,
 * error status, attempt children under it, and its end at the call's end.
 */
export function completeCallSpan(
  api: typeof Api,
  tracer: Api.Tracer,
  span: Api.Span,
  tree: CallSpanTree,
  parentContext: Api.Context,
): void {
  try {
    span.updateName(tree.name)
    span.setAttributes(tree.attributes)
    markOutcome(api, span, tree)
    if (tree.attempts.length > 0) {
      const context = api.trace.setSpan(parentContext, span)
      for (const attempt of tree.attempts) {
        const child = tracer.startSpan(attempt.name, { kind: api.SpanKind.CLIENT, startTime: attempt.start, attributes: attempt.attributes }, context)
        markOutcome(api, child, attempt)
        child.end(attempt.end)
      }
    }
  } finally {
    // A span left open is never exported: end it whatever went wrong above.
    span.end(tree.end)
  }
}

function markOutcome(api: typeof Api, span: Api.Span, record: SpanRecord): void {
  if (!record.error) return
  span.setStatus({ code: api.SpanStatusCode.ERROR, message: record.error.message })
  span.recordException({ name: record.error.type, message: record.error.message, stack: record.error.stack }, record.end)
}
