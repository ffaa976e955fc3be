/**
 * LangSmith: every finished call as an `llm` run, batched to `POST {base}/runs/batch` as
 * `{ post: [run, ...] }` with the `x-api-key` header, the way LiteLLM's `langsmith` callback sends them.
 */
import { z } from 'zod'
import type { CallEvent } from '../src/event'
import { defineExporter } from '../src/integrations/exporter'
import { httpSink } from '../src/delivery/http-sink'
import { integrationOptionsSchema, readBaseUrl, readSetting, requireSetting } from '../src/integrations/options'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { lazySchema } from '../src/lazy-schema'
import { defineIntegration } from '../src/integrations/descriptor'
import { isoTime } from '../src/iso-time'

const langsmithOptionsSchema = lazySchema(() =>
  integrationOptionsSchema
    .extend({
      apiKey: z.string().min(1).optional(),
      project: z.string().min(1).optional(),
      runName: z.string().min(1).optional(),
      maxBatchSize: z.number().int().min(1).max(1000).optional(),
      timeoutMs: z.number().int().positive().optional(),
    })
    .strict(),
)

/**
 * Options of {@link langsmith}, besides the common ones (`moments`, `redact`, `baseUrl`, `env`).
 * - `apiKey`: default `LANGSMITH_API_KEY`, else `LANGCHAIN_API_KEY` (required).
 * - `baseUrl`: default `LANGSMITH_BASE_URL`, else `https://api.smith.langchain.com`.
 * - `project`: the project (session) runs go to, default `LANGSMITH_PROJECT`, else `litellm-completion`
 *   (LiteLLM's default); a call's `metadata.project_name` wins.
 * - `runName`: default `LANGSMITH_DEFAULT_RUN_NAME`, else `LLMRun`; a call's `metadata.run_name` wins.
 * - `maxBatchSize`: runs per request, default 100.
 * - `timeoutMs`: per-request time limit, default 10,000.
 */
export type LangsmithOptions = z.input<typeof langsmithOptionsSchema>

/** One run of LangSmith's `POST /runs/batch`, as its `post` list takes it. */
export interface LangsmithRun {
  id: string
  trace_id: string
  dotted_order: string
  name: string
  run_type: 'llm' | 'embedding'
  start_time: string
  end_time: string
  inputs: Record<string, unknown>
  outputs?: Record<string, unknown>
  error?: string
  session_name: string
  tags: string[]
  extra: { metadata: Record<string, unknown>; invocation_params: Record<string, unknown> }
}

/**
 * langsmith() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * langsmithIntegration.factory({ moments: ['failure'] }) // what callbacks({ failure: ['langsmith'] }) builds
 * ```
 */
export const langsmithIntegration = defineIntegration({
  name: 'langsmith',
  aliases: [],
  switchedOnBy: [['LANGSMITH_API_KEY']],
  position: 'exporters',
  takesEnv: true,
  factory: langsmith,
})

/**
 * Logs every call to LangSmith (or a self-hosted LangSmith) as an `llm` run: the prompt, the reply
 * with its token usage, the error, the timing, the parameters and the call's metadata, batched.
 *
 * @example
 * ```ts
 * // LANGSMITH_API_KEY=lsv2_... and LANGSMITH_PROJECT=my-app in the environment
 * client.use(langsmith())
 * ```
 */
export function langsmith(options: LangsmithOptions = {}): Middleware {
  const settings = validate(langsmithOptionsSchema, options, 'langsmith() options')
  const env = settings.env ?? process.env
  // LangSmith's own SDKs also read the older LANGCHAIN_API_KEY; LiteLLM reads LANGSMITH_API_KEY.
  const apiKey =
    readSetting(settings.apiKey, 'LANGSMITH_API_KEY', env) ??
    requireSetting({ integration: 'langsmith', option: 'apiKey', variable: 'LANGCHAIN_API_KEY' }, undefined, env)
  const base = readBaseUrl('langsmith', settings.baseUrl, 'LANGSMITH_BASE_URL', 'https://api.smith.langchain.com', env)
  const defaults = {
    project: readSetting(settings.project, 'LANGSMITH_PROJECT', env) ?? 'litellm-completion',
    runName: readSetting(settings.runName, 'LANGSMITH_DEFAULT_RUN_NAME', env) ?? 'LLMRun',
  }
  return defineExporter<LangsmithRun>({
    name: 'langsmith',
    moments: settings.moments,
    redact: settings.redact,
    sink: httpSink({
      name: 'langsmith',
      url: `${base}/runs/batch`,
      headers: { 'x-api-key': apiKey },
      maxBatchSize: settings.maxBatchSize ?? 100,
      encode: (runs) => ({ post: runs }),
      timeoutMs: settings.timeoutMs,
    }),
    toItems: (event) => toLangsmithRun(event, defaults),
  })
}

/**
 * Maps the standard event to a LangSmith run. Each call is the root of its own LangSmith trace (its
 * parent is not sent to LangSmith, and a run whose parent never arrives is rejected); the llm-onion
 * trace id goes in the metadata as `trace_id`, so the calls of one trace can still be found together.
 */
export function toLangsmithRun(event: CallEvent, defaults: { project: string; runName: string }): LangsmithRun {
  const { project_name: projectName, run_name: runName, ...metadata } = event.metadata
  const startTime = isoTime(event.startTime)
  const run: LangsmithRun = {
    id: event.id,
    trace_id: event.id,
    dotted_order: `${dottedStamp(startTime)}${event.id}`,
    name: typeof runName === 'string' ? runName : defaults.runName,
    run_type: event.type === 'embedding' ? 'embedding' : 'llm',
    start_time: startTime,
    end_time: isoTime(event.endTime),
    inputs: event.type === 'embedding' ? { input: event.input } : { messages: event.messages },
    session_name: typeof projectName === 'string' ? projectName : defaults.project,
    tags: event.tags,
    extra: {
      metadata: {
        ...metadata,
        // LangSmith's own keys for the model and provider, so its cost and model views work.
        ls_provider: event.provider ?? 'unknown',
        ls_model_name: event.responseModel ?? event.model,
        trace_id: event.traceId,
        llm_onion_status: event.status,
        ...(event.user === undefined ? {} : { user: event.user }),
        ...(event.cost === undefined ? {} : { cost_usd: event.cost.total }),
        ...(event.ttftMs === undefined ? {} : { time_to_first_token_ms: event.ttftMs }),
      },
      invocation_params: { model: event.model, stream: event.streaming, ...event.parameters },
    },
  }
  if (event.status === 'failure' && event.error) run.error = `${event.error.type}${event.error.status ? ` (${event.error.status})` : ''}: ${event.error.message}`
  if (event.response !== undefined || event.usage !== undefined) {
    run.outputs = { ...event.response }
    if (event.usage) {
      run.outputs.usage_metadata = { input_tokens: event.usage.inputTokens, output_tokens: event.usage.outputTokens, total_tokens: event.usage.totalTokens }
    }
  }
  return run
}

/** LangSmith's dotted-order stamp, UTC `YYYYMMDDTHHMMSSffffffZ` (microseconds), of an ISO time (`2026-12-04T19:23:01.123Z`). */
function dottedStamp(iso: string): string {
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}${iso.slice(20, 23)}000Z`
}
