/**
 * Alert emails through SendGrid's v3 Mail Send API: the Slack alert (failures, slow calls, merged) as an email.
 */
import { z } from 'zod'
import { httpSink } from '../src/delivery/http-sink'
import { readBaseUrl, requireSetting } from '../src/integrations/options'
import { alertEmail, emailParties, recipientsSchema } from '../src/integrations/alert-email'
import { alertOptionsSchema, alertRules, defineAlertLayer, type Alert, type AlertLayer } from '../src/integrations/alert-layer'
import { validate } from '../src/validate'
import { defineIntegration } from '../src/integrations/descriptor'
import { lazySchema } from '../src/lazy-schema'

const sendgridEmailOptionsSchema = lazySchema(() =>
  alertOptionsSchema
    .extend({
      apiKey: z.string().min(1).optional(),
      baseUrl: z.url().optional(),
      from: z.email().optional(),
      to: recipientsSchema.optional(),
    })
    .strict(),
)

/**
 * Options of {@link sendgridEmail}, besides the common ones (`moments`, `redact`, `env`).
 * - `apiKey`: default `SENDGRID_API_KEY` (LiteLLM's name; required).
 * - `from`: default `SENDGRID_SENDER_EMAIL` (required, a verified sender in SendGrid).
 * - `to`: default `LLM_ONION_ALERT_EMAILS`, comma-separated (required).
 * - `baseUrl`: default `SENDGRID_API_BASE`, else `https://api.sendgrid.com` (`https://api.eu.sendgrid.com` for EU subusers).
 * - `thresholdMs`, `windowMs`, `timeoutMs`: as for `slack()`.
 */
export type SendgridEmailOptions = z.input<typeof sendgridEmailOptionsSchema>

/** The body of SendGrid's `POST /v3/mail/send`. */
export interface SendgridMail {
  personalizations: Array<{ to: Array<{ email: string }> }>
  from: { email: string }
  subject: string
  content: Array<{ type: 'text/plain' | 'text/html'; value: string }>
}

/**
 * sendgridEmail() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * sendgridEmailIntegration.factory({ moments: ['failure'] }) // what callbacks({ failure: ['sendgrid_email'] }) builds
 * ```
 */
export const sendgridEmailIntegration = defineIntegration({
  name: 'sendgridEmail',
  aliases: ['sendgrid_email'],
  switchedOnBy: [['SENDGRID_API_KEY', 'SENDGRID_SENDER_EMAIL', 'LLM_ONION_ALERT_EMAILS']],
  position: 'alerts',
  takesEnv: true,
  factory: sendgridEmail,
})

/**
 * Emails the Slack alert through SendGrid when a call fails (not when the caller cancels) or is
 * slower than `thresholdMs`, merged as `slack()` merges them. Prompt and reply content are never sent.
 *
 * @example
 * ```ts
 * // SENDGRID_API_KEY=SG...., SENDGRID_SENDER_EMAIL=alerts@example.com, LLM_ONION_ALERT_EMAILS=oncall@example.com
 * client.use(sendgridEmail())
 * ```
 */
export function sendgridEmail(options: SendgridEmailOptions = {}): AlertLayer {
  const settings = validate(sendgridEmailOptionsSchema, options, 'sendgridEmail() options')
  const env = settings.env ?? process.env
  const apiKey = requireSetting({ integration: 'sendgridEmail', option: 'apiKey', variable: 'SENDGRID_API_KEY' }, settings.apiKey, env)
  const { from, to } = emailParties('sendgridEmail', settings, 'SENDGRID_SENDER_EMAIL', env)
  const base = readBaseUrl('sendgridEmail', settings.baseUrl, 'SENDGRID_API_BASE', 'https://api.sendgrid.com', env)
  return defineAlertLayer<SendgridMail>({
    name: 'sendgridEmail',
    sink: httpSink<SendgridMail>({ name: 'sendgridEmail', url: `${base}/v3/mail/send`, headers: { authorization: `Bearer ${apiKey}` }, maxBatchSize: 1, encode: (mails) => mails[0], timeoutMs: settings.timeoutMs }),
    toMessage: (alert) => toSendgridMail(alert, from, to),
    moments: settings.moments,
    thresholdMs: settings.thresholdMs,
    windowMs: settings.windowMs,
    timeoutMs: settings.timeoutMs,
    redact: settings.redact,
    ...alertRules(settings),
  })
}

/** Maps an alert to a Mail Send body: one personalization with every recipient, plain text before HTML (as SendGrid requires). */
export function toSendgridMail(alert: Alert, from: string, to: string[]): SendgridMail {
  const email = alertEmail(alert)
  return {
    personalizations: [{ to: to.map((address) => ({ email: address })) }],
    from: { email: from },
    subject: email.subject,
    content: [
      { type: 'text/plain', value: email.text },
      { type: 'text/html', value: email.html },
    ],
  }
}
