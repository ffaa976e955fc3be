/**
 * A private OpenTelemetry pipeline for one OTLP destination (Langfuse, Logfire, Traceloop, Datadog):
 * its own tracer provider and BatchSpanProcessor, never the application's global one. Batches are
 * encoded with the official OTLP protobuf serializer and handed to the client's delivery queue, so
 * they are retried (5xx included, honouring Retry-After), counted when dropped, and awaited by
 * `client.flush()` like every other export.
 *
 * The OTLP exporter package is not used as the transport on purpose: it adds every
 * `OTEL_EXPORTER_OTLP_HEADERS` credential of the application to its requests (which would send, say,
 * a Honeycomb key to Langfuse), and it does not retry a 500.
 */
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base'
import { DeliveryError } from '../delivery-queue'
import { httpSink } from '../http-sink'
import type { ClientServices } from '../services'
import { randomSpanId } from './ids'
import type { OtelSdk } from './sdk'
import { completeCallSpan, type CallSpanTree } from './span-record'

/** Where and how a pipeline sends. */
export interface OtlpDestination {
  /** Names the sink in queue counters and warnings (`langfuse`). */
  name: string
  /** The full traces URL (`https://cloud.langfuse.com/api/public/otel/v1/traces`). */
  url: string
  /** Credentials and service headers; they go on requests only, never into spans. */
  headers: Record<string, string>
  gzip: boolean
  timeoutMs?: number
  /** Resource attributes (`service.name`, ...). */
  resource: Record<string, string>
}

export interface OtlpPipeline {
  /** Records a finished call's spans; export happens in the background. */
  record(tree: CallSpanTree, traceId: string): void
  /** Hands every buffered span to the delivery queue. */
  forceFlush(): Promise<void>
  shutdown(): Promise<void>
}

/** Spans per OTLP request: the span processor's batches, merged up to this many by the queue. */
const batchesPerRequest = 8

/**
 * Builds the pipeline of `destination` for one client; `services` gives the queue it delivers through.
 *
 * @example
 * ```ts
 * const pipeline = createOtlpPipeline(await loadOtelSdk(), destination, ctx.services)
 * pipeline.record(callSpanTree(event, { captureContent: true }), toOtelTraceId(event.traceId))
 * ```
 */
export function createOtlpPipeline(sdk: OtelSdk, destination: OtlpDestination, services: ClientServices): OtlpPipeline {
  const { api, core, resources, traceBase, transformer } = sdk
  const sink = httpSink<ReadableSpan[]>({
    name: destination.name,
    url: destination.url,
    headers: destination.headers,
    contentType: 'application/x-protobuf',
    gzip: destination.gzip,
    timeoutMs: destination.timeoutMs,
    maxBatchSize: batchesPerRequest,
    encode(batches) {
      const body = transformer.ProtobufTraceSerializer.serializeRequest(batches.flat())
      if (!body) throw new DeliveryError(`${destination.name}: spans could not be encoded as OTLP protobuf.`, { retryable: false })
      return body
    },
  })
  const exporter: SpanExporter = {
    export(spans, done) {
      services.queue.enqueue(sink, spans)
      done({ code: core.ExportResultCode.SUCCESS })
    },
    async shutdown() {},
    async forceFlush() {},
  }
  // Each call carries its own trace id; the generator hands it to the tracer for the one root span
  // started right after it is set (synchronously, so calls cannot interleave).
  let nextTraceId = ''
  const provider = new traceBase.BasicTracerProvider({
    resource: resources.defaultResource().merge(resources.resourceFromAttributes(destination.resource)),
    // Every call is recorded: an application's OTEL_TRACES_SAMPLER is meant for its own traces.
    sampler: new traceBase.AlwaysOnSampler(),
    idGenerator: { generateTraceId: () => nextTraceId, generateSpanId: randomSpanId },
    spanProcessors: [
      new traceBase.BatchSpanProcessor(exporter, { scheduledDelayMillis: 1000, maxExportBatchSize: 512, maxQueueSize: 8192 }),
    ],
  })
  const tracer = provider.getTracer('llm-onion')

  return {
    record(tree, traceId) {
      nextTraceId = traceId
      // ROOT_CONTEXT: the application's active span belongs to another backend; parenting to it
      // would leave this trace pointing at a span the destination never receives.
      const span = tracer.startSpan(tree.name, { kind: api.SpanKind.CLIENT, startTime: tree.start, attributes: tree.attributes }, api.ROOT_CONTEXT)
      completeCallSpan(api, tracer, span, tree, api.ROOT_CONTEXT)
    },
    forceFlush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  }
}
