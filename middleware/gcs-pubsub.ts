/**
 * Google Cloud Pub/Sub: LiteLLM's `gcs_pubsub` callback. Every call as one message (its spend-log
 * record as JSON, what LiteLLM sends so a BigQuery subscription can store it) on a topic, published
 * in batches through the REST API with a service account's access token; no Google SDK is needed.
 */
import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { defineExporter } from '../src/integrations/exporter'
import { integrationOptionsSchema, readBaseUrl, readSetting, requireSetting, type Environment } from '../src/integrations/options'
import { defineIntegration } from '../src/integrations/descriptor'
import { sizedSpendLogRecord } from '../src/integrations/sized-spend-log'
import { pubsubSink, type PubsubMessage } from '../src/delivery/pubsub-sink'
import { parseServiceAccount, serviceAccountTokens, type AccessTokens } from '../src/delivery/google-access-token'
import { ValidationError } from '../src/errors'
import type { CallEvent } from '../src/event'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { lazySchema } from '../src/lazy-schema'

const resourceId = lazySchema(() => z.string().regex(/^[A-Za-z0-9._~%+-]{1,255}$/, 'a Google Cloud id: letters, digits and . _ ~ % + -'))

const gcsPubsubOptionsSchema = lazySchema(() =>
  integrationOptionsSchema
    .extend({
      projectId: resourceId.optional(),
      topicId: resourceId.optional(),
      serviceAccount: z.union([z.string().min(1), z.record(z.string(), z.unknown())]).optional(),
      credentialsPath: z.string().min(1).optional(),
      tokenUrl: z.url().optional(),
      maxBatchSize: z.number().int().positive().max(1000).optional(),
      timeoutMs: z.number().int().positive().optional(),
    })
    .strict(),
)

/**
 * Options of {@link gcsPubsub}, besides the common ones (`moments`, `redact`, `env`).
 * - `projectId`, `topicId`: `GCS_PUBSUB_PROJECT_ID`, `GCS_PUBSUB_TOPIC_ID` (LiteLLM's; both required).
 * - `credentialsPath`: a service-account key file, `GCS_PATH_SERVICE_ACCOUNT` (LiteLLM's), else
 *   `GOOGLE_APPLICATION_CREDENTIALS`; or `serviceAccount`, the key file's JSON (text or object).
 * - `baseUrl`: `GCS_PUBSUB_API_BASE`, else `https://pubsub.googleapis.com`; with `PUBSUB_EMULATOR_HOST`
 *   set (and neither of those), `http://{PUBSUB_EMULATOR_HOST}` without credentials, as Google's client libraries do.
 * - `tokenUrl`: where access tokens are asked for, default the key file's `token_uri`.
 * - `maxBatchSize`: messages per publish request, default 100 (at most 1,000); `timeoutMs`: per request, default 10,000.
 */
export type GcsPubsubOptions = z.input<typeof gcsPubsubOptionsSchema>

/** The scope of the access token: publishing to Pub/Sub. */
const pubsubScope = 'https://www.googleapis.com/auth/pubsub'
/** Pub/Sub's limit on a message is 10 MB; base64 data under 9 MB leaves room for the request. */
const maxDataBytes = 9 * 1024 * 1024

/**
 * gcsPubsub() in the catalogue: switched on by LiteLLM's topic variables with a key file (or the emulator).
 *
 * @example
 * ```ts
 * gcsPubsubIntegration.factory({ moments: ['success'] }) // what callbacks({ success: ['gcs_pubsub'] }) builds
 * ```
 */
export const gcsPubsubIntegration = defineIntegration({
  name: 'gcsPubsub',
  aliases: ['gcs_pubsub'],
  switchedOnBy: [
    ['GCS_PUBSUB_PROJECT_ID', 'GCS_PUBSUB_TOPIC_ID', 'GCS_PATH_SERVICE_ACCOUNT'],
    ['GCS_PUBSUB_PROJECT_ID', 'GCS_PUBSUB_TOPIC_ID', 'GOOGLE_APPLICATION_CREDENTIALS'],
    ['GCS_PUBSUB_PROJECT_ID', 'GCS_PUBSUB_TOPIC_ID', 'PUBSUB_EMULATOR_HOST'],
  ],
  position: 'exporters',
  takesEnv: true,
  factory: gcsPubsub,
})

/**
 * Publishes every finished call to a Pub/Sub topic in the background: one message per call, its data
 * the call's spend-log record as JSON (LiteLLM's column names), with `status` and `model` attributes
 * for subscription filters. Requests carry an access token of the service account, asked for once
 * and kept until shortly before it expires. A topic that is missing or a key that is refused never
 * fails a call (the batch is counted as dropped).
 *
 * @example
 * ```ts
 * // GCS_PUBSUB_PROJECT_ID, GCS_PUBSUB_TOPIC_ID and GCS_PATH_SERVICE_ACCOUNT in the environment
 * client.use(gcsPubsub())
 * ```
 */
export function gcsPubsub(options: GcsPubsubOptions = {}): Middleware {
  const settings = validate(gcsPubsubOptionsSchema, options, 'gcsPubsub() options')
  const env = settings.env ?? process.env
  const project = requireSetting({ integration: 'gcsPubsub', option: 'projectId', variable: 'GCS_PUBSUB_PROJECT_ID' }, settings.projectId, env)
  const topic = requireSetting({ integration: 'gcsPubsub', option: 'topicId', variable: 'GCS_PUBSUB_TOPIC_ID' }, settings.topicId, env)
  for (const [option, value] of [['projectId', project], ['topicId', topic]] as const) validate(resourceId, value, `gcsPubsub() ${option}`)
  const apiBase = settings.baseUrl ?? readSetting(undefined, 'GCS_PUBSUB_API_BASE', env)
  const emulatorHost = apiBase === undefined ? readSetting(undefined, 'PUBSUB_EMULATOR_HOST', env) : undefined
  if (emulatorHost !== undefined && !URL.canParse(`http://${emulatorHost}`)) {
    throw new ValidationError(`gcsPubsub(): PUBSUB_EMULATOR_HOST is not a host:port (${JSON.stringify(emulatorHost)}); give one such as 127.0.0.1:8085.`, [
      { path: 'baseUrl', message: 'not a host:port' },
    ])
  }
  const base = readBaseUrl('gcsPubsub', apiBase, 'GCS_PUBSUB_API_BASE', emulatorHost === undefined ? 'https://pubsub.googleapis.com' : `http://${emulatorHost}`, env)
  const token = emulatorHost === undefined ? accessTokens(settings, env) : undefined
  return defineExporter<PubsubMessage>({
    name: 'gcsPubsub',
    moments: settings.moments,
    redact: settings.redact,
    sink: pubsubSink({
      name: 'gcsPubsub',
      publishUrl: `${base}/v1/projects/${encodeURIComponent(project)}/topics/${encodeURIComponent(topic)}:publish`,
      token,
      maxBatchSize: settings.maxBatchSize,
      timeoutMs: settings.timeoutMs,
    }),
    toItems: toPubsubMessage,
  })
}

/**
 * Maps the standard event to its Pub/Sub message: the spend-log record as JSON, base64, with the
 * call's `status` and `model` as attributes.
 *
 * @example
 * ```ts
 * JSON.parse(Buffer.from(toPubsubMessage(event).data, 'base64').toString()).request_id === event.id // true
 * ```
 */
export function toPubsubMessage(event: CallEvent): PubsubMessage {
  return sizedSpendLogRecord(
    event,
    (row) => ({ data: Buffer.from(JSON.stringify(row)).toString('base64'), attributes: { status: row.status, model: attributeValue(row.model) } }),
    (message) => message.data.length,
    maxDataBytes,
    'a Pub/Sub message',
  )
}

/** Attribute values are at most 1,024 bytes. */
function attributeValue(text: string): string {
  return Buffer.byteLength(text) <= 1024 ? text : Buffer.from(text).subarray(0, 1024).toString('utf8').replace(/\uFFFD$/, '')
}

/** The service account's access tokens, from the `serviceAccount` option or the key file a variable names. */
function accessTokens(settings: { serviceAccount?: string | Record<string, unknown>; credentialsPath?: string; tokenUrl?: string; timeoutMs?: number }, env: Environment): AccessTokens {
  let text: string
  let where: string
  if (settings.serviceAccount !== undefined) {
    where = 'the serviceAccount option'
    text = typeof settings.serviceAccount === 'string' ? settings.serviceAccount : JSON.stringify(settings.serviceAccount)
  } else {
    const variable = readSetting(undefined, 'GCS_PATH_SERVICE_ACCOUNT', env) === undefined && readSetting(undefined, 'GOOGLE_APPLICATION_CREDENTIALS', env) !== undefined ? 'GOOGLE_APPLICATION_CREDENTIALS' : 'GCS_PATH_SERVICE_ACCOUNT'
    const path = requireSetting({ integration: 'gcsPubsub', option: 'credentialsPath', variable }, settings.credentialsPath, env)
    where = settings.credentialsPath === undefined ? `${variable} (${path})` : `the credentialsPath option (${path})`
    try {
      text = readFileSync(path, 'utf8')
    } catch (error) {
      throw new ValidationError(`gcsPubsub(): cannot read the service-account key file of ${where}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`, [
        { path: 'credentialsPath', message: 'unreadable' },
      ])
    }
  }
  const account = parseServiceAccount(text, where)
  return serviceAccountTokens({ name: 'gcsPubsub', account, scope: pubsubScope, tokenUri: settings.tokenUrl, timeoutMs: settings.timeoutMs })
}
