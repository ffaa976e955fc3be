/**
 * Argilla: every successful chat call as a record of an Argilla dataset, for annotation. Records go
 * in batches to `POST {base}/api/v1/datasets/{dataset id}/records/bulk` as `{ items: [{ fields }] }`
 * with the `X-Argilla-Api-Key` header; the dataset's id is looked up by its name the first time
 * (`GET /api/v1/me/datasets`), as LiteLLM's `argilla` callback does (litellm/integrations/argilla.py).
 * Which record field gets the prompt and which the reply is LiteLLM's `argilla_transformation_object`,
 * here the `fields` option.
 */
import { z } from 'zod'
import type { CallEvent } from '../src/event'
import { defineExporter } from '../src/integrations/exporter'
import { httpSink } from '../src/delivery/http-sink'
import { DeliveryError } from '../src/delivery/sink'
import type { Sink } from '../src/delivery/sink-contract'
import { integrationOptionsSchema, readBaseUrl, readBatchSize, readSetting, requireSetting, type Environment } from '../src/integrations/options'
import { ValidationError } from '../src/errors'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { defineIntegration } from '../src/integrations/descriptor'
import { lazySchema } from '../src/lazy-schema'

const argillaOptionsSchema = lazySchema(() =>
  integrationOptionsSchema
    .extend({
      apiKey: z.string().min(1).optional(),
      dataset: z.string().min(1).optional(),
      fields: z.record(z.string().min(1), z.enum(['messages', 'response'])).optional(),
      samplingRate: z.number().min(0).max(1).optional(),
      // Argilla creates at most 500 records per bulk request.
      maxBatchSize: z.number().int().min(1).max(500).optional(),
      timeoutMs: z.number().int().positive().optional(),
    })
    .strict(),
)

/**
 * Options of {@link argilla}, besides the common ones (`moments`, `redact`, `baseUrl`, `env`).
 * - `apiKey`: default `ARGILLA_API_KEY` (required).
 * - `baseUrl`: default `ARGILLA_BASE_URL`, else `ARGILLA_API_URL` (Argilla's own SDK), else `http://localhost:6900`.
 * - `dataset`: the dataset's name (or id), default `ARGILLA_DATASET_NAME`, else `litellm-completion`.
 * - `fields`: record field → `'messages'` (the prompt, for a ChatField) or `'response'` (the reply's
 *   text, for a TextField); default `{ user_input: 'messages', llm_output: 'response' }` (LiteLLM's example).
 * - `samplingRate`: the share of calls recorded, default `ARGILLA_SAMPLING_RATE`, else 1.
 * - `maxBatchSize`: records per request, default `ARGILLA_BATCH_SIZE`, else 100 (at most 500).
 * - `moments`: default `['success']` (a record needs a reply); `timeoutMs`: default 10,000.
 */
export type ArgillaOptions = z.input<typeof argillaOptionsSchema>

/** One record of Argilla's bulk create. */
export interface ArgillaRecord {
  fields: Record<string, unknown>
  /** The call id, so a record can be traced back to the call. */
  external_id: string
}

/**
 * argilla() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * argillaIntegration.factory({ moments: ['success'] }) // what callbacks({ success: ['argilla'] }) builds
 * ```
 */
export const argillaIntegration = defineIntegration({
  name: 'argilla',
  aliases: [],
  switchedOnBy: [['ARGILLA_API_KEY', 'ARGILLA_BASE_URL']],
  position: 'exporters',
  takesEnv: true,
  factory: argilla,
})

/**
 * Records every successful chat call in an Argilla dataset: the prompt and the reply in the fields
 * `fields` names, ready to be rated or corrected. The dataset must exist with those fields.
 *
 * @example
 * ```ts
 * // ARGILLA_API_KEY, ARGILLA_BASE_URL and ARGILLA_DATASET_NAME=my_first_dataset in the environment
 * client.use(argilla({ fields: { user_input: 'messages', llm_output: 'response' } }))
 * ```
 */
export function argilla(options: ArgillaOptions = {}): Middleware {
  const settings = validate(argillaOptionsSchema, options, 'argilla() options')
  const env = settings.env ?? process.env
  const apiKey = requireSetting({ integration: 'argilla', option: 'apiKey', variable: 'ARGILLA_API_KEY' }, settings.apiKey, env)
  // LiteLLM's ARGILLA_BASE_URL first, then ARGILLA_API_URL, the name Argilla's own SDK reads.
  const baseVariable = readSetting(undefined, 'ARGILLA_BASE_URL', env) === undefined ? 'ARGILLA_API_URL' : 'ARGILLA_BASE_URL'
  const base = readBaseUrl('argilla', settings.baseUrl, baseVariable, 'http://localhost:6900', env)
  const dataset = readSetting(settings.dataset, 'ARGILLA_DATASET_NAME', env) ?? 'litellm-completion'
  const fields = settings.fields ?? { user_input: 'messages', llm_output: 'response' }
  const samplingRate = settings.samplingRate ?? readFraction(env, 'ARGILLA_SAMPLING_RATE', 'samplingRate') ?? 1
  const maxBatchSize = settings.maxBatchSize ?? readBatchSize({ integration: 'argilla', variable: 'ARGILLA_BATCH_SIZE', largest: 500 }, env) ?? 100
  return defineExporter<ArgillaRecord>({
    name: 'argilla',
    moments: settings.moments ?? ['success'],
    redact: settings.redact,
    sink: datasetSink({ base, apiKey, dataset, maxBatchSize, timeoutMs: settings.timeoutMs ?? 10_000 }),
    toItems: (event) => (samplingRate < 1 && Math.random() >= samplingRate ? undefined : toArgillaRecord(event, fields)),
  })
}

/**
 * Maps a chat call's event to an Argilla record, LiteLLM's transformation: a `'messages'` field gets
 * the prompt's messages, a `'response'` field the reply's text. Undefined for a call without a reply
 * (a failure, an embedding): the dataset's fields would be missing.
 *
 * @example
 * ```ts
 * toArgillaRecord(event, { user_input: 'messages', llm_output: 'response' })?.fields.llm_output // 'Paris is the capital.'
 * ```
 */
export function toArgillaRecord(event: CallEvent, fields: Record<string, 'messages' | 'response'>): ArgillaRecord | undefined {
  const message = (event.response?.choices as Array<{ message?: { content?: unknown } }> | undefined)?.[0]?.message
  if (event.type !== 'chat' || message === undefined) return undefined
  const record: ArgillaRecord = { fields: {}, external_id: event.id }
  for (const [field, source] of Object.entries(fields)) {
    record.fields[field] = source === 'messages' ? (event.messages ?? []) : typeof message.content === 'string' ? message.content : ''
  }
  return record
}

interface DatasetSinkOptions {
  base: string
  apiKey: string
  dataset: string
  maxBatchSize: number
  timeoutMs: number
}

const datasetId = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * The records' sink: the dataset's id is found by its name before the first batch (an id is used as
 * it is), then batches go to an HTTP sink for that dataset. A failed lookup is a delivery error of
 * the batch, tried again with the next one.
 */
function datasetSink(options: DatasetSinkOptions): Sink<ArgillaRecord> {
  let records: Sink<ArgillaRecord> | undefined
  let pending: Promise<Sink<ArgillaRecord>> | undefined
  const sinkFor = (id: string) =>
    httpSink<ArgillaRecord>({
      name: 'argilla',
      url: `${options.base}/api/v1/datasets/${encodeURIComponent(id)}/records/bulk`,
      headers: { 'x-argilla-api-key': options.apiKey },
      maxBatchSize: options.maxBatchSize,
      encode: (items) => ({ items }),
      timeoutMs: options.timeoutMs,
    })
  return {
    name: 'argilla',
    maxBatchSize: options.maxBatchSize,
    async send(items, signal) {
      if (records === undefined) {
        pending ??= findDataset(options, signal).then(
          (id) => (records = sinkFor(id)),
          (error: unknown) => {
            pending = undefined
            throw error
          },
        )
        await pending
      }
      return records!.send(items, signal)
    },
    async close() {
      await records?.close?.()
    },
  }
}

/** The dataset's id: `dataset` when it is one, else the id of the caller's dataset of that name. */
async function findDataset(options: DatasetSinkOptions, signal: AbortSignal): Promise<string> {
  if (datasetId.test(options.dataset)) return options.dataset
  const url = `${options.base}/api/v1/me/datasets?name=${encodeURIComponent(options.dataset)}`
  let response: Response
  try {
    response = await fetch(url, { headers: { 'x-argilla-api-key': options.apiKey }, signal: AbortSignal.any([signal, AbortSignal.timeout(options.timeoutMs)]) })
  } catch (error) {
    throw new DeliveryError(`argilla: could not reach ${new URL(url).origin} to find dataset ${options.dataset}: ${(error as Error).message}`, { retryable: true, cause: error })
  }
  if (!response.ok) {
    await response.body?.cancel()
    throw new DeliveryError(`argilla: looking up dataset ${options.dataset} answered ${response.status}${response.status === 401 ? '; check ARGILLA_API_KEY' : ''}.`, {
      status: response.status,
      retryable: response.status === 408 || response.status === 429 || response.status >= 500,
    })
  }
  const body = (await response.json().catch(() => ({}))) as { items?: Array<{ id?: unknown; name?: unknown }> }
  const found = body.items?.find((item) => item.name === options.dataset && typeof item.id === 'string')
  if (found) return found.id as string
  throw new DeliveryError(
    `argilla: no dataset named ${options.dataset} at ${options.base}; create it (with the fields of the argilla() fields option) or set ARGILLA_DATASET_NAME to its name or id.`,
    { retryable: false },
  )
}

function readFraction(env: Environment, variable: string, option: string): number | undefined {
  const text = readSetting(undefined, variable, env)
  if (text === undefined) return undefined
  const value = Number(text)
  if (Number.isFinite(value) && value >= 0 && value <= 1) return value
  throw new ValidationError(`argilla(): ${variable} is ${JSON.stringify(text)}; set it to a number from 0 to 1.`, [{ path: option, message: `${variable} must be from 0 to 1` }])
}
