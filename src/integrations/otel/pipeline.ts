/**
 * The OTLP transport of one destination (Langfuse, Logfire, Traceloop, Datadog): a sink of the
 * client's delivery queue whose items are finished calls. Spans are written and encoded in the
 * background, when a batch is sent: straight from each call's event to OTLP protobuf (the bytes the
 * SDK and the official serializer would write, see otlp-protobuf.ts), or for JSON as span trees
 * through a private tracer provider and the official serializer. Nothing of it runs in a call, so no call ever pays for encoding a
 * whole batch (as a `BatchSpanProcessor` does in the `span.end()` of the call that fills it); batches
 * are retried (5xx included, honouring Retry-After), counted when dropped, and awaited by
 * `client.flush()` like every other export.
 *
 * The OTLP exporter package is not used as the transport on purpose: it adds every
 * `OTEL_EXPORTER_OTLP_HEADERS` credential of the application to its requests (which would send, say,
 * a Honeycomb key to Langfuse), and it does not retry a 500.
 */
import type { Resource } from '@opentelemetry/resources'
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base'
import { httpSink } from '../../delivery/http-sink'
import { DeliveryError, type Sink } from '../../delivery/sink'
import { randomSpanId } from './ids'
import type { OtelSdk } from './sdk'
import { completeCallSpan, tracedCall, type OtlpCall, type TracedCall, type TracedCallOptions } from './span-record'
import { createOtlpProtobufEncoder } from './otlp-protobuf'

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
  /** Headers computed per request (a token fetched in the background); see `httpSink`'s `headersFor`. */
  headersFor?: () => Promise<Record<string, string>>
  /** OTLP/HTTP encoding: `http/protobuf` (default) or `http/json`. */
  protocol?: OtlpProtocol
}

/** The OTLP/HTTP encodings, named as `OTEL_EXPORTER_OTLP_PROTOCOL` names them (gRPC is not spoken). */
export type OtlpProtocol = 'http/protobuf' | 'http/json'

export type { TracedCall } from './span-record'

/**
 * Calls per OTLP request. Encoding a batch is one uninterrupted piece of work on the event loop, so
 * batches stay small enough not to hold up the calls running meanwhile.
 */
const callsPerRequest = 64

/**
 * The sink of `destination`. `sdk` resolves with the OpenTelemetry SDK (loaded on first use); the
 * sink waits for it before its first send. `spans` says what the spans of a finished call hold.
 *
 * @example
 * ```ts
 * const sink = createOtlpSink(loadOtelSdk(), destination, { captureContent: true })
 * ctx.services.queue.enqueue(sink, { event: ctx.toEvent(), requestModel: ctx.model, firstAttempt: 0 })
 * ```
 */
export function createOtlpSink(sdk: Promise<OtelSdk>, destination: OtlpDestination, spans: TracedCallOptions): Sink<OtlpCall> {
  let encode: ((calls: OtlpCall[]) => Uint8Array) | undefined
  // A batch retried is sent with the very spans (and span ids) of its first attempt.
  const encoded = new WeakMap<OtlpCall[], Uint8Array>()
  const http = httpSink<OtlpCall>({
    name: destination.name,
    url: destination.url,
    headers: destination.headers,
    contentType: destination.protocol === 'http/json' ? 'application/json' : 'application/x-protobuf',
    gzip: destination.gzip,
    timeoutMs: destination.timeoutMs,
    maxBatchSize: callsPerRequest,
    headersFor: destination.headersFor,
    encode(calls) {
      let body = encoded.get(calls)
      if (!body) encoded.set(calls, (body = encode!(calls)))
      return body
    },
  })

  return {
    name: destination.name,
    maxBatchSize: callsPerRequest,
    async send(calls, signal) {
      if (!encode) {
        let loaded: OtelSdk
        try {
          loaded = await sdk
        } catch (error) {
          throw new DeliveryError(`${destination.name}: ${(error as Error).message}`, { retryable: false, cause: error })
        }
        encode ??= createEncoder(loaded, destination, spans)
      }
      await http.send(calls, signal)
    },
    close: () => http.close!(),
  }
}

/**
 * Span trees to an OTLP body for `destination`: protobuf under the SDK's default span limits (nearly
 * always) written directly ({@link createOtlpProtobufEncoder}, the same bytes); JSON, or span limits
 * changed by `OTEL_*_LIMIT` variables, through the SDK ({@link createSdkSpanEncoder}).
 */
function createEncoder(sdk: OtelSdk, destination: OtlpDestination, spans: TracedCallOptions): (calls: OtlpCall[]) => Uint8Array {
  const { resources } = sdk
  const resource = resources.defaultResource().merge(resources.resourceFromAttributes(destination.resource))
  const json = destination.protocol === 'http/json'
  if (!json && !spanLimitsInEnvironment()) {
    return createOtlpProtobufEncoder({ resource: resource.attributes, resourceSchemaUrl: resource.schemaUrl, scope: tracerName }, randomSpanId, spans)
  }
  const encode = createSdkSpanEncoder(sdk, resource, json ? 'http/json' : 'http/protobuf', randomSpanId)
  return (calls) => {
    const body = encode(calls.map((call) => ('tree' in call ? call : tracedCall(call, spans))))
    if (!body) throw new DeliveryError(`${destination.name}: spans could not be encoded as OTLP ${json ? 'JSON' : 'protobuf'}.`, { retryable: false })
    return body
  }
}

/**
 * Span trees to an OTLP body through the SDK: a private tracer provider (never the application's
 * global one) writes each tree as spans, each call's trace id handed to the id generator for the one
 * root span started right after it is set (synchronously, so calls cannot interleave), its only span
 * processor collects what ends, and the official serializer encodes them. `undefined` when the
 * serializer gives nothing.
 *
 * @example
 * ```ts
 * const encode = createSdkSpanEncoder(sdk, sdk.resources.resourceFromAttributes({ 'service.name': 'my-app' }), 'http/protobuf', randomSpanId)
 * ```
 */
export function createSdkSpanEncoder(
  sdk: OtelSdk,
  resource: Resource,
  protocol: OtlpProtocol,
  spanId: () => string,
): (calls: TracedCall[]) => Uint8Array | undefined {
  const { api, traceBase, transformer } = sdk
  let nextTraceId = ''
  let ended: ReadableSpan[] = []
  const collector: SpanProcessor = {
    onStart() {},
    onEnd(span) {
      ended.push(span)
    },
    forceFlush: async () => {},
    shutdown: async () => {},
  }
  const provider = new traceBase.BasicTracerProvider({
    resource,
    // Every call is recorded: an application's OTEL_TRACES_SAMPLER is meant for its own traces.
    sampler: new traceBase.AlwaysOnSampler(),
    idGenerator: { generateTraceId: () => nextTraceId, generateSpanId: spanId },
    spanProcessors: [collector],
  })
  const tracer = provider.getTracer(tracerName)
  const serializer = protocol === 'http/json' ? transformer.JsonTraceSerializer : transformer.ProtobufTraceSerializer
  return (calls) => {
    // Spans of an earlier batch whose encoding threw must not ride along.
    ended = []
    for (const { tree, traceId } of calls) {
      nextTraceId = traceId
      // ROOT_CONTEXT: the application's active span belongs to another backend; parenting to it
      // would leave this trace pointing at a span the destination never receives.
      const span = tracer.startSpan(tree.name, { kind: api.SpanKind.CLIENT, startTime: tree.start, attributes: tree.attributes }, api.ROOT_CONTEXT)
      completeCallSpan(api, tracer, span, tree, api.ROOT_CONTEXT)
    }
    const spans = ended
    ended = []
    return serializer.serializeRequest(spans)
  }
}

/** The instrumentation scope of every span. */
const tracerName = 'llm-onion'

/** Whether `OTEL_*_LIMIT` variables change the SDK's span limits (then spans go through the SDK, which applies them). */
function spanLimitsInEnvironment(): boolean {
  return Object.keys(process.env).some((name) => name.startsWith('OTEL_') && name.endsWith('_LIMIT'))
}
