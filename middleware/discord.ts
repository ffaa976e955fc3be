/**
 * Discord alerts through a channel webhook: the Slack alert, as a message with one embed.
 */
import { z } from 'zod'
import { httpSink } from '../src/delivery/http-sink'
import { requireSetting } from '../src/integrations/options'
import { alertContent, alertDetailText, alertTime, truncate } from '../src/integrations/alert-content'
import { alertOptionsSchema, alertRules, defineAlertLayer, type Alert, type AlertLayer } from '../src/integrations/alert-layer'
import { validate } from '../src/validate'
import { defineIntegration } from '../src/integrations/descriptor'
import { lazySchema } from '../src/lazy-schema'

const discordOptionsSchema = lazySchema(() =>
  alertOptionsSchema
    .extend({
      webhookUrl: z.url().optional(),
    })
    .strict(),
)

/**
 * Options of {@link discord}, besides the common ones (`moments`, `redact`, `env`).
 * - `webhookUrl`: the channel's webhook, default `DISCORD_WEBHOOK_URL` (required).
 * - `thresholdMs`, `windowMs`, `timeoutMs`: as for `slack()` (slow calls over 300,000 ms; merge window 60,000 ms).
 */
export type DiscordOptions = z.input<typeof discordOptionsSchema>

/** What Discord's Execute Webhook receives. */
export interface DiscordMessage {
  content: string
  embeds: Array<{
    title: string
    description: string
    color: number
    fields: Array<{ name: string; value: string; inline: boolean }>
    timestamp: string
    footer: { text: string }
  }>
  allowed_mentions: { parse: string[] }
}

/** Discord's colours: red for a failure or an outage, amber for slow, hanging, latency and budget, blue for a report. */
const colours = { failure: 0xe01e5a, slow: 0xecb22e, latency: 0xecb22e, outage: 0xe01e5a, hanging: 0xecb22e, budget: 0xecb22e, report: 0x2eb6ec } as const

/**
 * discord() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * discordIntegration.factory({ moments: ['failure'] }) // what callbacks({ failure: ['discord'] }) builds
 * ```
 */
export const discordIntegration = defineIntegration({
  name: 'discord',
  aliases: [],
  switchedOnBy: [['DISCORD_WEBHOOK_URL']],
  position: 'alerts',
  takesEnv: true,
  factory: discord,
})

/**
 * Posts the Slack alert to a Discord channel as an embed: when a call fails (not when the caller
 * cancels) or is slower than `thresholdMs`, merged as `slack()` merges them. Mentions are switched
 * off, so an error message cannot ping `@everyone`; prompt and reply content are never sent.
 *
 * @example
 * ```ts
 * // DISCORD_WEBHOOK_URL=https://discord.com/api/webhooks/<id>/<token> in the environment
 * client.use(discord({ thresholdMs: 20_000 }))
 * ```
 */
export function discord(options: DiscordOptions = {}): AlertLayer {
  const settings = validate(discordOptionsSchema, options, 'discord() options')
  const env = settings.env ?? process.env
  const webhookUrl = requireSetting({ integration: 'discord', option: 'webhookUrl', variable: 'DISCORD_WEBHOOK_URL' }, settings.webhookUrl, env)
  if (!URL.canParse(webhookUrl)) {
    throw new TypeError(`discord(): DISCORD_WEBHOOK_URL is not a URL; copy it from the channel's Integrations → Webhooks (https://discord.com/api/webhooks/<id>/<token>).`)
  }
  return defineAlertLayer<DiscordMessage>({
    name: 'discord',
    // A webhook takes one message per request.
    sink: httpSink<DiscordMessage>({ name: 'discord', url: webhookUrl, maxBatchSize: 1, encode: (messages) => messages[0], timeoutMs: settings.timeoutMs }),
    toMessage: discordMessage,
    moments: settings.moments,
    thresholdMs: settings.thresholdMs,
    windowMs: settings.windowMs,
    timeoutMs: settings.timeoutMs,
    redact: settings.redact,
    ...alertRules(settings),
  })
}

/** Builds the Discord message of an alert, within Discord's length limits. */
export function discordMessage(alert: Alert): DiscordMessage {
  const content = alertContent(alert)
  const detail = alertDetailText(content, (text) => `**${text}**`, escape)
  return {
    content: truncate(escape(content.summary), 2000),
    embeds: [
      {
        title: truncate(content.title, 256),
        description: truncate(content.merged ? `${content.merged}\n${detail}` : detail, 4096),
        color: colours[alert.kind],
        fields: content.facts.map((fact) => ({ name: fact.name, value: truncate(fact.code ? `\`${fact.value}\`` : escape(fact.value), 1024), inline: true })),
        timestamp: new Date(alertTime(alert)).toISOString(),
        footer: { text: 'llm-onion' },
      },
    ],
    // No @everyone, @here, role or user ping from text that came from a call.
    allowed_mentions: { parse: [] },
  }
}

/** Discord markdown marks text with `* _ ~ \` | >` and `\`; text from a call is shown as it is. */
function escape(text: string): string {
  return text.replace(/([\\*_~`|>])/g, '\\$1')
}
