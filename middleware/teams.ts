/**
 * Microsoft Teams alerts through a channel webhook (a Workflows "post to a channel when a webhook
 * request is received" URL, or a classic Incoming Webhook): the Slack alert, as an Adaptive Card.
 */
import { z } from 'zod'
import { httpSink } from '../src/delivery/http-sink'
import { requireSetting } from '../src/integrations/options'
import { alertContent, alertDetailText } from '../src/integrations/alert-content'
import { alertOptionsSchema, alertRules, defineAlertLayer, type Alert, type AlertLayer } from '../src/integrations/alert-layer'
import { validate } from '../src/validate'
import { defineIntegration } from '../src/integrations/descriptor'
import { lazySchema } from '../src/lazy-schema'

const teamsOptionsSchema = lazySchema(() =>
  alertOptionsSchema
    .extend({
      webhookUrl: z.url().optional(),
    })
    .strict(),
)

/**
 * Options of {@link teams}, besides the common ones (`moments`, `redact`, `env`).
 * - `webhookUrl`: the channel's webhook, default `MICROSOFT_TEAMS_WEBHOOK_URL` (required).
 * - `thresholdMs`, `windowMs`, `timeoutMs`: as for `slack()` (slow calls over 300,000 ms; merge window 60,000 ms).
 */
export type TeamsOptions = z.input<typeof teamsOptionsSchema>

/** What a Teams webhook receives: a message with one Adaptive Card attachment. */
export interface TeamsMessage {
  type: 'message'
  attachments: Array<{
    contentType: 'application/vnd.microsoft.card.adaptive'
    contentUrl: null
    content: { $schema: string; type: 'AdaptiveCard'; version: string; body: Array<Record<string, unknown>>; msteams: { width: 'Full' } }
  }>
}

/**
 * teams() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * teamsIntegration.factory({ moments: ['failure'] }) // what callbacks({ failure: ['teams'] }) builds
 * ```
 */
export const teamsIntegration = defineIntegration({
  name: 'teams',
  aliases: [],
  switchedOnBy: [['MICROSOFT_TEAMS_WEBHOOK_URL']],
  position: 'alerts',
  takesEnv: true,
  factory: teams,
})

/**
 * Posts the Slack alert to a Microsoft Teams channel as an Adaptive Card: when a call fails (not when
 * the caller cancels) or is slower than `thresholdMs`, merged as `slack()` merges them. Prompt and
 * reply content are never sent.
 *
 * @example
 * ```ts
 * // MICROSOFT_TEAMS_WEBHOOK_URL=https://....webhook.office.com/... (or a Workflows URL) in the environment
 * client.use(teams({ thresholdMs: 20_000 }))
 * ```
 */
export function teams(options: TeamsOptions = {}): AlertLayer {
  const settings = validate(teamsOptionsSchema, options, 'teams() options')
  const env = settings.env ?? process.env
  const webhookUrl = requireSetting({ integration: 'teams', option: 'webhookUrl', variable: 'MICROSOFT_TEAMS_WEBHOOK_URL' }, settings.webhookUrl, env)
  if (!URL.canParse(webhookUrl)) {
    throw new TypeError(`teams(): MICROSOFT_TEAMS_WEBHOOK_URL is not a URL; copy the webhook URL from the channel's Workflows (or Incoming Webhook) setup.`)
  }
  return defineAlertLayer<TeamsMessage>({
    name: 'teams',
    // A webhook takes one message per request.
    sink: httpSink<TeamsMessage>({ name: 'teams', url: webhookUrl, maxBatchSize: 1, encode: (messages) => messages[0], timeoutMs: settings.timeoutMs }),
    toMessage: teamsMessage,
    moments: settings.moments,
    thresholdMs: settings.thresholdMs,
    windowMs: settings.windowMs,
    timeoutMs: settings.timeoutMs,
    redact: settings.redact,
    ...alertRules(settings),
  })
}

/** Builds the Adaptive Card message of an alert. */
export function teamsMessage(alert: Alert): TeamsMessage {
  const content = alertContent(alert)
  const body: Array<Record<string, unknown>> = [
    { type: 'TextBlock', text: content.title, size: 'Large', weight: 'Bolder', color: alert.kind === 'failure' ? 'Attention' : 'Warning', wrap: true },
  ]
  if (content.merged) body.push({ type: 'TextBlock', text: content.merged, isSubtle: true, wrap: true })
  body.push(
    { type: 'TextBlock', text: alertDetailText(content, (text) => `**${text}**`), wrap: true },
    { type: 'FactSet', facts: content.facts.map((fact) => ({ title: fact.name, value: fact.value })) },
    { type: 'TextBlock', text: content.footer, isSubtle: true, size: 'Small', wrap: true },
  )
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: { $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', type: 'AdaptiveCard', version: '1.4', body, msteams: { width: 'Full' } },
      },
    ],
  }
}
