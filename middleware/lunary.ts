/**
 * Lunary: a `start` event and an `end` (or `error`) event per call, batched to
 * `POST {url}/v1/runs/ingest`.
 */
import { z } from 'zod'
import type { CallEvent } from '../src/event'
import { defineExporter } from '../src/integrations/exporter'
import { httpSink } from '../src/delivery/http-sink'
import { integrationOptionsSchema, readBaseUrl, requireSetting } from '../src/integrations/options'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { defineIntegration } from '../src/integrations/descriptor'
import { lazySchema } from '../src/lazy-schema'
import { isoTime } from '../src/iso-time'

const lunaryOptionsSchema = lazySchema(() =>
  integrationOptionsSchema
    .extend({
      publicKey: z.string().min(1).optional(),
      timeoutMs: z.number().int().positive().optional(),
    })
    .strict(),
)

/**
 * Options of {@link lunary}, besides the common ones (`moments`, `redact`, `baseUrl`, `env`).
 * - `publicKey`: the project's public key, default `LUNARY_PUBLIC_KEY` (required).
 * - `baseUrl`: default `LUNARY_API_URL`, else `https://api.lunary.ai`.
 * - `moments`: default `['success', 'failure']`.
 * - `timeoutMs`: per-request time limit, default 10,000.
 */
export type LunaryOptions = z.input<typeof lunaryOptionsSchema>

/** One event of Lunary's ingest API. */
export interface LunaryEvent {
  type: 'llm' | 'embed'
  event: 'start' | 'end' | 'error'
  runId: string
  timestamp: string
  runtime: string
  [field: string]: unknown
}

/**
 * lunary() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * lunaryIntegration.factory({ moments: ['failure'] }) // what callbacks({ failure: ['lunary'] }) builds
 * ```
 */
export const lunaryIntegration = defineIntegration({
  name: 'lunary',
  aliases: ['llmonitor'],
  switchedOnBy: [['LUNARY_PUBLIC_KEY']],
  position: 'exporters',
  takesEnv: true,
  factory: lunary,
})

/**
 * Sends every call to Lunary as a run: a `start` event (model, user, input, parameters, metadata,
 * tags) then an `end` event (output, token usage) or an `error` event, with the call id as `runId`.
 * `metadata.parent_run_id` nests the run under another.
 *
 * @example
 * ```ts
 * // LUNARY_PUBLIC_KEY=... in the environment; LUNARY_API_URL for a self-hosted Lunary
 * client.use(lunary())
 * ```
 */
export function lunary(options: LunaryOptions = {}): Middleware {
  const settings = validate(lunaryOptionsSchema, options, 'lunary() options')
  const env = settings.env ?? process.env
  const publicKey = requireSetting({ integration: 'lunary', option: 'publicKey', variable: 'LUNARY_PUBLIC_KEY' }, settings.publicKey, env)
  const base = readBaseUrl('lunary', settings.baseUrl, 'LUNARY_API_URL', 'https://api.lunary.ai', env)
  return defineExporter<LunaryEvent>({
    name: 'lunary',
    moments: settings.moments,
    redact: settings.redact,
    sink: httpSink({
      name: 'lunary',
      url: `${base}/v1/runs/ingest`,
      headers: { authorization: `Bearer ${publicKey}` },
      encode: (events) => ({ events }),
      timeoutMs: settings.timeoutMs,
    }),
    toItems: toLunaryEvents,
  })
}

/** Maps the standard event to Lunary's `start` + `end`/`error` pair. */
export function toLunaryEvents(event: CallEvent): LunaryEvent[] {
  const type = event.type === 'chat' ? 'llm' : 'embed'
  const parentRunId = event.metadata.parent_run_id
  const start: LunaryEvent = {
    type,
    event: 'start',
    runId: event.id,
    timestamp: isoTime(event.startTime),
    runtime: 'llm-onion',
    name: event.responseModel ?? event.model,
    input: event.type === 'chat' ? event.messages : event.input,
    params: event.parameters,
    metadata: event.metadata,
    tags: event.tags,
  }
  if (event.user !== undefined) start.userId = event.user
  if (typeof parentRunId === 'string') start.parentRunId = parentRunId
  const finish: LunaryEvent = { type, event: event.error ? 'error' : 'end', runId: event.id, timestamp: isoTime(event.endTime), runtime: 'llm-onion' }
  if (event.error) {
    finish.error = { message: `${event.error.type}: ${event.error.message}`, stack: event.error.stack }
  } else {
    const choices = (event.response?.choices as Array<{ message?: unknown }> | undefined) ?? []
    finish.output = choices.length === 1 ? choices[0]!.message : choices.map((choice) => choice.message)
    finish.tokensUsage = { prompt: event.usage?.inputTokens ?? 0, completion: event.usage?.outputTokens ?? 0 }
  }
  return [start, finish]
}
