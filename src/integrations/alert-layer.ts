/**
 * What every alerting integration shares (Slack, Microsoft Teams, Discord, PagerDuty, the emails):
 * when a call is alerted (a failure, a call slower than a threshold), which alerts are the same one
 * (the merge key), the merge window (the first alert goes out at once, the identical ones after it
 * are counted and sent as one `[N alerts]` message when the window ends), and the alert's content.
 * Each integration is a thin mapping from an {@link Alert} to its own message format.
 */
import { z } from 'zod'
import type { Context } from '../context'
import type { CallEvent } from '../event'
import { backgroundReporter, type IntegrationMoment } from './exporter'
import { integrationOptionsSchema } from './options'
import type { RedactOptions } from '../redact'
import type { ClientServices } from '../services'
import { declareLayerSinks } from '../delivery/layer-sinks'
import type { Sink } from '../delivery/sink'
import type { Middleware } from '../types'
import { defineObservingLayer } from './observing-layer'
import { lazySchema } from '../lazy-schema'

/**
 * The options every alerting integration takes, besides its destination: `thresholdMs` (a successful
 * call slower than this is alerted as slow, default 300,000, LiteLLM's `alerting_threshold`; `false`
 * turns slow alerts off), `windowMs` (identical alerts within it are merged, default 60,000; 0 sends
 * each), `timeoutMs`, and the common `moments`, `redact`, `env`.
 */
export const alertOptionsSchema = lazySchema(() =>
  integrationOptionsSchema.omit({ baseUrl: true }).extend({
    thresholdMs: z.union([z.number().positive(), z.literal(false)]).optional(),
    windowMs: z.number().int().min(0).optional(),
    timeoutMs: z.number().int().positive().optional(),
  }),
)

/** Why a call is alerted. */
export type AlertKind = 'failure' | 'slow'

/** One alert, as an integration maps it to its message. */
export interface Alert {
  kind: AlertKind
  /** The latest call of the alert (of the merged ones, the last). */
  event: CallEvent
  /** How many identical alerts this message stands for: 1, or more for a merged one. */
  count: number
  /** The merge key: equal for alerts that are the same one (see {@link alertKey}). */
  key: string
  windowMs: number
  thresholdMs: number | false
}

/**
 * The merge key of an alert: failures with the same model, provider and error type, or slow calls
 * of the same model, are the same alert. It is readable JSON, so PagerDuty can use it as `dedup_key`.
 *
 * @example
 * ```ts
 * alertKey('failure', event) // '["failure","openai/gpt-4o","openai","RateLimitError"]'
 * ```
 */
export function alertKey(kind: AlertKind, event: CallEvent): string {
  return JSON.stringify(kind === 'failure' ? [kind, event.model, event.provider ?? 'unknown', event.error?.type ?? 'Error'] : [kind, event.model])
}

interface AlertWindow {
  /** Alerts since the last message for this key. */
  count: number
  latest: Alert
  timer: NodeJS.Timeout
}

/** What {@link defineAlertLayer} needs: the layer's name, its sink and the mapping to its message. */
export interface AlertLayerDefinition<Message> {
  name: string
  sink: Sink<Message>
  toMessage: (alert: Alert) => Message
  /** Default `['failure']`; leave `failure` out to send slow-call alerts only. */
  moments?: ReadonlyArray<IntegrationMoment>
  thresholdMs?: number | false
  windowMs?: number
  timeoutMs?: number
  redact?: RedactOptions
}

/**
 * Builds an alerting layer: a failed call (not a cancelled one) and a call slower than `thresholdMs`
 * become an {@link Alert}; identical alerts within `windowMs` are merged; `toMessage` runs in the
 * background and the message goes out on the client's delivery queue. `client.close()` sends any
 * merged count still waiting and stops the timers.
 *
 * @example
 * ```ts
 * const sink = httpSink<{ text: string }>({ name: 'chat', url, maxBatchSize: 1, encode: (messages) => messages[0] })
 * client.use(defineAlertLayer({ name: 'chat', sink, toMessage: (alert) => ({ text: alertContent(alert).summary }) }))
 * ```
 */
export function defineAlertLayer<Message>(definition: AlertLayerDefinition<Message>): Middleware {
  const { name, sink, toMessage } = definition
  const moments = definition.moments ?? ['failure']
  const thresholdMs = definition.thresholdMs ?? 300_000
  const windowMs = definition.windowMs ?? 60_000
  const timeoutMs = definition.timeoutMs ?? 10_000
  const eventOptions = { redact: definition.redact }
  const windows = new Map<string, AlertWindow & { services: ClientServices }>()
  const watched = new WeakSet<ClientServices>()
  const reporterFor = backgroundReporter(name, sink)

  const openWindow = (alert: Alert, services: ClientServices) => {
    const timer = setTimeout(() => endWindow(alert.key), windowMs)
    // A pending summary must never keep the process alive; close() sends it.
    timer.unref()
    windows.set(alert.key, { count: 0, latest: alert, services, timer })
  }

  const endWindow = (key: string) => {
    const window = windows.get(key)
    windows.delete(key)
    if (!window || window.count === 0) return
    window.services.queue.enqueueMapped(sink, { ...window.latest, count: window.count }, toMessage, reporterFor(window.services))
    // The alerts may still be coming: keep merging them, one message per window at most.
    openWindow(window.latest, window.services)
  }

  const closeWindows = async (services: ClientServices) => {
    for (const [key, window] of windows) {
      if (window.services !== services) continue
      clearTimeout(window.timer)
      windows.delete(key)
      if (window.count === 0) continue
      // The client's queue is closed by now, so the last count goes straight to the destination.
      await Promise.resolve()
        .then(() => sink.send([toMessage({ ...window.latest, count: window.count })], AbortSignal.timeout(timeoutMs)))
        .catch((error) => services.reportHookError(error, name))
    }
  }

  const alert = (ctx: Context, kind: AlertKind) => {
    const event = ctx.toEvent(eventOptions)
    const key = alertKey(kind, event)
    const open = windows.get(key)
    if (open) {
      open.count++
      open.latest = { ...open.latest, event }
      return
    }
    const services = ctx.services
    if (!watched.has(services)) {
      watched.add(services)
      // Merged counts still waiting go out first; the sink's connections are freed after them.
      services.onClose(() => closeWindows(services))
    }
    const first: Alert = { kind, event, count: 1, key, windowMs, thresholdMs }
    // The message is built in the background, off the call's path.
    services.queue.enqueueMapped(sink, first, toMessage, reporterFor(services))
    if (windowMs > 0) openWindow(first, services)
  }

  // The moments gate failure alerts only: slow-call alerts follow thresholdMs. A cancel is no failure.
  const layer = defineObservingLayer({
    name,
    failure: moments.includes('failure') ? (ctx) => alert(ctx, 'failure') : undefined,
    cancelled: false,
    success: thresholdMs === false ? undefined : (ctx) => void (elapsedMs(ctx) > thresholdMs && alert(ctx, 'slow')),
  })
  // A client with a durable spool replays this sink's leftovers when the layer is added.
  declareLayerSinks(layer, [sink])
  return layer
}

function elapsedMs(ctx: Context): number {
  return (ctx.timing.end ?? Date.now()) - ctx.timing.start
}
