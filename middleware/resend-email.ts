/**
 * Alert emails through Resend's API: the Slack alert (failures, slow calls, merged) as an email.
 */
import { z } from 'zod'
import { httpSink } from '../src/delivery/http-sink'
import { readBaseUrl, requireSetting } from '../src/integrations/options'
import { alertEmail, emailParties, recipientsSchema } from '../src/integrations/alert-email'
import { alertOptionsSchema, alertRules, defineAlertLayer, type AlertLayer } from '../src/integrations/alert-layer'
import { validate } from '../src/validate'
import { defineIntegration } from '../src/integrations/descriptor'
import { lazySchema } from '../src/lazy-schema'

const resendEmailOptionsSchema = lazySchema(() =>
  alertOptionsSchema
    .extend({
      apiKey: z.string().min(1).optional(),
      baseUrl: z.url().optional(),
      from: z.string().min(3).optional(),
      to: recipientsSchema.optional(),
    })
    .strict(),
)

/**
 * Options of {@link resendEmail}, besides the common ones (`moments`, `redact`, `env`).
 * - `apiKey`: default `RESEND_API_KEY` (LiteLLM's name; required).
 * - `from`: default `RESEND_FROM_EMAIL` (LiteLLM's name; required, on a domain verified in Resend).
 * - `to`: default `LLM_ONION_ALERT_EMAILS`, comma-separated (required).
 * - `baseUrl`: default `RESEND_API_BASE`, else `https://api.resend.com`.
 * - `thresholdMs`, `windowMs`, `timeoutMs`: as for `slack()`.
 */
export type ResendEmailOptions = z.input<typeof resendEmailOptionsSchema>

/** The body of Resend's `POST /emails`. */
export interface ResendEmail {
  from: string
  to: string[]
  subject: string
  html: string
  text: string
}

/**
 * resendEmail() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * resendEmailIntegration.factory({ moments: ['failure'] }) // what callbacks({ failure: ['resend_email'] }) builds
 * ```
 */
export const resendEmailIntegration = defineIntegration({
  name: 'resendEmail',
  aliases: ['resend_email'],
  switchedOnBy: [['RESEND_API_KEY', 'RESEND_FROM_EMAIL', 'LLM_ONION_ALERT_EMAILS']],
  position: 'alerts',
  takesEnv: true,
  factory: resendEmail,
})

/**
 * Emails the Slack alert through Resend when a call fails (not when the caller cancels) or is slower
 * than `thresholdMs`, merged as `slack()` merges them. Prompt and reply content are never sent.
 *
 * @example
 * ```ts
 * // RESEND_API_KEY=re_..., RESEND_FROM_EMAIL=alerts@example.com, LLM_ONION_ALERT_EMAILS=oncall@example.com
 * client.use(resendEmail())
 * ```
 */
export function resendEmail(options: ResendEmailOptions = {}): AlertLayer {
  const settings = validate(resendEmailOptionsSchema, options, 'resendEmail() options')
  const env = settings.env ?? process.env
  const apiKey = requireSetting({ integration: 'resendEmail', option: 'apiKey', variable: 'RESEND_API_KEY' }, settings.apiKey, env)
  const { from, to } = emailParties('resendEmail', settings, 'RESEND_FROM_EMAIL', env)
  const base = readBaseUrl('resendEmail', settings.baseUrl, 'RESEND_API_BASE', 'https://api.resend.com', env)
  return defineAlertLayer<ResendEmail>({
    name: 'resendEmail',
    // One email per request (Resend's /emails/batch would hold back the first alert of an outage).
    sink: httpSink<ResendEmail>({ name: 'resendEmail', url: `${base}/emails`, headers: { authorization: `Bearer ${apiKey}` }, maxBatchSize: 1, encode: (emails) => emails[0], timeoutMs: settings.timeoutMs }),
    toMessage: (alert) => ({ from, to, ...alertEmail(alert) }),
    moments: settings.moments,
    thresholdMs: settings.thresholdMs,
    windowMs: settings.windowMs,
    timeoutMs: settings.timeoutMs,
    redact: settings.redact,
    ...alertRules(settings),
  })
}
