/**
 * What every alerting integration shares (Slack, Microsoft Teams, Discord, PagerDuty, the emails):
 * when a call is alerted (a failure, a call slower than a threshold), which alerts are the same one
 * (the merge key), the merge window (the first alert goes out at once, the identical ones after it
 * are counted and sent as one `[N alerts]` message when the window ends), and the alert's content.
 * Each integration is a thin mapping from an {@link Alert} to its own message format.
 */
import type { Context } from '../context'
import type { CallEvent } from '../event'
import { backgroundReporter, type IntegrationMoment } from './exporter'
import type { RedactOptions } from '../redact'
import type { ClientServices } from '../services'
import { declareLayerSinks } from '../delivery/layer-sinks'
import type { Sink } from '../delivery/sink'
import type { Middleware } from '../types'
import { defineObservingLayer } from './observing-layer'
import { windowMs as toWindowMs, spoken, type AlertNotice, type NoticeKind } from './alert-notice'
import type { AlertRules } from './alert-options'
import { recordLatency, recordOutcome, sendOnce, type LatencyRule, type OutageRule } from './alert-windows'

export { alertOptionsSchema, alertRules, type AlertRules } from './alert-options'

/** Why a call is alerted. */
export type CallAlertKind = 'failure' | 'slow'

/** Why anything is alerted: a call, or a notice about many calls, a budget or a report. */
export type AlertKind = CallAlertKind | NoticeKind

/** One alert, as an integration maps it to its message: about one call, or a notice. */
export type Alert = CallAlert | NoticeAlert

/** A notice (a latency or outage window, a hanging call, a budget, a report) as an alert. */
export interface NoticeAlert {
  kind: NoticeKind
  notice: AlertNotice
  event?: undefined
  count: number
  key: string
  windowMs: number
  thresholdMs: number | false
}

/** An alert about one call. */
export interface CallAlert {
  kind: CallAlertKind
  notice?: undefined
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
export function alertKey(kind: CallAlertKind, event: CallEvent): string {
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
  /** A model's average or p95 latency over a window above a threshold (one alert per window, across every process sharing `ctx.store`). */
  latency?: AlertRules['latency']
  /** A deployment's failures over a window (one alert per level per window, across every process sharing `ctx.store`). */
  outage?: AlertRules['outage']
  /** A call still running `afterMs` after it started (one alert per model per merge window). */
  hanging?: AlertRules['hanging']
}

/** An alerting layer: a middleware that can also send a notice it did not decide itself (a budget, a report). */
export interface AlertLayer extends Middleware {
  /** Sends `notice` through this layer's destination, on the delivery queue of the last client it served (else straight). */
  notify(notice: AlertNotice): void
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
export function defineAlertLayer<Message>(definition: AlertLayerDefinition<Message>): AlertLayer {
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

  const watch = (services: ClientServices) => {
    if (watched.has(services)) return
    watched.add(services)
    lastServices = services
    // Merged counts still waiting go out first; the sink's connections are freed after them.
    services.onClose(() => {
      closing.add(services)
      return closeWindows(services)
    })
  }
  const closing = new WeakSet<ClientServices>()
  let lastServices: ClientServices | undefined

  const alert = (ctx: Context, kind: CallAlertKind) => {
    const event = ctx.toEvent(eventOptions)
    const key = alertKey(kind, event)
    const open = windows.get(key)
    if (open) {
      open.count++
      if (open.latest.kind !== 'latency') open.latest = { ...open.latest, event } as Alert
      return
    }
    const services = ctx.services
    watch(services)
    const first: Alert = { kind, event, count: 1, key, windowMs, thresholdMs }
    // The message is built in the background, off the call's path.
    services.queue.enqueueMapped(sink, first, toMessage, reporterFor(services))
    if (windowMs > 0) openWindow(first, services)
  }

  // Notices were decided once across every process (src/integrations/alert-windows.ts): each is sent, never merged.
  const notify = (notice: AlertNotice, services = lastServices) => {
    const item: Alert = { kind: notice.kind, notice, count: 1, key: notice.key, windowMs, thresholdMs }
    if (services !== undefined && !closing.has(services)) {
      services.queue.enqueueMapped(sink, item, toMessage, reporterFor(services))
      return
    }
    void Promise.resolve()
      .then(() => sink.send([toMessage(item)], AbortSignal.timeout(timeoutMs)))
      .catch((error) => (services ?? lastServices)?.reportHookError(error, name))
  }

  const latency = latencyRule(name, definition.latency)
  const outage = outageRule(name, definition.outage)
  const hangingMs = definition.hanging?.afterMs
  // Window writes go to the store after the call, never in its way (ctx.waitUntil); a store error is reported, not thrown.
  const measure = (ctx: Context, failed: boolean) => {
    if (latency === undefined && outage === undefined) return
    const services = ctx.services
    watch(services)
    const end = ctx.timing.end ?? Date.now()
    const work = async () => {
      const notices: AlertNotice[] = []
      const model = ctx.requestedModel || ctx.model
      if (latency !== undefined && !failed && (latency.models === undefined || latency.models.includes(model) || latency.models.includes(ctx.model))) {
        notices.push(...(await recordLatency(ctx.store, latency, model, end - ctx.timing.start, end)))
      }
      // A 400 is the caller's mistake, not the deployment's (as LiteLLM counts outages).
      if (outage !== undefined && !(failed && (ctx.error as { status?: number } | undefined)?.status === 400)) notices.push(...(await recordOutcome(ctx.store, outage, deploymentOf(ctx), failed, end)))
      for (const notice of notices) notify(notice, services)
    }
    ctx.waitUntil(work().catch((error) => services.reportHookError(error, name)))
  }

  const hangingTimer = (ctx: Context): NodeJS.Timeout | undefined => {
    if (hangingMs === undefined) return undefined
    const timer = setTimeout(() => {
      const model = ctx.requestedModel || ctx.model
      const services = ctx.services
      watch(services)
      const at = Date.now()
      const notice: AlertNotice = {
        kind: 'hanging',
        title: `LLM call hanging: ${model} has not answered after ${spoken(hangingMs)}`,
        summary: `A call to ${model} (call ${ctx.id}) has been running for ${spoken(at - ctx.timing.start)}, past the ${spoken(hangingMs)} threshold`,
        detail: `Call ${ctx.id} to ${model} started at ${new Date(ctx.timing.start).toISOString()} and has not finished after ${spoken(hangingMs)}.`,
        facts: [
          { name: 'Model', value: model },
          { name: 'Running for', value: spoken(at - ctx.timing.start) },
          { name: 'Threshold', value: spoken(hangingMs) },
          { name: 'User', value: ctx.user ?? 'none' },
          { name: 'Call id', value: ctx.id, code: true },
        ],
        at,
        severity: 'warning',
        model,
        key: JSON.stringify(['hanging', model]),
      }
      // One hanging alert per model per merge window, whichever process sees it first.
      void sendOnce(ctx.store, `hanging:${name}:${model}`, Math.max(windowMs, 1_000))
        .then((first) => first && notify(notice, services))
        .catch((error) => services.reportHookError(error, name))
    }, hangingMs)
    timer.unref()
    return timer
  }

  // The moments gate failure alerts only: slow-call alerts follow thresholdMs. A cancel is no failure.
  const layer = defineObservingLayer<NodeJS.Timeout | undefined>({
    name,
    start: hangingMs === undefined ? undefined : hangingTimer,
    failure: (ctx, timer) => {
      clearTimeout(timer)
      if (moments.includes('failure')) alert(ctx, 'failure')
      measure(ctx, true)
    },
    cancelled: (_ctx, timer) => clearTimeout(timer),
    success: (ctx, timer) => {
      clearTimeout(timer)
      if (thresholdMs !== false && elapsedMs(ctx) > thresholdMs) alert(ctx, 'slow')
      measure(ctx, false)
    },
  })
  // A client with a durable spool replays this sink's leftovers when the layer is added.
  declareLayerSinks(layer, [sink])
  return Object.assign(layer, { notify: (notice: AlertNotice) => notify(notice) })
}

function latencyRule(scope: string, rule: AlertRules['latency']): LatencyRule | undefined {
  if (rule === undefined) return undefined
  return { scope, windowMs: toWindowMs(rule.window), averageMs: rule.average, p95Ms: rule.p95, models: rule.models, minCalls: rule.minCalls ?? 1 }
}

function outageRule(scope: string, rule: AlertRules['outage']): OutageRule | undefined {
  if (rule === undefined) return undefined
  const errors = rule.errors === undefined ? [5, 10] : Array.isArray(rule.errors) ? [...rule.errors].sort((a, b) => a - b) : [rule.errors]
  return { scope, windowMs: toWindowMs(rule.window), errors, rate: rule.rate ?? 0, minCalls: rule.minCalls ?? 1 }
}

/** A deployment by its model and host (a base URL's query can carry a key, so only the host). */
function deploymentOf(ctx: Context): string {
  const base = ctx.apiBase
  const host = base !== undefined && URL.canParse(base) ? new URL(base).host : ''
  const model = ctx.provider ? `${ctx.provider}/${ctx.model}` : ctx.model
  return host ? `${model} @ ${host}` : model
}

function elapsedMs(ctx: Context): number {
  return (ctx.timing.end ?? Date.now()) - ctx.timing.start
}
