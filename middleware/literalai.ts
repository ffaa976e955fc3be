/**
 * Literal AI: every finished call as an `llm` step, batched into one GraphQL mutation of aliased
 * `ingestStep` fields posted to `{url}/api/graphql` with the `x-api-key` header, the way LiteLLM's
 * `literalai` callback sends them (litellm/integrations/literal_ai.py).
 */
import { z } from 'zod'
import type { CallEvent } from '../src/event'
import { defineExporter } from '../src/integrations/exporter'
import { httpSink } from '../src/delivery/http-sink'
import { integrationOptionsSchema, readBaseUrl, readBatchSize, requireSetting } from '../src/integrations/options'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { lazySchema } from '../src/lazy-schema'
import { defineIntegration } from '../src/integrations/descriptor'
import { isoTime } from '../src/iso-time'

/** The most steps one mutation carries; each step adds 16 variables to the document. */
const largestBatch = 1000

const literalaiOptionsSchema = lazySchema(() =>
  integrationOptionsSchema
    .extend({
      apiKey: z.string().min(1).optional(),
      environment: z.string().min(1).optional(),
      maxBatchSize: z.number().int().min(1).max(largestBatch).optional(),
      timeoutMs: z.number().int().positive().optional(),
    })
    .strict(),
)

/**
 * Options of {@link literalai}, besides the common ones (`moments`, `redact`, `baseUrl`, `env`).
 * - `apiKey`: default `LITERAL_API_KEY` (required).
 * - `baseUrl`: default `LITERAL_API_URL`, else `https://cloud.getliteral.ai`.
 * - `environment`: sent as the `x-env` header (Literal AI's environments, such as `dev` or `prod`);
 *   default none, so Literal AI files the steps under its default.
 * - `maxBatchSize`: steps per mutation, default `LITERAL_BATCH_SIZE`, else 100 (at most 1000).
 * - `moments`: default `['success', 'failure']`.
 * - `timeoutMs`: per-request time limit, default 10,000.
 */
export type LiteralaiOptions = z.input<typeof literalaiOptionsSchema>

/** One step, as the variables of an `ingestStep` field take it (the `_N` suffix is added per batch). */
export interface LiteralaiStep {
  id: string
  type: 'llm' | 'embedding'
  name: string
  startTime: string
  endTime: string
  error?: string
  threadId?: string
  parentId?: string
  rootRunId?: string
  tags?: string[]
  metadata: Record<string, unknown>
  generation: LiteralaiGeneration
}

/** The `generation` of a step (Literal AI's `GenerationPayloadInput`), with the fields LiteLLM fills. */
export interface LiteralaiGeneration {
  provider: string
  model: string
  /** Seconds. */
  duration: number
  inputTokenCount: number
  outputTokenCount: number
  tokenCount: number
  settings: Record<string, unknown>
  messages?: Array<Record<string, unknown>>
  messageCompletion?: unknown
  tools?: unknown
}

/** The body of one request: the mutation and its variables. */
export interface LiteralaiRequest {
  query: string
  variables: Record<string, unknown>
}

/**
 * literalai() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * literalaiIntegration.factory({ moments: ['failure'] }) // what callbacks({ failure: ['literalai'] }) builds
 * ```
 */
export const literalaiIntegration = defineIntegration({
  name: 'literalai',
  aliases: [],
  switchedOnBy: [['LITERAL_API_KEY']],
  position: 'exporters',
  takesEnv: true,
  factory: literalai,
})

/**
 * Logs every call to Literal AI as an `llm` step with its generation: the prompt, the reply, token
 * counts, the parameters, the error and the timing. `metadata.literalai_thread_id`,
 * `metadata.literalai_parent_id` and `metadata.literalai_root_run_id` place the step in a thread or
 * under a run; `metadata.step_id` sets its id (default: the call id).
 *
 * @example
 * ```ts
 * // LITERAL_API_KEY=lsk_... in the environment; LITERAL_API_URL for a self-hosted Literal AI
 * client.use(literalai())
 * ```
 */
export function literalai(options: LiteralaiOptions = {}): Middleware {
  const settings = validate(literalaiOptionsSchema, options, 'literalai() options')
  const env = settings.env ?? process.env
  const apiKey = requireSetting({ integration: 'literalai', option: 'apiKey', variable: 'LITERAL_API_KEY' }, settings.apiKey, env)
  const base = readBaseUrl('literalai', settings.baseUrl, 'LITERAL_API_URL', 'https://cloud.getliteral.ai', env)
  const headers: Record<string, string> = { 'x-api-key': apiKey, 'x-client-name': 'llm-onion' }
  if (settings.environment !== undefined) headers['x-env'] = settings.environment
  return defineExporter<LiteralaiStep>({
    name: 'literalai',
    moments: settings.moments,
    redact: settings.redact,
    sink: httpSink({
      name: 'literalai',
      url: `${base}/api/graphql`,
      headers,
      maxBatchSize: settings.maxBatchSize ?? readBatchSize({ integration: 'literalai', variable: 'LITERAL_BATCH_SIZE', largest: largestBatch }, env) ?? 100,
      encode: toLiteralaiRequest,
      failureIn2xx: literalaiFailure,
      timeoutMs: settings.timeoutMs,
    }),
    toItems: toLiteralaiStep,
  })
}

/** Metadata keys that place the step (sent as its own fields, not in its metadata). */
const placingKeys = new Set(['step_id', 'literalai_thread_id', 'literalai_parent_id', 'literalai_root_run_id', 'literalai_tags'])

/** Maps the standard event to a Literal AI step. */
export function toLiteralaiStep(event: CallEvent): LiteralaiStep {
  const metadata: Record<string, unknown> = {}
  for (const key in event.metadata) if (!placingKeys.has(key)) metadata[key] = event.metadata[key]
  if (event.user !== undefined) metadata.user = event.user
  const { tools, ...parameters } = event.parameters
  const model = event.responseModel ?? event.model
  const generation: LiteralaiGeneration = {
    provider: event.provider ?? 'unknown',
    model,
    duration: event.latencyMs / 1000,
    inputTokenCount: event.usage?.inputTokens ?? 0,
    outputTokenCount: event.usage?.outputTokens ?? 0,
    tokenCount: event.usage?.totalTokens ?? 0,
    settings: parameters,
  }
  if (tools !== undefined) generation.tools = tools
  if (event.type === 'chat') {
    generation.messages = event.messages
    const choices = event.response?.choices as Array<{ message?: unknown }> | undefined
    if (choices?.[0]?.message !== undefined) generation.messageCompletion = choices[0].message
  }
  const step: LiteralaiStep = {
    id: text(event.metadata.step_id) ?? event.id,
    type: event.type === 'embedding' ? 'embedding' : 'llm',
    name: model,
    startTime: isoTime(event.startTime),
    endTime: isoTime(event.endTime),
    metadata,
    generation,
  }
  if (event.error) step.error = `${event.error.type}${event.error.status ? ` (${event.error.status})` : ''}: ${event.error.message}`
  const threadId = text(event.metadata.literalai_thread_id)
  const parentId = text(event.metadata.literalai_parent_id)
  const rootRunId = text(event.metadata.literalai_root_run_id)
  if (threadId !== undefined) step.threadId = threadId
  if (parentId !== undefined) step.parentId = parentId
  if (rootRunId !== undefined) step.rootRunId = rootRunId
  // LiteLLM reads metadata.tags first, then metadata.literalai_tags; here a call's tags are event.tags.
  const tags = event.tags.length > 0 ? event.tags : strings(event.metadata.literalai_tags)
  if (tags !== undefined && tags.length > 0) step.tags = tags
  return step
}

/** The variables of step N, in the order LiteLLM declares them: name, then GraphQL type. */
const stepVariables: ReadonlyArray<readonly [string, string]> = [
  ['id', 'String!'],
  ['threadId', 'String'],
  ['rootRunId', 'String'],
  ['type', 'StepType'],
  ['startTime', 'DateTime'],
  ['endTime', 'DateTime'],
  ['error', 'String'],
  ['input', 'Json'],
  ['output', 'Json'],
  ['metadata', 'Json'],
  ['parentId', 'String'],
  ['name', 'String'],
  ['tags', '[String!]'],
  ['generation', 'GenerationPayloadInput'],
  ['scores', '[ScorePayloadInput!]'],
  ['attachments', '[AttachmentPayloadInput!]'],
]

/**
 * The `AddStep` mutation for `count` steps: every variable of every step declared with an `_N`
 * suffix, and one `ingestStep` field per step, aliased `stepN`, asking back `ok` and `message`.
 * The last one built is kept: batches are mostly full, so mostly of one size, and building the text
 * of 100 steps (75 KB) took about 300 µs, 3 µs per step.
 *
 * @example
 * ```ts
 * literalaiMutation(1) // 'mutation AddStep($id_0: String!, ...) { step0: ingestStep(id: $id_0, ...) { ok message } }'
 * ```
 */
export function literalaiMutation(count: number): string {
  if (lastMutation?.count !== count) lastMutation = { count, text: buildMutation(count) }
  return lastMutation.text
}

let lastMutation: { count: number; text: string } | undefined

function buildMutation(count: number): string {
  const declared: string[] = []
  const fields: string[] = []
  for (let index = 0; index < count; index++) {
    for (const [name, type] of stepVariables) declared.push(`$${name}_${index}: ${type}`)
    // The arguments in LiteLLM's order, which differs a little from the declarations'.
    const passed = ingestOrder.map((name) => `${name}: $${name}_${index}`).join(', ')
    fields.push(`step${index}: ingestStep(${passed}) { ok message }`)
  }
  return `mutation AddStep(${declared.join(', ')}) { ${fields.join(' ')} }`
}

/** The arguments of each `ingestStep` field, in the order LiteLLM writes them. */
const ingestOrder = ['id', 'threadId', 'rootRunId', 'startTime', 'endTime', 'type', 'error', 'input', 'output', 'metadata', 'parentId', 'name', 'tags', 'generation', 'scores', 'attachments']

/**
 * A batch of steps as one GraphQL request: the mutation, and each step's fields as variables named
 * `field_N`. Fields a step lacks are left out rather than sent as null, so a step ingested again
 * keeps what it has (LiteLLM leaves out its `None`s for that reason).
 */
export function toLiteralaiRequest(steps: LiteralaiStep[]): LiteralaiRequest {
  const variables: Record<string, unknown> = {}
  steps.forEach((step, index) => {
    for (const [field, value] of Object.entries(step)) if (value !== undefined && value !== null) variables[`${field}_${index}`] = value
  })
  return { query: literalaiMutation(steps.length), variables }
}

const mayReportFailure = /"errors"|"ok"\s*:\s*false/

/**
 * What went wrong in a 200 answer to the mutation: a GraphQL `errors` list (a variable of the wrong
 * type, a step the server refused), or a step answered `ok: false`. Not retryable: the same batch
 * would get the same answer. The whole batch counts as refused, even when some steps were taken.
 */
export function literalaiFailure(body: string): { message: string; retryable: boolean } | undefined {
  // Most answers are a plain success: parsed only when it may say otherwise.
  if (!mayReportFailure.test(body)) return undefined
  let answer: { errors?: Array<{ message?: unknown }>; data?: Record<string, { ok?: unknown; message?: unknown } | null> | null }
  try {
    answer = JSON.parse(body) as typeof answer
  } catch {
    return undefined
  }
  if (Array.isArray(answer.errors) && answer.errors.length > 0) {
    const first = answer.errors[0]?.message
    return { message: `${answer.errors.length} GraphQL error(s), the first: ${String(first)}`, retryable: false }
  }
  const refused = Object.entries(answer.data ?? {}).filter(([, result]) => result?.ok === false)
  if (refused.length === 0) return undefined
  const [alias, result] = refused[0]!
  return { message: `${refused.length} step(s) not ingested, ${alias}: ${String(result?.message)}`, retryable: false }
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

function strings(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((item) => typeof item === 'string') ? value : undefined
}
