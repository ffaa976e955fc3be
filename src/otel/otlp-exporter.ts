/**
 * The shape every OTLP preset shares (Langfuse, Logfire, Traceloop, Datadog in OTLP mode): a named
 * layer that, once the call is over, records its GenAI span tree in a private pipeline for this
 * client. Nothing happens in the request path beyond recording the spans; the export runs in the
 * background, `client.flush()` waits for it and `client.close()` shuts the pipeline down.
 */
import { z } from 'zod'
import type { Context } from '../context'
import type { CallEvent } from '../event'
import type { IntegrationMoment } from '../exporter'
import { integrationOptionsSchema } from '../integration-options'
import type { RedactOptions } from '../redact'
import type { ClientServices } from '../services'
import type { Middleware } from '../types'
import type { SpanAttributes } from './attributes'
import { toOtelTraceId } from './ids'
import { createOtlpPipeline, type OtlpDestination, type OtlpPipeline } from './pipeline'
import { loadedOtelSdk, loadOtelSdk, type OtelSdk } from './sdk'
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
  moments: ReadonlyArray<IntegrationMoment>
  redact?: RedactOptions
  captureContent: boolean
  /** The service's own attributes, added to the call's span. */
  extraAttributes?: (event: CallEvent) => SpanAttributes
}

/**
 * Builds an OTLP-exporting layer. The SDK starts loading here (not at import), so the first call
 * rarely waits for it; if it does, the span is recorded in the background once it has loaded.
 *
 * @example
 * ```ts
 * const layer = defineOtlpExporter({
 *   name: 'my-collector',
 *   destination: { url: 'http://127.0.0.1:4318/v1/traces', headers: {}, gzip: true, resource: { 'service.name': 'shop' } },
 *   moments: ['success', 'failure'],
 *   captureContent: false,
 * })
 * client.use(layer)
 * ```
 */
export function defineOtlpExporter(definition: OtlpExporterDefinition): Middleware {
  const { name, redact, captureContent, extraAttributes } = definition
  const destination: OtlpDestination = { name, ...definition.destination }
  const onSuccess = definition.moments.includes('success')
  const onFailure = definition.moments.includes('failure')
  const sdkLoading = loadOtelSdk()
  // A load failure is reported on the first call that needs the SDK, not as an unhandled rejection.
  sdkLoading.catch(() => undefined)
  const pipelines = new WeakMap<ClientServices, OtlpPipeline>()

  function pipelineFor(sdk: OtelSdk, services: ClientServices): OtlpPipeline {
    const existing = pipelines.get(services)
    if (existing) return existing
    const pipeline = createOtlpPipeline(sdk, destination, services)
    pipelines.set(services, pipeline)
    services.onFlush(() => pipeline.forceFlush())
    services.onClose(() => pipeline.shutdown())
    return pipeline
  }

  function record(ctx: Context, firstAttempt: number): void {
    try {
      const event = ctx.toEvent({ redact })
      const tree = callSpanTree(event, {
        captureContent,
        requestModel: ctx.model,
        attempts: event.attempts.slice(firstAttempt),
        extraAttributes,
      })
      const traceId = toOtelTraceId(event.traceId)
      const services = ctx.services
      const sdk = loadedOtelSdk()
      if (sdk) pipelineFor(sdk, services).record(tree, traceId)
      else {
        const recorded = sdkLoading.then((loaded) => pipelineFor(loaded, services).record(tree, traceId))
        services.track(recorded.catch((error: unknown) => services.reportHookError(error, name)))
      }
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
