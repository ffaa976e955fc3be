/**
 * An alert as an email, the same for every email integration (Resend, SendGrid, SMTP): the subject
 * is the alert's title, the body its content as HTML (a heading, the detail, a table of facts) and as
 * plain text. Text that came from the call is HTML-escaped.
 */
import { z } from 'zod'
import { readSetting, requireSetting, type Environment } from './options'
import { alertContent, alertDetailText } from './alert-content'
import type { Alert } from './alert-layer'
import { lazySchema } from '../lazy-schema'

/** What an email integration sends for an alert. */
export interface AlertEmail {
  subject: string
  html: string
  text: string
}

/** The recipients option: one address or several. */
export const recipientsSchema = lazySchema(() =>
  z.union([z.email(), z.array(z.email()).min(1)]),
)

/**
 * The alert's email.
 *
 * @example
 * ```ts
 * const { subject, html, text } = alertEmail(alert)
 * ```
 */
export function alertEmail(alert: Alert): AlertEmail {
  const content = alertContent(alert)
  const rows = content.facts.map((fact) => `<tr><th align="left">${html(fact.name)}</th><td>${fact.code ? `<code>${html(fact.value)}</code>` : html(fact.value)}</td></tr>`)
  const htmlBody = [
    `<h2>${html(content.title)}</h2>`,
    content.merged ? `<p>${html(content.merged)}</p>` : '',
    `<p>${alertDetailText(content, (text) => `<strong>${text}</strong>`, html)}</p>`,
    `<table>${rows.join('')}</table>`,
    `<p><small>${html(content.footer)}</small></p>`,
  ].join('\n')
  const textBody = [
    content.title,
    content.merged ?? '',
    alertDetailText(content, (text) => text),
    ...content.facts.map((fact) => `${fact.name}: ${fact.value}`),
    content.footer,
  ]
    .filter((line) => line !== '')
    .join('\n')
  return { subject: content.title, html: htmlBody, text: textBody }
}

/**
 * The sender and the recipients of an email integration: options first, then `fromVariable` and
 * `LLM_ONION_ALERT_EMAILS` (comma-separated); both required, and every recipient a valid address.
 *
 * @example
 * ```ts
 * const { from, to } = emailParties('resendEmail', settings, 'RESEND_FROM_EMAIL', env)
 * ```
 */
export function emailParties(integration: string, settings: { from?: string; to?: string | string[] }, fromVariable: string, env: Environment): { from: string; to: string[] } {
  const from = requireSetting({ integration, option: 'from', variable: fromVariable }, settings.from, env)
  const listed = settings.to ?? readSetting(undefined, 'LLM_ONION_ALERT_EMAILS', env)?.split(',').map((address) => address.trim()).filter(Boolean)
  if (listed === undefined || listed.length === 0) {
    throw new TypeError(`${integration}() needs recipients: set LLM_ONION_ALERT_EMAILS (comma-separated) or pass { to: ['oncall@example.com'] }.`)
  }
  const to = Array.isArray(listed) ? listed : [listed]
  for (const address of to) {
    if (!z.email().safeParse(address).success) throw new TypeError(`${integration}(): ${JSON.stringify(address)} in LLM_ONION_ALERT_EMAILS is not an email address; list addresses separated by commas.`)
  }
  return { from, to }
}

/** HTML-escapes text from the call. */
function html(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}
