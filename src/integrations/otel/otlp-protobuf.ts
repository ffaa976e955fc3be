/**
 * Call span trees straight to an OTLP/HTTP protobuf body (`ExportTraceServiceRequest`), without
 * making SDK spans and without the official transformer's object tree: the bytes are the ones the
 * SDK path writes (a private `BasicTracerProvider` with the default span limits, then
 * `ProtobufTraceSerializer`), field for field, which the tests check byte for byte. About a tenth of
 * that path's CPU per call, and the SDK path's garbage (a Span, its attribute copies and the
 * transformer's message objects per span) is gone.
 *
 * What the SDK does to a span and is kept here: attributes whose key is empty, whose value is null,
 * undefined or a mixed array are left out; past 128 attributes the rest are counted as dropped; an
 * end before the start is moved to the start; an error sets the status (code 2, its message) and adds
 * an `exception` event at the end.
 */
import { forEachGenAiAttribute, genAiSpanName, type SpanAttributes } from './attributes'
import { toOtelTraceId } from './ids'
import { createProtobufWriter, type ProtobufWriter } from './protobuf-writer'
import { attemptSpans, layerAttempts, type FinishedCall, type OtlpCall, type SpanRecord, type TracedCallOptions } from './span-record'
import { isOwnKey } from '../../own-key'

/** The SDK's default attribute count limit per span and per event (`OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT` unset). */
const attributeCountLimit = 128

/** SpanKind.CLIENT (2) plus one: the protobuf enum has UNSPECIFIED at 0. */
const clientKind = 3

/** W3C sampled, with OTLP's "has is-remote" bit (the parent is never remote here). */
const spanFlags = 0x101

/** What one OTLP request starts with, apart from its lengths: the resource and the instrumentation scope. */
export interface OtlpSource {
  /** Resource attributes, in the order the resource holds them. */
  resource: Record<string, unknown>
  resourceSchemaUrl?: string
  /** The instrumentation scope's name (`llm-onion`). */
  scope: string
}

/**
 * An encoder of batches of finished calls for one destination. `spanId` gives each span its id (16
 * hex digits), the call's span first and then its attempts, as the SDK asks its id generator. A
 * {@link FinishedCall} is written straight from its event, as `spans` says, with no span tree in
 * between: the bytes its `tracedCall` tree would give.
 *
 * @example
 * ```ts
 * const encode = createOtlpProtobufEncoder({ resource: { 'service.name': 'my-app' }, scope: 'llm-onion' }, randomSpanId, { captureContent: false })
 * const body = encode([{ event, requestModel: 'gpt-4o-mini', firstAttempt: 0 }])
 * ```
 */
export function createOtlpProtobufEncoder(source: OtlpSource, spanId: () => string, spans: TracedCallOptions = { captureContent: false }): (calls: OtlpCall[]) => Uint8Array {
  const writer = createProtobufWriter()
  // The resource and the scope are the same in every request: encoded once.
  writer.reset()
  writeAttributes(writer, 1, source.resource)
  writer.tag(2, 0)
  writer.varint(0)
  const resource = writer.copy()
  writer.reset()
  writer.tag(1, 2)
  writer.string(source.scope)
  const scope = writer.copy()

  return (calls) => {
    writer.reset()
    writer.tag(1, 2)
    const resourceSpans = writer.begin()
    writer.tag(1, 2)
    writer.bytes(resource)
    writer.tag(2, 2)
    const scopeSpans = writer.begin()
    writer.tag(1, 2)
    writer.bytes(scope)
    for (const call of calls) {
      if ('tree' in call) writeCall(writer, spanId, call.traceId, call.tree.attempts, call.tree, () => writeAttributes(writer, 9, call.tree.attributes))
      else writeCall(writer, spanId, toOtelTraceId(call.event.traceId), attemptSpans(call.event, layerAttempts(call)), callSpanHead(call), () => writeCallAttributes(writer, call, spans))
    }
    writer.end(scopeSpans)
    if (source.resourceSchemaUrl) {
      writer.tag(3, 2)
      writer.string(source.resourceSchemaUrl)
    }
    writer.end(resourceSpans)
    return writer.copy()
  }
}

/**
 * Writes one call: its attempts' spans first (the SDK ends them inside the call's span, so they come
 * first in the batch), then the call's span, whose attributes `writeCallSpanAttributes` writes.
 */
function writeCall(writer: ProtobufWriter, spanId: () => string, traceId: string, attempts: SpanRecord[], head: SpanHead, writeCallSpanAttributes: () => number): void {
  const rootId = spanId()
  for (const attempt of attempts) {
    const span = writeSpanStart(writer, traceId, spanId(), rootId, attempt)
    writeSpanEnd(writer, span, attempt, writeAttributes(writer, 9, attempt.attributes))
  }
  const span = writeSpanStart(writer, traceId, rootId, undefined, head)
  // The call's span gets its attributes twice (at its start, and again as it completes): past the limit, each time counts.
  writeSpanEnd(writer, span, head, 2 * writeCallSpanAttributes())
}

/** A span apart from its attributes. */
type SpanHead = Omit<SpanRecord, 'attributes'>

/** The call's span of a finished call, as `callSpanTree` names and times it. */
function callSpanHead({ event, requestModel }: FinishedCall): SpanHead {
  return { name: genAiSpanName(event.type, requestModel), start: event.startTime, end: event.endTime, error: event.error }
}

/** Opens a span and writes what comes before its attributes; returns where its length goes. */
function writeSpanStart(writer: ProtobufWriter, traceId: string, id: string, parentId: string | undefined, record: SpanHead): number {
  writer.tag(2, 2)
  const span = writer.begin()
  writer.tag(1, 2)
  writer.hex(traceId)
  writer.tag(2, 2)
  writer.hex(id)
  if (parentId !== undefined) {
    writer.tag(4, 2)
    writer.hex(parentId)
  }
  writer.tag(5, 2)
  writer.string(record.name)
  writer.tag(6, 0)
  writer.varint(clientKind)
  writer.tag(7, 1)
  writer.nanos(record.start)
  writer.tag(8, 1)
  writer.nanos(Math.max(record.start, record.end))
  return span
}

/** Writes what comes after a span's attributes (`dropped` of them counted as dropped) and closes the span opened at `span`. */
function writeSpanEnd(writer: ProtobufWriter, span: number, record: SpanHead, dropped: number): void {
  writer.tag(10, 0)
  writer.varint(dropped)
  const error = record.error
  const exception = error === undefined ? undefined : exceptionAttributes(error)
  if (exception !== undefined) {
    writer.tag(11, 2)
    const event = writer.begin()
    writer.tag(1, 1)
    writer.nanos(record.end)
    writer.tag(2, 2)
    writer.string('exception')
    writeAttributes(writer, 3, exception)
    writer.tag(4, 0)
    writer.varint(0)
    writer.end(event)
  }
  // Dropped events, links, dropped links: none.
  writer.tag(12, 0)
  writer.varint(0)
  writer.tag(14, 0)
  writer.varint(0)
  writer.tag(15, 2)
  const status = writer.begin()
  if (error !== undefined && typeof error.message === 'string') {
    writer.tag(2, 2)
    writer.string(error.message)
  }
  writer.tag(3, 0)
  writer.varint(error === undefined ? 0 : 2)
  writer.end(status)
  writer.tag(16, 5)
  writer.fixed32(spanFlags)
  writer.end(span)
}

/** The attributes the SDK's `recordException({ name, message, stack })` gives its event, or none when it records nothing. */
function exceptionAttributes(error: NonNullable<SpanRecord['error']>): SpanAttributes | undefined {
  const attributes: SpanAttributes = {}
  if (error.type) attributes['exception.type'] = error.type
  if (error.message) attributes['exception.message'] = error.message
  if (error.stack) attributes['exception.stacktrace'] = error.stack
  return attributes['exception.type'] || attributes['exception.message'] ? attributes : undefined
}

/** Attributes written and dropped so far in the span being written (one span at a time, so one for all). */
const counts = { kept: 0, dropped: 0 }

/**
 * Writes one attribute as the SDK keeps it, a `KeyValue` in field `field`: an empty key, null,
 * undefined or a value that is no attribute value is left out; past the limit, counted as dropped.
 */
function writeAttribute(writer: ProtobufWriter, field: number, key: string, value: unknown): void {
  if (key.length === 0 || value === null || value === undefined || !isAttributeValue(value)) return
  if (counts.kept >= attributeCountLimit) {
    counts.dropped++
    return
  }
  counts.kept++
  writer.tag(field, 2)
  const keyValue = writer.begin()
  writer.tag(1, 2)
  writer.string(key)
  writer.tag(2, 2)
  const anyValue = writer.begin()
  writeAnyValue(writer, value)
  writer.end(anyValue)
  writer.end(keyValue)
}

/** Writes an object's attributes in field `field`; returns how many the limit dropped. */
function writeAttributes(writer: ProtobufWriter, field: number, attributes: Record<string, unknown>): number {
  counts.kept = counts.dropped = 0
  for (const key in attributes) if (isOwnKey(attributes, key)) writeAttribute(writer, field, key, attributes[key])
  return counts.dropped
}

/**
 * Writes a finished call's span attributes straight from its event: the GenAI ones, then the
 * layer's own, one of which takes the place of a GenAI one of the same key (as `Object.assign` does
 * in `callSpanTree`). Returns how many the limit dropped.
 */
function writeCallAttributes(writer: ProtobufWriter, call: FinishedCall, spans: TracedCallOptions): number {
  counts.kept = counts.dropped = 0
  const extra = spans.extraAttributes?.(call.event)
  let replaced: string[] | undefined
  forEachGenAiAttribute(call.event, { captureContent: spans.captureContent, requestModel: call.requestModel }, (key, value) => {
    if (extra === undefined || !isOwnKey(extra, key)) return writeAttribute(writer, 9, key, value)
    ;(replaced ??= []).push(key)
    writeAttribute(writer, 9, key, extra[key])
  })
  if (extra !== undefined) {
    for (const key in extra) if (isOwnKey(extra, key) && !replaced?.includes(key)) writeAttribute(writer, 9, key, extra[key])
  }
  return counts.dropped
}

/** An `AnyValue`'s fields, as the transformer's `toAnyValue` picks them. */
function writeAnyValue(writer: ProtobufWriter, value: unknown): void {
  if (typeof value === 'string') {
    writer.tag(1, 2)
    writer.string(value)
  } else if (typeof value === 'number') {
    if (Number.isInteger(value)) {
      writer.tag(3, 0)
      writer.int64(value)
    } else {
      writer.tag(4, 1)
      writer.double(value)
    }
  } else if (typeof value === 'boolean') {
    writer.tag(2, 0)
    writer.varint(value ? 1 : 0)
  } else if (Array.isArray(value)) {
    writer.tag(5, 2)
    const array = writer.begin()
    for (const element of value) {
      writer.tag(1, 2)
      const item = writer.begin()
      writeAnyValue(writer, element)
      writer.end(item)
    }
    writer.end(array)
  }
  // null (inside an array): an empty AnyValue, as the transformer writes it.
}

/** The SDK's `isAttributeValue` for a value that is not null: a primitive, or an array of one primitive type (nulls allowed). */
function isAttributeValue(value: unknown): boolean {
  if (!Array.isArray(value)) return isPrimitive(value)
  let type: string | undefined
  for (const element of value) {
    if (element === null || element === undefined) continue
    if (type === undefined) {
      if (!isPrimitive(element)) return false
      type = typeof element
    } else if (typeof element !== type) return false
  }
  return true
}

function isPrimitive(value: unknown): boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
}
