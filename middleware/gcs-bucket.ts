/**
 * Google Cloud Storage through its XML API, which speaks the S3 API: every call as one JSON line,
 * each batch one object under a date-partitioned key, signed with SigV4 and a GCS HMAC key.
 * LiteLLM's `gcs_bucket`.
 */
import { z } from 'zod'
import { defineExporter } from '../src/integrations/exporter'
import { integrationOptionsSchema, readBaseUrl, readSetting, requireSetting } from '../src/integrations/options'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { lazySchema } from '../src/lazy-schema'
import { defineIntegration } from '../src/integrations/descriptor'
import { sigV4ObjectStoreSink, trimSlashes } from '../src/delivery/sigv4-object-store'
import { eventJson } from '../src/event-json'

const gcsBucketOptionsSchema = lazySchema(() =>
  integrationOptionsSchema
    .extend({
      bucket: z.string().min(1).optional(),
      path: z.string().optional(),
      accessId: z.string().min(1).optional(),
      secret: z.string().min(1).optional(),
      maxBatchSize: z.number().int().positive().optional(),
      timeoutMs: z.number().int().positive().optional(),
    })
    .strict(),
)

/**
 * Options of {@link gcsBucket}, besides the common ones (`moments`, `redact`, `env`).
 * - `bucket`: `GCS_BUCKET_NAME` (required; LiteLLM's variable).
 * - `accessId`, `secret`: a GCS HMAC key, `GCS_HMAC_ACCESS_ID` and `GCS_HMAC_SECRET` (required).
 * - `path`: key prefix, `GCS_PATH`; objects go to `{path}/YYYY-MM-DD/HH-MM-SS-mmm-{uuid}.jsonl`.
 * - `baseUrl`: `STORAGE_EMULATOR_HOST` (the Google client libraries' variable), else `https://storage.googleapis.com`.
 * - `maxBatchSize`: lines per object, `GCS_BATCH_SIZE`, else 100; `timeoutMs`: per request, default 10,000.
 */
export type GcsBucketOptions = z.input<typeof gcsBucketOptionsSchema>

/**
 * gcsBucket() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * gcsBucketIntegration.factory({ moments: ['failure'] }) // what callbacks({ failure: ['gcs_bucket'] }) builds
 * ```
 */
export const gcsBucketIntegration = defineIntegration({
  name: 'gcsBucket',
  aliases: ['gcs_bucket'],
  switchedOnBy: [['GCS_BUCKET_NAME', 'GCS_HMAC_ACCESS_ID', 'GCS_HMAC_SECRET']],
  position: 'exporters',
  takesEnv: true,
  factory: gcsBucket,
})

/**
 * Writes every finished call to a Google Cloud Storage bucket as JSON lines (one standard event per
 * line), one object per batch, in the background, through the XML API with an HMAC key
 * (Cloud Storage → Settings → Interoperability); no Google SDK is needed.
 *
 * @example
 * ```ts
 * // GCS_BUCKET_NAME, GCS_HMAC_ACCESS_ID and GCS_HMAC_SECRET in the environment
 * client.use(gcsBucket({ path: 'llm-logs' }))
 * ```
 */
export function gcsBucket(options: GcsBucketOptions = {}): Middleware {
  const settings = validate(gcsBucketOptionsSchema, options, 'gcsBucket() options')
  const env = settings.env ?? process.env
  const bucket = requireSetting({ integration: 'gcsBucket', option: 'bucket', variable: 'GCS_BUCKET_NAME' }, settings.bucket, env)
  const credentials = {
    accessKeyId: requireSetting({ integration: 'gcsBucket', option: 'accessId', variable: 'GCS_HMAC_ACCESS_ID' }, settings.accessId, env),
    secretAccessKey: requireSetting({ integration: 'gcsBucket', option: 'secret', variable: 'GCS_HMAC_SECRET' }, settings.secret, env),
  }
  const endpoint = readBaseUrl('gcsBucket', settings.baseUrl, 'STORAGE_EMULATOR_HOST', 'https://storage.googleapis.com', env)
  const batchSize = settings.maxBatchSize ?? positiveInteger(readSetting(undefined, 'GCS_BATCH_SIZE', env))
  return defineExporter<string>({
    name: 'gcsBucket',
    moments: settings.moments,
    redact: settings.redact,
    sink: sigV4ObjectStoreSink({
      name: 'gcsBucket',
      // GCS's XML API takes path-style URLs and, for HMAC keys, SigV4 with region `auto` and service `s3`.
      objectBase: `${endpoint}/${encodeURIComponent(bucket)}`,
      prefix: trimSlashes(readSetting(settings.path, 'GCS_PATH', env)),
      credentials,
      region: 'auto',
      maxBatchSize: batchSize,
      timeoutMs: settings.timeoutMs,
    }),
    toItems: eventJson,
  })
}

/** A variable's value as a positive integer; undefined when unset or not one. */
function positiveInteger(value: string | undefined): number | undefined {
  const parsed = Number(value)
  return Number.isInteger(parsed) && parsed > 0 ? parsed : undefined
}
