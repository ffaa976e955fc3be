/**
 * Slack alerts through an incoming webhook: failed calls and slow calls, as Block Kit messages.
 * Identical alerts inside a window are merged: the first goes out at once, the rest are counted and
 * sent as one `[N alerts]` message when the window ends, so an outage does not flood the channel.
 */
import type { KnownBlock } from '@slack/types'
import { z } from 'zod'
import type { Context } from '../src/context'
import type { CallEvent } from '../src/event'
import { backgroundReporter } from '../src/integrations/exporter'
import { httpSink } from '../src/delivery/http-sink'
import { integrationOptionsSchema, requireSetting } from '../src/integrations/options'
import { defineObservingLayer } from '../src/integrations/observing-layer'
import type { ClientServices } from '../src/services'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { defineIntegration } from '../src/integrations/descriptor'

const slackOptionsSchema = integrationOptionsSchema
  .omit({ baseUrl: true })
  .extend({
    webhookUrl: z.url().optional(),
    thresholdMs: z.union([z.number().positive(), z.literal(false)]).optional(),
    windowMs: z.number().int().min(0).optional(),
    timeoutMs: z.number().int().positive().optional(),
  })
  .strict()

/**
 * Options of {@link slack}, besides the common ones (`moments`, `redact`, `env`).
 * - `webhookUrl`: the incoming webhook, default `SLACK_WEBHOOK_URL` (required).
 * - `thresholdMs`: a successful call slower than this is alerted as slow, default 300,000 (LiteLLM's
 *   `alerting_threshold`); `false` turns slow alerts off.
 * - `windowMs`: identical alerts within this time are merged into one `[N alerts]` message, default 60,000; 0 sends each.
 * - `moments`: default `['failure']`; leave `failure` out to send slow-call alerts only.
 * - `timeoutMs`: per-request time limit, default 10,000.
 */
export type SlackOptions = z.input<typeof slackOptionsSchema>

/** What an incoming webhook receives. */
export interface SlackMessage {
  /** Fallback text for notifications. */
  text: string
  blocks: Array<Record<string, unknown>>
}

type AlertKind = 'failure' | 'slow'

interface AlertWindow {
  kind: AlertKind
  /** Alerts since the last message for this key. */
  count: number
  latest: CallEvent
  services: ClientServices
  timer: NodeJS.Timeout
}

/**
 * slack() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * slackIntegration.factory({ moments: ['failure'] }) // what callbacks({ failure: ['slack'] }) builds
 * ```
 */
export const slackIntegration = defineIntegration({
  name: 'slack',
  aliases: [],
  switchedOnBy: [['SLACK_WEBHOOK_URL']],
  position: 'alerts',
  takesEnv: true,
  factory: slack,
})

/**
 * Posts a Slack alert when a call fails (not when the caller cancels) or when a call takes longer
 * than `thresholdMs`. Each alert shows the model, provider, error, latency, call id and user; prompt
 * and reply content are never sent. Failures with the same model, provider and error type (or
 * slow calls of the same model) within `windowMs` are merged. `client.close()` sends any merged
 * count still waiting and stops the timers.
 *
 * @example
 * ```ts
 * // SLACK_WEBHOOK_URL=https://hooks.slack.com/services/... in the environment
 * client.use(slack({ thresholdMs: 20_000, windowMs: 5 * 60_000 }))
 * ```
 */
export function slack(options: SlackOptions = {}): Middleware {
  const settings = validate(slackOptionsSchema, options, 'slack() options')
  const env = settings.env ?? process.env
  const webhookUrl = requireSetting({ integration: 'slack', option: 'webhookUrl', variable: 'SLACK_WEBHOOK_URL' }, settings.webhookUrl, env)
  if (!URL.canParse(webhookUrl)) {
    throw new TypeError(`slack(): SLACK_WEBHOOK_URL is not a URL; copy the incoming webhook URL from your Slack app (https://hooks.slack.com/services/...).`)
  }
  const moments = settings.moments ?? ['failure']
  const alertOnFailure = moments.includes('failure')
  const thresholdMs = settings.thresholdMs ?? 300_000
  const windowMs = settings.windowMs ?? 60_000
  const redact = settings.redact
  // Webhooks take one message per request.
  const sink = httpSink<SlackMessage>({ name: 'slack', url: webhookUrl, maxBatchSize: 1, encode: (messages) => messages[0], timeoutMs: settings.timeoutMs })
  const windows = new Map<string, AlertWindow>()
  const watched = new WeakSet<ClientServices>()

  const openWindow = (key: string, kind: AlertKind, event: CallEvent, services: ClientServices) => {
    const timer = setTimeout(() => endWindow(key), windowMs)
    // A pending summary must never keep the process alive; close() sends it.
    timer.unref()
    windows.set(key, { kind, count: 0, latest: event, services, timer })
  }

  const endWindow = (key: string) => {
    const window = windows.get(key)
    windows.delete(key)
    if (!window || window.count === 0) return
    window.services.queue.enqueue(sink, slackMessage(window.kind, window.latest, { count: window.count, windowMs, thresholdMs }))
    // The alerts may still be coming: keep merging them, one message per window at most.
    openWindow(key, window.kind, window.latest, window.services)
  }

  const closeWindows = async (services: ClientServices) => {
    for (const [key, window] of windows) {
      if (window.services !== services) continue
      clearTimeout(window.timer)
      windows.delete(key)
      if (window.count === 0) continue
      // The client's queue is closed by now, so the last count goes straight to the webhook.
      const message = slackMessage(window.kind, window.latest, { count: window.count, windowMs, thresholdMs })
      await sink.send([message], AbortSignal.timeout(settings.timeoutMs ?? 10_000)).catch((error) => services.reportHookError(error, 'slack'))
    }
  }

  const eventOptions = { redact }
  const reporterFor = backgroundReporter('slack', sink)
  // The first alert of a window goes out as it is; the message is built in the background.
  const firstMessage = ({ kind, event }: { kind: AlertKind; event: CallEvent }) => slackMessage(kind, event, { count: 1, windowMs, thresholdMs })

  const alert = (ctx: Context, kind: AlertKind) => {
    const event = ctx.toEvent(eventOptions)
    const key = kind === 'failure' ? `failure\u0000${event.model}\u0000${event.provider}\u0000${event.error?.type}` : `slow\u0000${event.model}`
    const open = windows.get(key)
    if (open) {
      open.count++
      open.latest = event
      return
    }
    const services = ctx.services
    if (!watched.has(services)) {
      watched.add(services)
      // Merged counts still waiting go out first; the sink's connections are freed after them.
      services.onClose(() => closeWindows(services))
    }
    services.queue.enqueueMapped(sink, { kind, event }, firstMessage, reporterFor(services))
    if (windowMs === 0) return
    openWindow(key, kind, event, services)
  }

  // The moments gate failure alerts only: slow-call alerts follow thresholdMs. A cancel is no failure.
  return defineObservingLayer({
    name: 'slack',
    failure: alertOnFailure ? (ctx) => alert(ctx, 'failure') : undefined,
    cancelled: false,
    success: thresholdMs === false ? undefined : (ctx) => void (elapsedMs(ctx) > thresholdMs && alert(ctx, 'slow')),
  })
}

function elapsedMs(ctx: Context): number {
  return (ctx.timing.end ?? Date.now()) - ctx.timing.start
}

/** Builds the Block Kit message of an alert; `count` > 1 marks a merged one. */
function slackMessage(kind: AlertKind, event: CallEvent, merge: { count: number; windowMs: number; thresholdMs: number | false }): SlackMessage {
  const counted = merge.count > 1 ? `[${merge.count} alerts] ` : ''
  const model = event.model
  const provider = event.provider ?? 'unknown'
  const title = kind === 'failure' ? `${counted}LLM call failed: ${event.error?.type ?? 'Error'}` : `${counted}Slow LLM call: ${model}`
  const detail =
    kind === 'failure'
      ? `*${escape(event.error?.type ?? 'Error')}*${event.error?.status ? ` (${event.error.status})` : ''}: ${escape(truncate(event.error?.message ?? '', 1500))}`
      : `Took *${seconds(event.latencyMs)}*, over the ${merge.thresholdMs === false ? '' : seconds(merge.thresholdMs)} threshold.`
  const blocks: KnownBlock[] = [{ type: 'header', text: { type: 'plain_text', text: truncate(title, 150) } }]
  if (merge.count > 1) {
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: `${merge.count} identical alerts in the last ${seconds(merge.windowMs)} were merged into this one. The latest:` },
    })
  }
  blocks.push(
    { type: 'section', text: { type: 'mrkdwn', text: detail } },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Model*\n${escape(model)}` },
        { type: 'mrkdwn', text: `*Provider*\n${escape(provider)}` },
        { type: 'mrkdwn', text: kind === 'failure' ? `*Error*\n${escape(event.error?.type ?? 'Error')}` : `*Latency*\n${seconds(event.latencyMs)}` },
        { type: 'mrkdwn', text: `*User*\n${escape(event.user ?? 'none')}` },
        { type: 'mrkdwn', text: `*Call id*\n\`${escape(event.id)}\`` },
        { type: 'mrkdwn', text: `*Trace id*\n\`${escape(event.traceId)}\`` },
      ],
    },
    { type: 'context', elements: [{ type: 'mrkdwn', text: `llm-onion · ${new Date(event.endTime).toISOString()}` }] },
  )
  const text = `${title} on ${model} (${provider}), call ${event.id}${event.user ? `, user ${event.user}` : ''}`
  return { text, blocks: blocks as unknown as Array<Record<string, unknown>> }
}

/** Slack mrkdwn reserves `&`, `<` and `>`. */
function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

function truncate(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`
}

function seconds(ms: number): string {
  return ms >= 10_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 1000).toFixed(1)} s`
}
