/**
 * The JSON text of a call's event, written once and shared: several exporters send the whole event
 * as JSON (Datadog's log message, Loki's line, the JSON log, S3, GCS, Azure Storage, a webhook's
 * ndjson), and with more than one on, each stringified the same event again.
 *
 * One slot, not a `WeakMap` of every event: the delivery queue maps a call's items one after the
 * other, so the exporters of one event ask in a row; and a `WeakMap` entry per call would keep every
 * event and its text alive past V8's young collections (see docs/proxy.md, "Performance").
 */
import type { CallEvent } from './event'

let lastEvent: CallEvent | undefined
let lastJson = ''

/**
 * `JSON.stringify(event)`; the same string again when asked for the event it wrote last.
 *
 * @example
 * ```ts
 * const line = eventJson(ctx.toEvent()) // one stringify for every exporter of this call
 * ```
 */
export function eventJson(event: CallEvent): string {
  if (event !== lastEvent) {
    lastJson = JSON.stringify(event)
    lastEvent = event
  }
  return lastJson
}
