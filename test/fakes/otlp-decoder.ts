/**
 * Decodes OTLP/HTTP trace export bodies with protobufjs loaded from the official opentelemetry-proto
 * definitions (vendored in `otlp-proto/`), so tests check what was sent with a decoder that shares
 * nothing with the encoder that produced it.
 */
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import protobuf from 'protobufjs'

const protoDirectory = fileURLToPath(new URL('./otlp-proto/', import.meta.url))

let requestType: protobuf.Type | undefined

function exportTraceServiceRequest(): protobuf.Type {
  if (requestType) return requestType
  const root = new protobuf.Root()
  root.resolvePath = (_origin, target) => join(protoDirectory, target)
  root.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto', { keepCase: false })
  requestType = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest')
  return requestType
}

/** OTLP span kinds by number (opentelemetry/proto/trace/v1/trace.proto). */
export const SpanKind = { INTERNAL: 1, SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 } as const
/** OTLP status codes by number. */
export const StatusCode = { UNSET: 0, OK: 1, ERROR: 2 } as const

/** One span of an export request, flattened for assertions. */
export interface DecodedSpan {
  /** 32 lower-case hex digits. */
  traceId: string
  /** 16 lower-case hex digits. */
  spanId: string
  /** 16 hex digits, or `''` for a root span. */
  parentSpanId: string
  name: string
  kind: number
  /** Nanoseconds since the epoch. */
  startTimeUnixNano: bigint
  endTimeUnixNano: bigint
  attributes: Record<string, unknown>
  status: { code: number; message: string }
  /** The attributes of the resource the span was sent under. */
  resource: Record<string, unknown>
  scope: { name: string; version: string }
}

/**
 * Every span in an `ExportTraceServiceRequest` protobuf body (already gunzipped).
 *
 * @example
 * ```ts
 * const spans = decodeOtlpTraces(receiver.requests[0].body)
 * expect(spans[0].attributes['gen_ai.operation.name']).toBe('chat')
 * ```
 */
export function decodeOtlpTraces(body: Uint8Array): DecodedSpan[] {
  const type = exportTraceServiceRequest()
  const request = type.toObject(type.decode(body), { longs: String, enums: Number, bytes: Array, defaults: true, oneofs: true }) as {
    resourceSpans: Array<{
      resource?: { attributes: KeyValue[] }
      scopeSpans: Array<{ scope?: { name: string; version: string }; spans: RawSpan[] }>
    }>
  }
  const spans: DecodedSpan[] = []
  for (const resourceSpans of request.resourceSpans) {
    const resource = attributesOf(resourceSpans.resource?.attributes ?? [])
    for (const scopeSpans of resourceSpans.scopeSpans) {
      for (const span of scopeSpans.spans) {
        spans.push({
          traceId: hex(span.traceId),
          spanId: hex(span.spanId),
          parentSpanId: hex(span.parentSpanId),
          name: span.name,
          kind: span.kind,
          startTimeUnixNano: BigInt(span.startTimeUnixNano),
          endTimeUnixNano: BigInt(span.endTimeUnixNano),
          attributes: attributesOf(span.attributes),
          status: { code: span.status?.code ?? 0, message: span.status?.message ?? '' },
          resource,
          scope: { name: scopeSpans.scope?.name ?? '', version: scopeSpans.scope?.version ?? '' },
        })
      }
    }
  }
  return spans
}

interface RawSpan {
  traceId: number[]
  spanId: number[]
  parentSpanId: number[]
  name: string
  kind: number
  startTimeUnixNano: string
  endTimeUnixNano: string
  attributes: KeyValue[]
  status?: { code: number; message: string }
}

interface AnyValue {
  value?: string
  stringValue?: string
  boolValue?: boolean
  intValue?: string
  doubleValue?: number
  arrayValue?: { values: AnyValue[] }
  kvlistValue?: { values: KeyValue[] }
  bytesValue?: number[]
}

interface KeyValue {
  key: string
  value?: AnyValue
}

function attributesOf(keyValues: KeyValue[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const keyValue of keyValues) out[keyValue.key] = valueOf(keyValue.value)
  return out
}

function valueOf(value: AnyValue | undefined): unknown {
  switch (value?.value) {
    case 'stringValue':
      return value.stringValue
    case 'boolValue':
      return value.boolValue
    case 'intValue':
      return Number(value.intValue)
    case 'doubleValue':
      return value.doubleValue
    case 'arrayValue':
      return value.arrayValue!.values.map(valueOf)
    case 'kvlistValue':
      return attributesOf(value.kvlistValue!.values)
    case 'bytesValue':
      return Buffer.from(value.bytesValue!)
    default:
      return undefined
  }
}

function hex(bytes: number[] | undefined): string {
  return bytes ? Buffer.from(bytes).toString('hex') : ''
}
