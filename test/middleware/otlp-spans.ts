/**
 * Reading what the OTLP exporters (langfuse, logfire, traceloop) sent: spans decoded with the official
 * protobuf definitions, the same spans as searchable text, and the checks every OTLP request passes.
 */
import { expect } from 'vitest'
import type { ReceivedRequest, Receiver } from '../../src/testing/receiver'
import { decodeOtlpTraces, type DecodedSpan } from '../fakes/otlp-decoder'

/** Spans of every request that arrived, from the `from`-th request on. */
export function spansOf(receiver: Receiver, from = 0): DecodedSpan[] {
  return receiver.requests.slice(from).flatMap((request) => decodeOtlpTraces(request.body))
}

/** Spans as JSON text (64-bit times as strings), to search for what must or must not be there. */
export function payloadOf(spans: DecodedSpan[]): string {
  return JSON.stringify(spans, (_key, value) => (typeof value === 'bigint' ? String(value) : value))
}

/** One request's spans as text: the exporter contract's `payloadOf` for OTLP exporters. */
export function otlpPayloadOf(request: ReceivedRequest): string {
  return payloadOf(decodeOtlpTraces(request.body))
}

/** Checks that every request was a POST of gzip-compressed OTLP protobuf to `path` with this authorization header. */
export function expectOtlpRequests(receiver: Receiver, expected: { path: string; authorization: string }): void {
  expect(receiver.requests.length).toBeGreaterThan(0)
  for (const request of receiver.requests) {
    expect(request.method).toBe('POST')
    expect(request.path).toBe(expected.path)
    expect(request.headers.authorization).toBe(expected.authorization)
    expect(request.headers['content-type']).toBe('application/x-protobuf')
    expect(request.headers['content-encoding']).toBe('gzip')
  }
}
