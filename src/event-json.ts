/**
 * The JSON text of a call's event, written once per event and shared: several exporters send the
 * whole event as JSON (Datadog's log message, Loki's line, the JSON log, S3, GCS, Azure Storage, a
 * webhook's ndjson), and with more than one on, each used to stringify the same event again.
 */
import type { CallEvent } from './event'

/** Events are read-only snapshots, so their text never goes stale; an event no longer used is collected with its text. */
const written = new WeakMap<CallEvent, string>()

/**
 * `JSON.stringify(event)`, from a cache keyed by the event object.
 *
 * @example
 * ```ts
 * const line = eventJson(ctx.toEvent()) // the same string for every exporter of this call
 * ```
 */
export function eventJson(event: CallEvent): string {
  let json = written.get(event)
  if (json === undefined) {
    json = JSON.stringify(event)
    written.set(event, json)
  }
  return json
}
