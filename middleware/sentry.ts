/**
 * Sentry, as LiteLLM's `sentry` callback does it: a breadcrumb as the call starts, the exception with
 * the call's context when it fails, nothing for a success. Either posts envelopes to the DSN's
 * project itself, or hands everything to a Sentry SDK the application already runs.
 */
import { z } from 'zod'
import type { Context } from '../src/context'
import { ValidationError } from '../src/errors'
import { statusOf, type CallEvent } from '../src/event'
import { backgroundReporter } from '../src/integrations/exporter'
import { httpSink } from '../src/delivery/http-sink'
import { integrationOptionsSchema, readSetting, requireSetting } from '../src/integrations/options'
import { defineObservingLayer } from '../src/integrations/observing-layer'
import {
  buildEnvelope,
  envelopeUrl,
  parseDsn,
  parseStackFrames,
  sentryAuthHeader,
  sentryEventId,
  sentrySdk,
  type SentryBreadcrumb,
  type SentryEvent,
} from '../src/integrations/sentry-envelope'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { defineIntegration } from '../src/integrations/descriptor'

/** The part of a Sentry SDK (`@sentry/node`) this layer uses. */
export interface SentryClientLike {
  captureException(exception: unknown, captureContext?: Record<string, unknown>): unknown
  addBreadcrumb(breadcrumb: SentryBreadcrumb): unknown
}

const rate = z.number().min(0).max(1)

const sentryOptionsSchema = integrationOptionsSchema
  .omit({ baseUrl: true })
  .extend({
    dsn: z.string().min(1).optional(),
    client: z
      .custom<SentryClientLike>(
        (value) => typeof (value as SentryClientLike | undefined)?.captureException === 'function' && typeof (value as SentryClientLike).addBreadcrumb === 'function',
        { message: 'must be a Sentry SDK (an object with captureException and addBreadcrumb), for example the @sentry/node module' },
      )
      .optional(),
    environment: z.string().min(1).optional(),
    release: z.string().min(1).optional(),
    sampleRate: rate.optional(),
    tracesSampleRate: rate.optional(),
    random: z.custom<() => number>((value) => typeof value === 'function', { message: 'must be a function returning a number in [0, 1)' }).optional(),
  })
  .strict()

/**
 * Options of {@link sentry}, besides the common ones (`moments`, `redact`, `env`).
 * - `dsn`: default `SENTRY_DSN` (required unless `client` is given).
 * - `client`: an existing Sentry SDK (`import * as Sentry from '@sentry/node'`); default none, envelopes are posted directly.
 * - `environment`: default `SENTRY_ENVIRONMENT`, else `production`.
 * - `release`: default `SENTRY_RELEASE`, else none.
 * - `sampleRate`: share of failures sent, default `SENTRY_API_SAMPLE_RATE`, else 1.
 * - `tracesSampleRate`: default `SENTRY_API_TRACE_RATE`; accepted for LiteLLM compatibility, but no
 *   transactions are sent (per-call spans belong to `otel()`), so it changes nothing here.
 * - `moments`: default `['input', 'failure']` (breadcrumb, exception).
 * - `random`: the sampling draw, default `Math.random`.
 */
export type SentryOptions = z.input<typeof sentryOptionsSchema>

/** What a failed call hands to the background, where its envelope is built. */
interface CapturedFailure {
  event: CallEvent
  error: unknown
  /** The call's breadcrumbs when it failed (the list is replaced, never changed, as crumbs are added). */
  breadcrumbs: SentryBreadcrumb[]
  withMessages: boolean
}

/** Breadcrumbs of a call, shared by every sentry layer of the client (named lists may make two). */
const breadcrumbsKey = Symbol('sentry breadcrumbs')

/**
 * sentry() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * sentryIntegration.factory({ moments: ['failure'] }) // what callbacks({ failure: ['sentry'] }) builds
 * ```
 */
export const sentryIntegration = defineIntegration({
  name: 'sentry',
  aliases: [],
  switchedOnBy: [['SENTRY_DSN']],
  position: 'errors',
  takesEnv: true,
  factory: sentry,
})

/**
 * Reports failed calls to Sentry: the exception (type, message, stack frames), the call's breadcrumbs,
 * tags (model, provider, status, status code) and an `llm` context (model, provider, usage, latency,
 * call id; the messages unless redaction is on), with the call's user. Successes send nothing;
 * cancelled calls are not errors and are not reported.
 *
 * @example
 * ```ts
 * // SENTRY_DSN=https://<key>@o1.ingest.sentry.io/42 in the environment
 * client.use(sentry())
 * // or with the Sentry SDK the application already set up
 * client.use(sentry({ client: Sentry }))
 * ```
 */
export function sentry(options: SentryOptions = {}): Middleware {
  const settings = validate(sentryOptionsSchema, options, 'sentry() options')
  const env = settings.env ?? process.env
  const client = settings.client
  // With an SDK passed in, the SDK knows its DSN; without one the DSN is required.
  const dsn = client ? undefined : parseDsn(requireSetting({ integration: 'sentry', option: 'dsn', variable: 'SENTRY_DSN' }, settings.dsn, env))
  const environment = readSetting(settings.environment, 'SENTRY_ENVIRONMENT', env) ?? 'production'
  const release = readSetting(settings.release, 'SENTRY_RELEASE', env)
  const sampleRate = settings.sampleRate ?? readRate(env, 'SENTRY_API_SAMPLE_RATE') ?? 1
  // Read only to fail early on a malformed value a LiteLLM config carries over; no transactions are sent.
  readRate(env, 'SENTRY_API_TRACE_RATE')
  const random = settings.random ?? Math.random
  const moments = settings.moments ?? ['input', 'failure']
  const sink =
    dsn &&
    httpSink<string>({
      name: 'sentry',
      url: envelopeUrl(dsn),
      headers: { 'x-sentry-auth': sentryAuthHeader(dsn) },
      contentType: 'application/x-sentry-envelope',
      // One envelope per request, as Sentry's SDKs send them.
      maxBatchSize: 1,
      encode: (envelopes) => envelopes[0]!,
    })

  function addBreadcrumb(ctx: Context): void {
    const breadcrumb: SentryBreadcrumb = {
      timestamp: ctx.timing.start / 1000,
      type: 'default',
      category: 'llm-onion.llm_call',
      level: 'info',
      message: `${ctx.type} ${ctx.request.model}`,
      data: { call_id: ctx.id, model: ctx.request.model, type: ctx.type, streaming: ctx.streaming, ...(ctx.user ? { user: ctx.user } : {}) },
    }
    if (client) client.addBreadcrumb(breadcrumb)
    else ctx.setSlot(breadcrumbsKey, [...(ctx.slot<SentryBreadcrumb[]>(breadcrumbsKey) ?? []), breadcrumb])
  }

  const eventOptions = { redact: settings.redact }
  const reporterFor = sink ? backgroundReporter('sentry', sink) : undefined

  function capture(ctx: Context, error: unknown): void {
    if (statusOf(ctx) === 'cancelled' || random() >= sampleRate) return
    const redacted = settings.redact?.messages ?? ctx.services.redact.messages ?? false
    const event = ctx.toEvent(eventOptions)
    if (client) {
      const tags = tagsOf(event)
      const llm = llmContext(event, !redacted)
      for (const breadcrumb of attemptBreadcrumbs(event)) client.addBreadcrumb(breadcrumb)
      client.captureException(error, { level: 'error', tags, contexts: { llm }, ...(event.user === undefined ? {} : { user: { id: event.user } }) })
      return
    }
    // The envelope is built and serialised in the background; the call hands over what it needs.
    const failure: CapturedFailure = { event, error, breadcrumbs: ctx.slot<SentryBreadcrumb[]>(breadcrumbsKey) ?? [], withMessages: !redacted }
    ctx.services.queue.enqueueMapped(sink!, failure, toEnvelope, reporterFor!(ctx.services))
  }

  function toEnvelope({ event, error, breadcrumbs, withMessages }: CapturedFailure): string {
    const user = event.user === undefined ? undefined : { id: event.user }
    const sentryEvent: SentryEvent = {
      event_id: sentryEventId(),
      timestamp: event.endTime / 1000,
      platform: 'node',
      level: 'error',
      logger: 'llm-onion',
      environment,
      ...(release ? { release } : {}),
      exception: {
        values: [
          {
            type: event.error?.type ?? 'Error',
            value: event.error?.message ?? String(error),
            stacktrace: { frames: parseStackFrames(event.error?.stack) },
            mechanism: { type: 'llm-onion', handled: true },
          },
        ],
      },
      breadcrumbs: { values: [...breadcrumbs, ...attemptBreadcrumbs(event)] },
      tags: tagsOf(event),
      contexts: { llm: llmContext(event, withMessages) },
      ...(user ? { user } : {}),
      sdk: sentrySdk,
    }
    return buildEnvelope(sentryEvent)
  }

  // Cancelled calls are not errors: capture() leaves them out.
  return defineObservingLayer({ name: 'sentry', moments, input: addBreadcrumb, failure: (ctx, _state, error) => capture(ctx, error) })
}

function readRate(env: Record<string, string | undefined>, variable: string): number | undefined {
  const text = readSetting(undefined, variable, env)
  if (text === undefined) return undefined
  const value = Number(text)
  if (!Number.isFinite(value) || value < 0 || value > 1) {
    throw new ValidationError(`sentry(): ${variable} must be a number from 0 to 1 (found ${JSON.stringify(text)}); 1 sends every failure, 0.25 a quarter of them.`, [
      { path: variable, message: 'not a number from 0 to 1' },
    ])
  }
  return value
}

function tagsOf(event: CallEvent): Record<string, string> {
  const tags: Record<string, string> = { model: event.model, status: event.status }
  if (event.provider) tags.provider = event.provider
  if (event.error?.status !== undefined) tags.status_code = String(event.error.status)
  return tags
}

/** The `llm` context: what a reader of the issue needs about the call. */
function llmContext(event: CallEvent, withMessages: boolean): Record<string, unknown> {
  return {
    call_id: event.id,
    trace_id: event.traceId,
    type: event.type,
    model: event.model,
    ...(event.responseModel ? { response_model: event.responseModel } : {}),
    provider: event.provider,
    api_base: event.apiBase,
    streaming: event.streaming,
    latency_ms: event.latencyMs,
    ...(event.ttftMs === undefined ? {} : { ttft_ms: event.ttftMs }),
    ...(event.usage ? { usage: event.usage } : {}),
    ...(event.cost ? { cost_usd: event.cost.total } : {}),
    attempts: event.attempts.length,
    ...(event.error?.status === undefined ? {} : { status_code: event.error.status }),
    ...(Object.keys(event.metadata).length > 0 ? { metadata: event.metadata } : {}),
    ...(withMessages && event.messages ? { messages: event.messages } : {}),
  }
}

/** One breadcrumb per attempt that failed before the last, so a retried failure shows its history. */
function attemptBreadcrumbs(event: CallEvent): SentryBreadcrumb[] {
  if (event.attempts.length < 2) return []
  return event.attempts.slice(0, -1).map((attempt) => ({
    timestamp: (attempt.end ?? attempt.start) / 1000,
    type: 'default',
    category: 'llm-onion.attempt',
    level: 'warning',
    message: `attempt ${attempt.attempt} (${attempt.model}) ${attempt.status}${attempt.error ? `: ${attempt.error.type}: ${attempt.error.message}` : ''}`,
  }))
}
