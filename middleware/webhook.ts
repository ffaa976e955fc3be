/**
 * A generic webhook: batches of call events POSTed as JSON to any endpoint, LiteLLM's `generic_api`
 * callback (litellm/integrations/generic_api/generic_api_callback.py: `GENERIC_LOGGER_ENDPOINT`,
 * `GENERIC_LOGGER_HEADERS` as `name=value,name=value`, a JSON array per batch, or NDJSON), with an
 * optional HMAC-SHA256 signature header so the receiver can tell the request came from here.
 */
import { z } from 'zod'
import type { CallEvent } from '../src/event'
import { defineExporter } from '../src/integrations/exporter'
import { httpSink } from '../src/delivery/http-sink'
import { integrationOptionsSchema, readSetting, requireSetting } from '../src/integrations/options'
import { registerSecret } from '../src/secret-scrubber'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { lazySchema } from '../src/lazy-schema'
import { defaultSignatureHeader, signWebhookBody } from '../src/integrations/webhook-signature'
import { defineIntegration } from '../src/integrations/descriptor'
import { eventJson } from '../src/event-json'

const webhookOptionsSchema = lazySchema(() =>
  integrationOptionsSchema
    .extend({
      url: z.url().optional(),
      headers: z.record(z.string(), z.string()).optional(),
      signingSecret: z.string().min(16, 'use a signing secret of at least 16 characters').optional(),
      signatureHeader: z.string().regex(/^[A-Za-z0-9-]+$/, 'a header name: letters, digits and dashes').optional(),
      logFormat: z.enum(['json_array', 'ndjson', 'single']).optional(),
      maxBatchSize: z.number().int().positive().max(10_000).optional(),
      timeoutMs: z.number().int().positive().optional(),
    })
    .strict(),
)

/**
 * Options of {@link webhook}, besides the common ones (`moments`, `redact`, `env`).
 * - `url`: default `GENERIC_LOGGER_ENDPOINT` (required).
 * - `headers`: added to `GENERIC_LOGGER_HEADERS` (`name=value,name=value`), theirs win; default none.
 * - `signingSecret`: default `GENERIC_LOGGER_SIGNING_SECRET`; when set, every request carries
 *   `x-llm-onion-signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. Default none (unsigned).
 * - `signatureHeader`: default `x-llm-onion-signature`.
 * - `logFormat`: `'json_array'` (default, a JSON array of events), `'ndjson'` (one event per line),
 *   or `'single'` (one request per event, the event as a JSON object), as LiteLLM's `log_format`.
 * - `maxBatchSize`: events per request, default 100.
 * - `moments`: default `['success', 'failure']`; `timeoutMs`: default 10,000.
 */
export type WebhookOptions = z.input<typeof webhookOptionsSchema>

/**
 * webhook() in the catalogue: LiteLLM's `generic_api` (and its older `generic`) callback names.
 *
 * @example
 * ```ts
 * webhookIntegration.factory({ moments: ['failure'] }) // what callbacks({ failure: ['generic_api'] }) builds
 * ```
 */
export const webhookIntegration = defineIntegration({
  name: 'webhook',
  aliases: ['generic_api', 'generic', 'custom_callback_api'],
  switchedOnBy: [['GENERIC_LOGGER_ENDPOINT']],
  position: 'exporters',
  takesEnv: true,
  factory: webhook,
})

/**
 * POSTs every call's standard event (docs/events.md) to a URL, in batches, on the client's delivery
 * queue: retried on 408, 429 and 5xx, counted when dropped, never in the call's way.
 *
 * @example
 * ```ts
 * // GENERIC_LOGGER_ENDPOINT=https://logs.example.com/llm and GENERIC_LOGGER_SIGNING_SECRET=... in the environment
 * client.use(webhook())
 * client.use(webhook({ url: 'https://logs.example.com/llm', headers: { authorization: 'Bearer ...' }, logFormat: 'ndjson' }))
 * ```
 */
export function webhook(options: WebhookOptions = {}): Middleware {
  const settings = validate(webhookOptionsSchema, options, 'webhook() options')
  const env = settings.env ?? process.env
  const url = requireSetting({ integration: 'webhook', option: 'url', variable: 'GENERIC_LOGGER_ENDPOINT' }, settings.url, env)
  for (const part of credentialPartsOf(url)) registerSecret(part)
  const headers = { ...parseGenericLoggerHeaders(readSetting(undefined, 'GENERIC_LOGGER_HEADERS', env)), ...settings.headers }
  for (const value of Object.values(headers)) registerSecret(value)
  const secret = readSetting(settings.signingSecret, 'GENERIC_LOGGER_SIGNING_SECRET', env)
  if (secret !== undefined) registerSecret(secret)
  const signatureHeader = (settings.signatureHeader ?? defaultSignatureHeader).toLowerCase()
  const logFormat = settings.logFormat ?? 'json_array'
  return defineExporter<CallEvent>({
    name: 'webhook',
    moments: settings.moments,
    redact: settings.redact,
    sink: httpSink({
      name: 'webhook',
      url,
      headers,
      contentType: 'application/x-ndjson',
      maxBatchSize: logFormat === 'single' ? 1 : (settings.maxBatchSize ?? 100),
      timeoutMs: settings.timeoutMs,
      // Encoded to a string here, so the signature is over the very bytes sent.
      encode: (events) => (logFormat === 'ndjson' ? events.map(eventJson).join('\n') : JSON.stringify(logFormat === 'single' ? events[0] : events)),
      headersFor: (body): Record<string, string> => ({
        'content-type': logFormat === 'ndjson' ? 'application/x-ndjson' : 'application/json',
        ...(secret === undefined ? {} : { [signatureHeader]: signWebhookBody(secret, body) }),
      }),
    }),
    toItems: (event) => event,
  })
}

/**
 * The parts of a webhook URL that can be credentials: user, password, query values, and a last path
 * segment long enough to be a token (a Sumo Logic HTTP source ends in one). A short path such as
 * `/llm-events` is not registered: the scrubber would then blank that word everywhere.
 */
function credentialPartsOf(url: string): string[] {
  const parsed = new URL(url)
  const last = parsed.pathname.split('/').at(-1) ?? ''
  return [decodeURIComponent(parsed.username), decodeURIComponent(parsed.password), ...parsed.searchParams.values(), ...(last.length >= 24 ? [last] : [])].filter(Boolean)
}

/**
 * `GENERIC_LOGGER_HEADERS` as LiteLLM reads it: `name=value` pairs split on commas, each split at
 * its first `=`; a pair without `=` is skipped.
 *
 * @example
 * ```ts
 * parseGenericLoggerHeaders('Authorization=Bearer abc,X-Team=search') // { authorization: 'Bearer abc', 'x-team': 'search' }
 * ```
 */
export function parseGenericLoggerHeaders(text: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const item of text?.split(',') ?? []) {
    const equals = item.indexOf('=')
    if (equals < 1) continue
    headers[item.slice(0, equals).trim().toLowerCase()] = item.slice(equals + 1).trim()
  }
  return headers
}
