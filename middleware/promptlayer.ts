/**
 * PromptLayer request logging: every successful chat call as one `POST {base}/rest/track-request`,
 * the endpoint LiteLLM's `promptlayer` callback posts to (litellm/integrations/prompt_layer.py): the
 * request as OpenAI's chat completion `kwargs`, the OpenAI-shaped reply, the times, `pl_tags` and the
 * call's metadata. PromptLayer's track-request endpoint takes the key in the body (`api_key`).
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

const promptlayerOptionsSchema = lazySchema(() =>
  integrationOptionsSchema
    .extend({
      apiKey: z.string().min(1).optional(),
      tags: z.array(z.string().min(1)).optional(),
      timeoutMs: z.number().int().positive().optional(),
    })
    .strict(),
)

/**
 * Options of {@link promptlayer}, besides the common ones (`moments`, `redact`, `baseUrl`, `env`).
 * - `apiKey`: default `PROMPTLAYER_API_KEY` (required).
 * - `baseUrl`: default `URL_API_PROMPTLAYER` (the PromptLayer SDKs' variable), else `https://api.promptlayer.com`.
 * - `tags`: tags on every request, default none; a call's `metadata.pl_tags` adds its own.
 * - `moments`: default `['success']` (LiteLLM logs successes to PromptLayer).
 * - `timeoutMs`: per-request time limit, default 10,000.
 */
export type PromptlayerOptions = z.input<typeof promptlayerOptionsSchema>

/** One tracked request, as PromptLayer's `POST /rest/track-request` takes it (without `api_key`, added when sent). */
export interface PromptlayerRequest {
  function_name: 'openai.ChatCompletion.create'
  provider_type: 'openai'
  args: []
  kwargs: Record<string, unknown>
  tags: string[]
  request_response: Record<string, unknown>
  /** Unix seconds, with milliseconds. */
  request_start_time: number
  request_end_time: number
  metadata: Record<string, string>
}

/**
 * promptlayer() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * promptlayerIntegration.factory({ moments: ['success'] }) // what callbacks({ success: ['promptlayer'] }) builds
 * ```
 */
export const promptlayerIntegration = defineIntegration({
  name: 'promptlayer',
  aliases: [],
  switchedOnBy: [['PROMPTLAYER_API_KEY']],
  position: 'exporters',
  takesEnv: true,
  factory: promptlayer,
})

/**
 * Logs every successful chat call to PromptLayer's request history: the model, the prompt and the
 * parameters, the reply with its usage, the times, the tags and the metadata. Embedding calls are
 * not sent (PromptLayer's request log is for completions).
 *
 * @example
 * ```ts
 * // PROMPTLAYER_API_KEY=pl_... in the environment
 * client.use(promptlayer({ tags: ['checkout'] }))
 * await client.chat({ model, messages, metadata: { pl_tags: ['beta'], team: 'search' } })
 * ```
 */
export function promptlayer(options: PromptlayerOptions = {}): Middleware {
  const settings = validate(promptlayerOptionsSchema, options, 'promptlayer() options')
  const env = settings.env ?? process.env
  const apiKey = requireSetting({ integration: 'promptlayer', option: 'apiKey', variable: 'PROMPTLAYER_API_KEY' }, settings.apiKey, env)
  const base = readBaseUrl('promptlayer', settings.baseUrl, 'URL_API_PROMPTLAYER', 'https://api.promptlayer.com', env)
  const tags = settings.tags ?? []
  return defineExporter<PromptlayerRequest>({
    name: 'promptlayer',
    moments: settings.moments ?? ['success'],
    redact: settings.redact,
    sink: httpSink({
      name: 'promptlayer',
      url: `${base}/rest/track-request`,
      // Track-request reads the key from the body; the header is what PromptLayer's newer endpoints read.
      headers: { 'x-api-key': apiKey },
      // One request per call: track-request takes one.
      maxBatchSize: 1,
      // The key joins the body only here, so it is never in a queued item (nor in a spool on disk).
      encode: (requests) => ({ ...requests[0], api_key: apiKey }),
      timeoutMs: settings.timeoutMs,
    }),
    toItems: (event) => toPromptlayerRequest(event, tags),
  })
}

/**
 * Maps a chat call's event to a PromptLayer tracked request (undefined for an embedding call).
 * `metadata.pl_tags` become tags and leave the metadata; other metadata values are sent as strings,
 * which is what PromptLayer's metadata holds.
 *
 * @example
 * ```ts
 * toPromptlayerRequest(event, ['checkout'])?.kwargs // { model: 'gpt-4o-mini', messages: [...], temperature: 0 }
 * ```
 */
export function toPromptlayerRequest(event: CallEvent, tags: readonly string[]): PromptlayerRequest | undefined {
  if (event.type !== 'chat') return undefined
  const { pl_tags: callTags, ...rest } = event.metadata
  const metadata: Record<string, string> = {}
  for (const [key, value] of Object.entries(rest)) {
    if (value === undefined || value === null) continue
    metadata[key] = typeof value === 'string' ? value : JSON.stringify(value)
  }
  if (event.user !== undefined) metadata.user = event.user
  return {
    function_name: 'openai.ChatCompletion.create',
    provider_type: 'openai',
    args: [],
    kwargs: { model: event.model, messages: event.messages ?? [], ...event.parameters, ...(event.streaming ? { stream: true } : {}) },
    tags: [...tags, ...event.tags, ...(Array.isArray(callTags) ? callTags.filter((tag): tag is string => typeof tag === 'string') : [])],
    request_response: event.response ?? {},
    request_start_time: event.startTime / 1000,
    request_end_time: event.endTime / 1000,
    metadata,
  }
}
