/**
 * OTLP exporters (Langfuse, Logfire, Traceloop, Datadog in OTLP mode) are `defineExporter` with an
 * OTLP sink: once the call is over it hands its event to the client's delivery queue, and its GenAI
 * spans are encoded in the background, straight from the event; `client.flush()` waits for it and
 * `client.close()` frees the sink's connections.
 */
import { z } from 'zod'
import { defineExporter, type IntegrationMoment } from '../exporter'
import { integrationOptionsSchema } from '../options'
import type { RedactOptions } from '../../redact'
import type { Middleware } from '../../types'
import { createOtlpSink, type OtlpDestination } from './pipeline'
import type { Sink } from '../../delivery/sink'
import { loadOtelSdk } from './sdk'
import type { FinishedCall, OtlpCall, TracedCallOptions } from './span-record'
import { lazySchema } from '../../lazy-schema'

/** Options every OTLP preset takes besides the common ones; each preset documents its defaults. */
export const otlpPresetOptionsSchema = lazySchema(() =>
  integrationOptionsSchema.extend({
    /** `service.name` of the exported resource (default `OTEL_SERVICE_NAME`, else `llm-onion`). */
    serviceName: z.string().min(1).optional(),
    /** Send the prompt and the reply as `gen_ai.input.messages` / `gen_ai.output.messages`. */
    captureContent: z.boolean().optional(),
    /** Per-request time limit in ms (default 10,000). */
    timeoutMs: z.number().int().positive().optional(),
  }),
)

/** An OTLP exporter: where it sends, and what its spans hold (`captureContent`, `extraAttributes`). */
export interface OtlpExporterDefinition extends TracedCallOptions {
  /** The layer's name (`langfuse`), also the sink's name in the queue's counters. */
  name: string
  destination: Omit<OtlpDestination, 'name'>
  /** Which moments send (default success and failure). */
  moments?: ReadonlyArray<IntegrationMoment>
  redact?: RedactOptions
}

/**
 * The OTLP sink of a destination, sending OTLP protobuf (or JSON). Its items are finished calls,
 * encoded in the background: a {@link FinishedCall} as `spans` says (content left out by default),
 * or a span tree already built (`tracedCall`). The OpenTelemetry SDK starts loading here, so it is
 * there long before the first batch; `loadFailure()` says if it could not load.
 *
 * @example
 * ```ts
 * const sink = otlpSink({ name: 'my-collector', url: 'http://127.0.0.1:4318/v1/traces', headers: {}, gzip: true, resource: { 'service.name': 'shop' } }, { captureContent: true })
 * ```
 */
export function otlpSink(destination: OtlpDestination, spans: TracedCallOptions = { captureContent: false }): Sink<OtlpCall> & { loadFailure(): unknown } {
  let failure: unknown
  const sdkLoading = loadOtelSdk()
  // A load failure is reported (onHookError) for the calls that needed the SDK, not as an unhandled rejection.
  sdkLoading.catch((error: unknown) => (failure = error))
  return Object.assign(createOtlpSink(sdkLoading, destination, spans), { loadFailure: () => failure })
}

/**
 * Builds an OTLP-exporting layer: `defineExporter` with {@link otlpSink}. A call hands its event to
 * the client's delivery queue and returns; its spans are encoded in the background.
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
  const sink = otlpSink({ name, ...definition.destination }, { captureContent, extraAttributes })
  return defineExporter<OtlpCall, FinishedCall>({
    name,
    sink,
    moments,
    redact,
    capture: (event, ctx, firstAttempt) => ({ event, requestModel: ctx.model, firstAttempt }),
    // Runs in the background (the queue's mapping step), never in the call. The call is the item:
    // its spans are written straight from the event when its batch is encoded.
    toItems: (call: FinishedCall) => {
      const failure = sink.loadFailure()
      if (failure !== undefined) throw failure
      return call
    },
  })
}

/** `service.name` for a preset: the option, else `OTEL_SERVICE_NAME`, else `llm-onion`. */
export function serviceNameOf(option: string | undefined, env: Record<string, string | undefined>): string {
  return option ?? (env.OTEL_SERVICE_NAME?.trim() || 'llm-onion')
}
