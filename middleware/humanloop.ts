/**
 * Humanloop logging: every chat call as a Prompt Log, `POST {base}/prompts/log` with the `X-API-KEY`
 * header, in the shape of Humanloop's `PromptLogRequest` (humanloop-node
 * src/serialization/resources/prompts/client/requests/PromptLogRequest.ts). LiteLLM's `humanloop`
 * callback only fetches prompt templates (prompt management, litellm/integrations/humanloop.py) and
 * logs nothing; this layer logs each completion the way Humanloop's API offers.
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

const humanloopOptionsSchema = lazySchema(() =>
  integrationOptionsSchema
    .extend({
      apiKey: z.string().min(1).optional(),
      path: z.string().min(1).optional(),
      timeoutMs: z.number().int().positive().optional(),
    })
    .strict(),
)

/**
 * Options of {@link humanloop}, besides the common ones (`moments`, `redact`, `baseUrl`, `env`).
 * - `apiKey`: default `HUMANLOOP_API_KEY` (required).
 * - `baseUrl`: default `HUMANLOOP_BASE_URL`, else `https://api.humanloop.com/v5`.
 * - `path`: the Prompt (its path in Humanloop's file tree) calls are logged to, default `llm-onion`;
 *   a call's `metadata.humanloop_prompt_path` wins, and a call's `metadata.prompt_id` logs to that
 *   Prompt by id instead (LiteLLM's name for a Humanloop prompt).
 * - `moments`: default `['success', 'failure']` (a failure is logged with its `error`).
 * - `timeoutMs`: per-request time limit, default 10,000.
 */
export type HumanloopOptions = z.input<typeof humanloopOptionsSchema>

type ChatMessage = Record<string, unknown>

/** One Prompt Log, as Humanloop's `POST /prompts/log` takes it (snake_case on the wire). */
export interface HumanloopLog {
  path?: string
  id?: string
  prompt: { model: string; endpoint: 'chat' } & Record<string, unknown>
  messages: ChatMessage[]
  output_message?: ChatMessage
  output?: string
  error?: string
  prompt_tokens?: number
  output_tokens?: number
  reasoning_tokens?: number
  prompt_cost?: number
  output_cost?: number
  finish_reason?: string
  start_time: string
  end_time: string
  created_at: string
  /** Seconds. */
  provider_latency: number
  user?: string
  source: 'llm-onion'
  metadata: Record<string, unknown>
}

/** The request parameters a Humanloop Prompt version holds as OpenAI names them (its `PromptKernelRequest`). */
const kernelParameters = ['temperature', 'max_tokens', 'top_p', 'stop', 'presence_penalty', 'frequency_penalty', 'seed', 'response_format'] as const

/**
 * humanloop() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * humanloopIntegration.factory({ moments: ['success'] }) // what callbacks({ success: ['humanloop'] }) builds
 * ```
 */
export const humanloopIntegration = defineIntegration({
  name: 'humanloop',
  aliases: [],
  switchedOnBy: [['HUMANLOOP_API_KEY']],
  position: 'exporters',
  takesEnv: true,
  factory: humanloop,
})

/**
 * Logs every chat call to a Humanloop Prompt: the model and parameters (Humanloop makes a Prompt
 * version of them), the messages, the reply or the error, tokens, cost and timing, the user and the
 * call's metadata. Embedding calls are not sent (a Prompt Log is a completion).
 *
 * @example
 * ```ts
 * // HUMANLOOP_API_KEY=hl_sk_... in the environment
 * client.use(humanloop({ path: 'support/answer' }))
 * ```
 */
export function humanloop(options: HumanloopOptions = {}): Middleware {
  const settings = validate(humanloopOptionsSchema, options, 'humanloop() options')
  const env = settings.env ?? process.env
  const apiKey = requireSetting({ integration: 'humanloop', option: 'apiKey', variable: 'HUMANLOOP_API_KEY' }, settings.apiKey, env)
  const base = readBaseUrl('humanloop', settings.baseUrl, 'HUMANLOOP_BASE_URL', 'https://api.humanloop.com/v5', env)
  const path = settings.path ?? 'llm-onion'
  return defineExporter<HumanloopLog>({
    name: 'humanloop',
    moments: settings.moments,
    redact: settings.redact,
    sink: httpSink({
      name: 'humanloop',
      url: `${base}/prompts/log`,
      headers: { 'x-api-key': apiKey },
      // Humanloop's log endpoint takes one log per request.
      maxBatchSize: 1,
      encode: (logs) => logs[0],
      timeoutMs: settings.timeoutMs,
    }),
    toItems: (event) => toHumanloopLog(event, path),
  })
}

/**
 * Maps a chat call's event to a Humanloop Prompt Log (undefined for an embedding call). The call id
 * and trace id go in the metadata, so a log can be found from llm-onion's records.
 *
 * @example
 * ```ts
 * toHumanloopLog(event, 'support/answer')?.prompt // { model: 'gpt-4o-mini', endpoint: 'chat', temperature: 0 }
 * ```
 */
export function toHumanloopLog(event: CallEvent, path: string): HumanloopLog | undefined {
  if (event.type !== 'chat') return undefined
  const { humanloop_prompt_path: callPath, prompt_id: promptId, ...metadata } = event.metadata
  const prompt: HumanloopLog['prompt'] = { model: event.responseModel ?? event.model, endpoint: 'chat' }
  for (const name of kernelParameters) if (event.parameters[name] !== undefined) prompt[name] = event.parameters[name]
  const tools = kernelTools(event.parameters.tools)
  if (tools.length > 0) prompt.tools = tools
  const endTime = isoTime(event.endTime)
  const log: HumanloopLog = {
    ...(typeof promptId === 'string' ? { id: promptId } : { path: typeof callPath === 'string' ? callPath : path }),
    prompt,
    messages: event.messages ?? [],
    start_time: isoTime(event.startTime),
    end_time: endTime,
    created_at: endTime,
    provider_latency: event.latencyMs / 1000,
    source: 'llm-onion',
    metadata: { ...metadata, call_id: event.id, trace_id: event.traceId, provider: event.provider ?? 'unknown', streaming: event.streaming },
  }
  if (event.user !== undefined) log.user = event.user
  const choice = (event.response?.choices as Array<{ message?: ChatMessage; finish_reason?: string }> | undefined)?.[0]
  if (choice?.message) {
    log.output_message = choice.message
    if (typeof choice.message.content === 'string') log.output = choice.message.content
  }
  if (choice?.finish_reason) log.finish_reason = choice.finish_reason
  if (event.error) log.error = `${event.error.type}${event.error.status ? ` (${event.error.status})` : ''}: ${event.error.message}`
  if (event.usage) {
    log.prompt_tokens = event.usage.inputTokens
    log.output_tokens = event.usage.outputTokens
    if (event.usage.reasoningTokens !== undefined) log.reasoning_tokens = event.usage.reasoningTokens
  }
  if (event.cost) {
    log.prompt_cost = event.cost.input
    log.output_cost = event.cost.output
  }
  return log
}

/** OpenAI's `{ type: 'function', function: { name, description, parameters } }` tools as Humanloop's tool functions. */
function kernelTools(tools: unknown): Array<Record<string, unknown>> {
  if (!Array.isArray(tools)) return []
  return tools.flatMap((tool: { type?: unknown; function?: unknown }) => (tool?.type === 'function' && typeof tool.function === 'object' && tool.function !== null ? [tool.function as Record<string, unknown>] : []))
}
