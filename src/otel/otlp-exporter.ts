/**
 * The shape every OTLP preset shares (Langfuse, Logfire, Traceloop, Datadog in OTLP mode): a named
 * layer that, once the call is over, hands the call's event to the client's delivery queue. Nothing
 * else happens in the request path: the GenAI span tree is built, written through a private tracer
 * and encoded in the background; `client.flush()` waits for it and `client.close()` frees the sink's
 * connections.
 */
import { z } from 'zod'
import type { Context } from '../context'
import type { CallEvent } from '../event'
import { backgroundReporter, defaultMoments, type IntegrationMoment } from '../exporter'
import { integrationOptionsSchema } from '../integration-options'
import type { RedactOptions } from '../redact'
import type { Middleware } from '../types'
import type { SpanAttributes } from './attributes'
import { toOtelTraceId } from './ids'
import { createOtlpSink, type OtlpDestination, type TracedCall } from './pipeline'
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
interface FinishedCall {
  event: CallEvent
  /** `ctx.model` when the call ended: the model the provider was asked for. */
  requestModel: string
  /** The first attempt made inside this layer. */
  firstAttempt: number
}

/**
 * Builds an OTLP-exporting layer. A call hands its event to the client's delivery queue and returns;
 * the span tree is built, written and encoded in the background. The SDK starts loading here (not at
 * import), so it is there long before the first batch is sent.
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
  const { name, redact, captureContent, extraAttributes, moments = defaultMoments } = definition
  const onSuccess = moments.includes('success')
  const onFailure = moments.includes('failure')
  const eventOptions = { redact }
  let loadFailure: unknown
  const sdkLoading = loadOtelSdk()
  // A load failure is reported (onHookError) for the calls that needed the SDK, not as an unhandled rejection.
  sdkLoading.catch((error: unknown) => (loadFailure = error))
  const sink = createOtlpSink(sdkLoading, { name, ...definition.destination })
  const reporterFor = backgroundReporter(name, sink)

  // Runs in the background (the queue's mapping step), never in the call.
  const toTracedCall = ({ event, requestModel, firstAttempt }: FinishedCall): TracedCall => {
    if (loadFailure !== undefined) throw loadFailure
    const attempts = firstAttempt === 0 ? event.attempts : event.attempts.slice(firstAttempt)
    return { tree: callSpanTree(event, { captureContent, requestModel, attempts, extraAttributes }), traceId: toOtelTraceId(event.traceId) }
  }

  function record(ctx: Context, firstAttempt: number): void {
    try {
      const services = ctx.services
      const call: FinishedCall = { event: ctx.toEvent(eventOptions), requestModel: ctx.model, firstAttempt }
      services.queue.enqueueMapped(sink, call, toTracedCall, reporterFor(services))
    } catch (error) {
      ctx.services.reportHookError(error, name)
    }
  }

  const layer: Middleware = async (ctx, next) => {
    const firstAttempt = ctx.attempts.length
    try {
      await next()
    } catch (error) {
      if (onFailure) record(ctx, firstAttempt)
      throw error
    }
    if (onSuccess) record(ctx, firstAttempt)
  }
  Object.defineProperty(layer, 'name', { value: name })
  return layer
}

/** `service.name` for a preset: the option, else `OTEL_SERVICE_NAME`, else `llm-onion`. */
export function serviceNameOf(option: string | undefined, env: Record<string, string | undefined>): string {
  return option ?? (env.OTEL_SERVICE_NAME?.trim() || 'llm-onion')
}
