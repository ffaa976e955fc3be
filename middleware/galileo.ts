/**
 * Galileo Observe: every successful completion as a record, batched to Galileo the way LiteLLM's
 * `GalileoObserve` logger (litellm/integrations/galileo.py) sends it, in one of its two flows:
 * - hosted Galileo (`GALILEO_API_KEY`): `POST {base}/v2/projects/{project}/spans`, header
 *   `Galileo-API-Key`, body `{ spans, reliable: false, log_stream_id? }`;
 * - a self-hosted Observe cluster (`GALILEO_USERNAME` + `GALILEO_PASSWORD`): a bearer token from
 *   `POST {base}/login`, then `POST {base}/projects/{project}/observe/ingest`, body `{ records }`.
 */
import { z } from 'zod'
import type { CallEvent } from '../src/event'
import { ValidationError } from '../src/errors'
import { defineExporter } from '../src/integrations/exporter'
import { httpSink } from '../src/delivery/http-sink'
import { integrationOptionsSchema, readBaseUrl, readSetting, requireSetting, type Environment } from '../src/integrations/options'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { lazySchema } from '../src/lazy-schema'
import { defineIntegration } from '../src/integrations/descriptor'
import { isoTime } from '../src/iso-time'
import { textOfContent } from '../src/integrations/otel/messages'
import { galileoAuthorization } from './galileo-login'

/** Hosted Galileo's API, LiteLLM's default when an API key is set. */
const galileoCloudUrl = 'https://api.galileo.ai'

const galileoOptionsSchema = lazySchema(() =>
  integrationOptionsSchema
    .extend({
      projectId: z.string().min(1).optional(),
      apiKey: z.string().min(1).optional(),
      logStreamId: z.string().min(1).optional(),
      username: z.string().min(1).optional(),
      password: z.string().min(1).optional(),
      maxBatchSize: z.number().int().min(1).max(1000).optional(),
      timeoutMs: z.number().int().positive().optional(),
    })
    .strict(),
)

/**
 * Options of {@link galileo}, besides the common ones (`moments`, `redact`, `baseUrl`, `env`).
 * - `projectId`: default `GALILEO_PROJECT_ID` (required).
 * - `apiKey`: hosted Galileo's key, default `GALILEO_API_KEY`; when set, the spans API is used.
 * - `logStreamId`: the log stream spans go to, default `GALILEO_LOG_STREAM_ID` (none: Galileo's default stream).
 * - `username`, `password`: a self-hosted cluster's login, default `GALILEO_USERNAME`, `GALILEO_PASSWORD`
 *   (required, with `baseUrl`, when there is no API key).
 * - `baseUrl`: default `GALILEO_BASE_URL`, else `https://api.galileo.ai` with an API key (required for a login).
 * - `moments`: default `['success']` (LiteLLM logs successes only; failures and embeddings send nothing).
 * - `maxBatchSize`: records per request, default 100; `timeoutMs`: per request and per login, default 10,000.
 */
export type GalileoOptions = z.input<typeof galileoOptionsSchema>

/** One record of Galileo Observe's ingest API, with the fields LiteLLM's `LLMResponse` sends. */
export interface GalileoRecord {
  latency_ms: number
  status_code: number
  input_text: string
  output_text: string
  node_type: string
  model: string
  num_input_tokens: number
  num_output_tokens: number
  output_logprobs: Record<string, unknown> | null
  /** The start of the call, UTC, `YYYY-MM-DDTHH:MM:SS`. */
  created_at: string
  tags: string[] | null
  user_metadata: Record<string, unknown> | null
  /** The prompt's messages, as LiteLLM adds them to the record. */
  messages?: Array<Record<string, unknown>>
}

/** One LLM span of Galileo's v2 spans API, built from a record as LiteLLM builds it. */
export interface GalileoSpan {
  type: 'llm'
  name: string
  created_at: string
  input: Array<{ role: string; content: string }>
  output: { role: 'assistant'; content: string }
  status_code: number
  model: string
  metrics: { duration_ns: number; num_input_tokens: number; num_output_tokens: number }
  tags?: string[]
}

/**
 * galileo() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * galileoIntegration.factory({ moments: ['success'] }) // what callbacks({ success: ['galileo'] }) builds
 * ```
 */
export const galileoIntegration = defineIntegration({
  name: 'galileo',
  aliases: [],
  switchedOnBy: [
    ['GALILEO_PROJECT_ID', 'GALILEO_API_KEY'],
    ['GALILEO_PROJECT_ID', 'GALILEO_USERNAME', 'GALILEO_PASSWORD', 'GALILEO_BASE_URL'],
  ],
  position: 'exporters',
  takesEnv: true,
  factory: galileo,
})

/**
 * Logs every successful completion to Galileo Observe: its prompt and reply, model, tokens, latency
 * and start time. With `GALILEO_API_KEY` it uses hosted Galileo's spans API; with
 * `GALILEO_USERNAME` and `GALILEO_PASSWORD` it logs in to a self-hosted cluster (`GALILEO_BASE_URL`)
 * for a token, fetched in the background before the first batch and again before it expires.
 *
 * @example
 * ```ts
 * // GALILEO_PROJECT_ID and GALILEO_API_KEY in the environment
 * client.use(galileo())
 * // a self-hosted cluster
 * client.use(galileo({ baseUrl: 'https://api.galileo.example.com', username: 'me@example.com', password: '...', projectId: '...' }))
 * ```
 */
export function galileo(options: GalileoOptions = {}): Middleware {
  const settings = validate(galileoOptionsSchema, options, 'galileo() options')
  const env = settings.env ?? process.env
  const projectId = requireSetting({ integration: 'galileo', option: 'projectId', variable: 'GALILEO_PROJECT_ID' }, settings.projectId, env)
  const apiKey = readSetting(settings.apiKey, 'GALILEO_API_KEY', env)
  const timeoutMs = settings.timeoutMs ?? 10_000
  const common = { name: 'galileo', maxBatchSize: settings.maxBatchSize ?? 100, timeoutMs }
  const project = encodeURIComponent(projectId)
  const exporter = { name: 'galileo', moments: settings.moments ?? ['success' as const], redact: settings.redact }

  if (apiKey !== undefined) {
    const base = readBaseUrl('galileo', settings.baseUrl, 'GALILEO_BASE_URL', galileoCloudUrl, env)
    const logStreamId = readSetting(settings.logStreamId, 'GALILEO_LOG_STREAM_ID', env)
    return defineExporter<GalileoSpan>({
      ...exporter,
      sink: httpSink({
        ...common,
        url: `${base}/v2/projects/${project}/spans`,
        headers: { accept: 'application/json', 'galileo-api-key': apiKey },
        encode: (spans) => (logStreamId === undefined ? { spans, reliable: false } : { spans, reliable: false, log_stream_id: logStreamId }),
      }),
      toItems: (event) => {
        const record = toGalileoRecord(event)
        return record === undefined ? undefined : toGalileoSpan(record)
      },
    })
  }

  const base = loginBaseUrl(settings.baseUrl, env)
  const username = requireLogin('username', 'GALILEO_USERNAME', settings.username, env)
  const password = requireLogin('password', 'GALILEO_PASSWORD', settings.password, env)
  return defineExporter<GalileoRecord>({
    ...exporter,
    sink: httpSink({
      ...common,
      url: `${base}/projects/${project}/observe/ingest`,
      headers: { accept: 'application/json' },
      encode: (records) => ({ records }),
      headersFor: galileoAuthorization({ url: `${base}/login`, username, password }, timeoutMs),
    }),
    toItems: toGalileoRecord,
  })
}

/** A self-hosted cluster's URL: no public default, so its absence fails naming the variable. */
function loginBaseUrl(value: string | undefined, env: Environment): string {
  if (readSetting(value, 'GALILEO_BASE_URL', env) === undefined) {
    throw new ValidationError(
      "galileo() needs GALILEO_BASE_URL to log in with GALILEO_USERNAME and GALILEO_PASSWORD (your cluster's API URL, such as https://api.galileo.example.com); " +
        "set it or pass { baseUrl: '...' }, or use hosted Galileo with GALILEO_API_KEY.",
      [{ path: 'baseUrl', message: 'missing; set GALILEO_BASE_URL' }],
    )
  }
  return readBaseUrl('galileo', value, 'GALILEO_BASE_URL', galileoCloudUrl, env)
}

/** A login setting, failing with a message that names both ways to configure galileo(). */
function requireLogin(option: 'username' | 'password', variable: string, value: string | undefined, env: Environment): string {
  const found = readSetting(value, variable, env)
  if (found !== undefined) return found
  throw new ValidationError(
    `galileo() needs GALILEO_API_KEY (hosted Galileo), or GALILEO_USERNAME and GALILEO_PASSWORD (a self-hosted cluster): ${variable} is missing; ` +
      `set it in the environment or pass { ${option}: '...' } to galileo().`,
    [{ path: option, message: `missing; set ${variable} or GALILEO_API_KEY` }],
  )
}

/**
 * Maps the standard event to a Galileo Observe record as LiteLLM fills it: the prompt's text (the
 * messages' text contents, concatenated), the reply's text, `node_type` LiteLLM's call type,
 * `status_code` 200. Only successful completions have a record: LiteLLM logs no failure, and no
 * embedding (it has no output text).
 *
 * @example
 * ```ts
 * toGalileoRecord(event) // { latency_ms: 412, status_code: 200, input_text: 'What is...', output_text: 'Paris...', node_type: 'acompletion', ... }
 * ```
 */
export function toGalileoRecord(event: CallEvent): GalileoRecord | undefined {
  if (event.status !== 'success' || event.type !== 'chat') return undefined
  const messages = event.messages ?? []
  const record: GalileoRecord = {
    latency_ms: Math.trunc(event.latencyMs),
    status_code: 200,
    input_text: messages.map((message) => textOfContent(message.content, '')).join(''),
    output_text: replyText(event.response),
    node_type: 'acompletion',
    model: event.model,
    num_input_tokens: event.usage?.inputTokens ?? 0,
    num_output_tokens: event.usage?.outputTokens ?? 0,
    output_logprobs: null,
    created_at: isoTime(event.startTime).slice(0, 19),
    tags: event.tags.length > 0 ? [...event.tags] : null,
    user_metadata: null,
  }
  if (messages.length > 0) record.messages = messages
  return record
}

/**
 * A record as an LLM span of Galileo's v2 API, as LiteLLM converts it: the messages with their text
 * (a user message of `input_text` when there are none), the reply as the assistant's message, the
 * latency in nanoseconds, `created_at` in UTC with its `Z`.
 *
 * @example
 * ```ts
 * toGalileoSpan(toGalileoRecord(event)!).metrics // { duration_ns: 412000000, num_input_tokens: 14, num_output_tokens: 4 }
 * ```
 */
export function toGalileoSpan(record: GalileoRecord): GalileoSpan {
  const input = (record.messages ?? [])
    .filter((message) => typeof message.role === 'string' && message.role !== '')
    .map((message) => ({ role: message.role as string, content: textOfContent(message.content, '') }))
  const span: GalileoSpan = {
    type: 'llm',
    name: record.node_type,
    created_at: `${record.created_at}Z`,
    input: input.length > 0 ? input : [{ role: 'user', content: record.input_text }],
    output: { role: 'assistant', content: record.output_text },
    status_code: record.status_code,
    model: record.model,
    metrics: { duration_ns: record.latency_ms * 1_000_000, num_input_tokens: record.num_input_tokens, num_output_tokens: record.num_output_tokens },
  }
  if (record.tags) span.tags = record.tags
  return span
}


/** The reply's text: every choice's message content, concatenated (LiteLLM's get_content_from_model_response). */
function replyText(response: CallEvent['response']): string {
  const choices = (response?.choices as Array<{ message?: { content?: unknown } }> | undefined) ?? []
  return choices.map((choice) => textOfContent(choice.message?.content, '')).join('')
}
