/**
 * Slack alerts through an incoming webhook: failed calls and slow calls, as Block Kit messages.
 * Identical alerts inside a window are merged: the first goes out at once, the rest are counted and
 * sent as one `[N alerts]` message when the window ends, so an outage does not flood the channel.
 */
import type { KnownBlock } from '@slack/types'
import { z } from 'zod'
import { httpSink } from '../src/delivery/http-sink'
import { requireSetting } from '../src/integrations/options'
import { alertContent, alertDetailText, truncate, type AlertContent } from '../src/integrations/alert-content'
import { alertOptionsSchema, alertRules, defineAlertLayer, type Alert, type AlertLayer } from '../src/integrations/alert-layer'
import { validate } from '../src/validate'
import { defineIntegration } from '../src/integrations/descriptor'
import { lazySchema } from '../src/lazy-schema'

const slackOptionsSchema = lazySchema(() =>
  alertOptionsSchema
    .extend({
      webhookUrl: z.url().optional(),
    })
    .strict(),
)

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
export function slack(options: SlackOptions = {}): AlertLayer {
  const settings = validate(slackOptionsSchema, options, 'slack() options')
  const env = settings.env ?? process.env
  const webhookUrl = requireSetting({ integration: 'slack', option: 'webhookUrl', variable: 'SLACK_WEBHOOK_URL' }, settings.webhookUrl, env)
  if (!URL.canParse(webhookUrl)) {
    throw new TypeError(`slack(): SLACK_WEBHOOK_URL is not a URL; copy the incoming webhook URL from your Slack app (https://hooks.slack.com/services/...).`)
  }
  return defineAlertLayer<SlackMessage>({
    name: 'slack',
    // Webhooks take one message per request.
    sink: httpSink<SlackMessage>({ name: 'slack', url: webhookUrl, maxBatchSize: 1, encode: (messages) => messages[0], timeoutMs: settings.timeoutMs }),
    toMessage: slackMessage,
    moments: settings.moments,
    thresholdMs: settings.thresholdMs,
    windowMs: settings.windowMs,
    timeoutMs: settings.timeoutMs,
    redact: settings.redact,
    ...alertRules(settings),
  })
}

/** Builds the Block Kit message of an alert; a count over 1 marks a merged one. */
export function slackMessage(alert: Alert): SlackMessage {
  const content: AlertContent = alertContent(alert)
  const blocks: KnownBlock[] = [{ type: 'header', text: { type: 'plain_text', text: truncate(content.title, 150) } }]
  if (content.merged) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: content.merged } })
  blocks.push(
    { type: 'section', text: { type: 'mrkdwn', text: alertDetailText(content, (text) => `*${text}*`, escape) } },
    {
      type: 'section',
      fields: content.facts.map((fact) => ({ type: 'mrkdwn' as const, text: `*${fact.name}*\n${fact.code ? `\`${escape(fact.value)}\`` : escape(fact.value)}` })),
    },
    { type: 'context', elements: [{ type: 'mrkdwn', text: content.footer }] },
  )
  return { text: content.summary, blocks: blocks as unknown as Array<Record<string, unknown>> }
}

/** Slack mrkdwn reserves `&`, `<` and `>`. */
function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}
