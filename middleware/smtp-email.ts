/**
 * Alert emails over SMTP with `nodemailer` (loaded on the first email, not at import): the Slack
 * alert (failures, slow calls, merged) as an email.
 */
import type { Transporter } from 'nodemailer'
import { z } from 'zod'
import { readSetting, requireSetting } from '../src/integrations/options'
import { alertEmail, emailParties, recipientsSchema, type AlertEmail } from '../src/integrations/alert-email'
import { alertOptionsSchema, alertRules, defineAlertLayer, type AlertLayer } from '../src/integrations/alert-layer'
import { scrubProcessSecrets } from '../src/secret-scrubber'
import { DeliveryError, type Sink } from '../src/delivery/sink'
import { validate } from '../src/validate'
import { defineIntegration } from '../src/integrations/descriptor'
import { lazySchema } from '../src/lazy-schema'

const smtpEmailOptionsSchema = lazySchema(() =>
  alertOptionsSchema
    .extend({
      host: z.string().min(1).optional(),
      port: z.number().int().min(1).max(65_535).optional(),
      username: z.string().min(1).optional(),
      password: z.string().min(1).optional(),
      tls: z.boolean().optional(),
      from: z.string().min(3).optional(),
      to: recipientsSchema.optional(),
    })
    .strict(),
)

/**
 * Options of {@link smtpEmail}, besides the common ones (`moments`, `redact`, `env`). LiteLLM's variables:
 * - `host`: default `SMTP_HOST` (required); `port`: default `SMTP_PORT`, else 587.
 * - `username`, `password`: default `SMTP_USERNAME`, `SMTP_PASSWORD` (both or neither).
 * - `tls`: default `SMTP_TLS` (`True` unless `False`): STARTTLS required; port 465 uses TLS from the start.
 * - `from`: default `SMTP_SENDER_EMAIL` (required); `to`: default `LLM_ONION_ALERT_EMAILS`, comma-separated (required).
 * - `thresholdMs`, `windowMs`, `timeoutMs`: as for `slack()`.
 */
export type SmtpEmailOptions = z.input<typeof smtpEmailOptionsSchema>

/** One email as the SMTP sink sends it. */
export interface SmtpMail extends AlertEmail {
  from: string
  to: string[]
}

/**
 * smtpEmail() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * smtpEmailIntegration.factory({ moments: ['failure'] }) // what callbacks({ failure: ['smtp_email'] }) builds
 * ```
 */
export const smtpEmailIntegration = defineIntegration({
  name: 'smtpEmail',
  aliases: ['smtp_email'],
  switchedOnBy: [['SMTP_HOST', 'SMTP_SENDER_EMAIL', 'LLM_ONION_ALERT_EMAILS']],
  position: 'alerts',
  takesEnv: true,
  factory: smtpEmail,
})

/**
 * Emails the Slack alert over SMTP when a call fails (not when the caller cancels) or is slower than
 * `thresholdMs`, merged as `slack()` merges them. Prompt and reply content are never sent.
 *
 * @example
 * ```ts
 * // SMTP_HOST, SMTP_PORT, SMTP_USERNAME, SMTP_PASSWORD, SMTP_SENDER_EMAIL and LLM_ONION_ALERT_EMAILS in the environment
 * client.use(smtpEmail())
 * ```
 */
export function smtpEmail(options: SmtpEmailOptions = {}): AlertLayer {
  const settings = validate(smtpEmailOptionsSchema, options, 'smtpEmail() options')
  const env = settings.env ?? process.env
  const host = requireSetting({ integration: 'smtpEmail', option: 'host', variable: 'SMTP_HOST' }, settings.host, env)
  const portText = readSetting(undefined, 'SMTP_PORT', env)
  const port = settings.port ?? (portText === undefined ? 587 : Number(portText))
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new TypeError(`smtpEmail(): SMTP_PORT is not a port number (${JSON.stringify(portText)}); use e.g. 587 or 465.`)
  const username = readSetting(settings.username, 'SMTP_USERNAME', env)
  const password = readSetting(settings.password, 'SMTP_PASSWORD', env)
  if ((username === undefined) !== (password === undefined)) throw new TypeError('smtpEmail(): set both SMTP_USERNAME and SMTP_PASSWORD (or username and password), or neither for a relay without login.')
  const tls = settings.tls ?? readSetting(undefined, 'SMTP_TLS', env)?.toLowerCase() !== 'false'
  const { from, to } = emailParties('smtpEmail', settings, 'SMTP_SENDER_EMAIL', env)
  return defineAlertLayer<SmtpMail>({
    name: 'smtpEmail',
    sink: smtpSink({ host, port, tls, auth: username === undefined ? undefined : { user: username, pass: password! }, timeoutMs: settings.timeoutMs ?? 10_000 }),
    toMessage: (alert) => ({ from, to, ...alertEmail(alert) }),
    moments: settings.moments,
    thresholdMs: settings.thresholdMs,
    windowMs: settings.windowMs,
    timeoutMs: settings.timeoutMs,
    redact: settings.redact,
    ...alertRules(settings),
  })
}

interface SmtpSettings {
  host: string
  port: number
  tls: boolean
  auth?: { user: string; pass: string }
  timeoutMs: number
}

/** A sink that sends each email over one pooled SMTP connection, opened on the first email. */
function smtpSink(settings: SmtpSettings): Sink<SmtpMail> {
  let transport: Transporter | undefined
  return {
    name: 'smtpEmail',
    maxBatchSize: 1,
    maxConcurrency: 1,
    async send([mail], signal) {
      signal.throwIfAborted()
      // nodemailer loads on the first email, not when llm-onion/middleware is imported (cold start).
      const nodemailer = await import('nodemailer')
      transport ??= nodemailer.createTransport({
        host: settings.host,
        port: settings.port,
        // Port 465 speaks TLS from the start; others upgrade with STARTTLS, required unless tls is false.
        secure: settings.port === 465,
        requireTLS: settings.tls && settings.port !== 465,
        ignoreTLS: !settings.tls,
        auth: settings.auth,
        pool: true,
        maxConnections: 1,
        connectionTimeout: settings.timeoutMs,
        greetingTimeout: settings.timeoutMs,
        socketTimeout: settings.timeoutMs,
      })
      try {
        await transport.sendMail({ from: mail!.from, to: mail!.to, subject: mail!.subject, text: mail!.text, html: mail!.html })
      } catch (error) {
        const code = (error as { responseCode?: number }).responseCode
        // 4xx replies are temporary (try again later); 5xx are permanent; no reply at all is a network error.
        throw new DeliveryError(`smtpEmail: ${settings.host}:${settings.port} refused the email: ${scrubProcessSecrets((error as Error).message)}`, {
          status: code,
          retryable: code === undefined || (code >= 400 && code < 500),
          cause: error,
        })
      }
    },
    async close() {
      const open = transport
      transport = undefined
      open?.close()
    },
  }
}
