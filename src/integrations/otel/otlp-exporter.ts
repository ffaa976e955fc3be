/**
 * OTLP exporters (Langfuse, Logfire, Traceloop, Datadog in OTLP mode) are `defineExporter` with an
 * OTLP sink and a mapping to span trees: once the call is over it hands its event to the client's
 * delivery queue, and the GenAI span tree is built, written through a private tracer and encoded in
 * the background; `client.flush()` waits for it and `client.close()` frees the sink's connections.
 */
import { z } from 'zod'
import type { CallEvent } from '../../event'
import { defineExporter, type IntegrationMoment } from '../exporter'
import { integrationOptionsSchema } from '../options'
import type { RedactOptions } from '../../redact'
import type { Middleware } from '../../types'
import type { SpanAttributes } from './attributes'
import { toOtelTraceId } from './ids'
import { createOtlpSink, type OtlpDestination, type TracedCall } from './pipeline'
import type { Sink } from '../../delivery/sink'
import { loadOtelSdk } from './sdk'
import { callSpanTree } from './span-record'

/** Options every OTLP preset takes besides the common ones; each preset documents its defaults. */
export const otlpPresetOptionsSchema = integrationOptionsSchema.extend({
  /** `service.name` of the exported resource (default `OTEL_SERVICE_NAME`, else `llm-onion`). */
  serviceName: z.string().min(1).optional(),
  /** Send the prompt and the reply as `gen_ai.input.messages` / `gen_ai.output.messages`. */
  captureContent: z.boolean().optional(),
  /** Per-request time limit in ms (default 10,000). */
  timeoutMs: z.number().int().positive().optional(),
})

export interface OtlpExporterDefinition {
  /** The layer's name (`langfuse`), also the sink's name in the queue's counters. */
  name: string
  destination: Omit<OtlpDestination, 'name'>
  /** Which moments send (default success and failure). */
  moments?: ReadonlyArray<IntegrationMoment>
  redact?: RedactOptions
  captureContent: boolean
  /** The service's own attributes, added to the call's span. */
  extraAttributes?: (event: CallEvent) => SpanAttributes
}

/** What a call hands over; the span tree is built from it in the background. */
export interface FinishedCall {
  event: CallEvent
  /** `ctx.model` when the call ended: the model the provider was asked for. */
  requestModel: string
  /** The first attempt made inside this layer. */
  firstAttempt: number
}

/**
 * The OTLP sink of a destination: the items are finished calls' span trees (see {@link tracedCall}),
 * written and encoded in the background and sent as OTLP protobuf. The OpenTelemetry SDK starts
 * loading here, so it is there long before the first batch; `loadFailure()` says if it could not load.
 *
 * @example
 * ```ts
 * const sink = otlpSink({ name: 'my-collector', url: 'http://127.0.0.1:4318/v1/traces', headers: {}, gzip: true, resource: { 'service.name': 'shop' } })
 * ```
 */
export function otlpSink(destination: OtlpDestination): Sink<TracedCall> & { loadFailure(): unknown } {
  let failure: unknown
  const sdkLoading = loadOtelSdk()
  // A load failure is reported (onHookError) for the calls that needed the SDK, not as an unhandled rejection.
  sdkLoading.catch((error: unknown) => (failure = error))
  return Object.assign(createOtlpSink(sdkLoading, destination), { loadFailure: () => failure })
}

/**
 * Maps a finished call to what the OTLP sink takes: its GenAI span tree (one span per call, a child per
 * attempt when several were made from `firstAttempt` on) and its OTLP trace id.
 *
 * @example
 * ```ts
 * const item = tracedCall({ event, requestModel: ctx.model, firstAttempt: 0 }, { captureContent: false })
 * ```
 */
export function tracedCall(call: FinishedCall, options: { captureContent: boolean; extraAttributes?: (event: CallEvent) => SpanAttributes }): TracedCall {
  const { event, requestModel, firstAttempt } = call
  const attempts = firstAttempt === 0 ? event.attempts : event.attempts.slice(firstAttempt)
  return { tree: callSpanTree(event, { ...options, requestModel, attempts }), traceId: toOtelTraceId(event.traceId) }
}

/**
 * Builds an OTLP-exporting layer: `defineExporter` with {@link otlpSink} and {@link tracedCall}. A call
 * hands its event to the client's delivery queue and returns; the span tree is built, written and
 * encoded in the background.
 *
 * @example
 * ```ts
 * const layer = defineOtlpExporter({
 *   name: 'my-collector',
 *   destination: { url: 'http://127.0.0.1:4318/v1/traces', headers: {}, gzip: true, resource: { 'service.name': 'shop' } },
 *   captureContent: false,
 * })
 * client.use(layer)
 * ```
 */
export function defineOtlpExporter(definition: OtlpExporterDefinition): Middleware {
  const { name, redact, moments, captureContent, extraAttributes } = definition
  const sink = otlpSink({ name, ...definition.destination })
  return defineExporter<TracedCall, FinishedCall>({
    name,
    sink,
    moments,
    redact,
    capture: (event, ctx, firstAttempt) => ({ event, requestModel: ctx.model, firstAttempt }),
    // Runs in the background (the queue's mapping step), never in the call.
    toItems: (call: FinishedCall) => {
      const failure = sink.loadFailure()
      if (failure !== undefined) throw failure
      return tracedCall(call, { captureContent, extraAttributes })
    },
  })
}

/** `service.name` for a preset: the option, else `OTEL_SERVICE_NAME`, else `llm-onion`. */
export function serviceNameOf(option: string | undefined, env: Record<string, string | undefined>): string {
  return option ?? (env.OTEL_SERVICE_NAME?.trim() || 'llm-onion')
}
