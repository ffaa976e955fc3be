/**
 * S3 (and any S3-compatible store: Cloudflare R2, MinIO, Ceph, Wasabi): every call as one JSON line,
 * each batch one object under a date-partitioned key, signed with SigV4. LiteLLM's `s3` / `s3_v2`.
 */
import { z } from 'zod'
import { defineExporter } from '../src/integrations/exporter'
import { integrationOptionsSchema, readBaseUrl, readSetting, requireSetting } from '../src/integrations/options'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { lazySchema } from '../src/lazy-schema'
import { defineIntegration } from '../src/integrations/descriptor'
import { bucketBase, sigV4ObjectStoreSink, trimSlashes } from '../src/delivery/sigv4-object-store'
import { eventJson } from '../src/event-json'

export { bucketBase } from '../src/delivery/sigv4-object-store'

const s3OptionsSchema = lazySchema(() =>
  integrationOptionsSchema
    .extend({
      bucket: z.string().min(1).optional(),
      region: z.string().min(1).optional(),
      path: z.string().optional(),
      pathStyle: z.boolean().optional(),
      accessKeyId: z.string().min(1).optional(),
      secretAccessKey: z.string().min(1).optional(),
      sessionToken: z.string().min(1).optional(),
      maxBatchSize: z.number().int().positive().optional(),
      timeoutMs: z.number().int().positive().optional(),
    })
    .strict(),
)

/**
 * Options of {@link s3}, besides the common ones (`moments`, `redact`, `env`). Each falls back to the
 * upper-cased name of LiteLLM's `s3_callback_params` key, then to the AWS variable.
 * - `bucket`: `S3_BUCKET_NAME` (required).
 * - `region`: `S3_REGION_NAME`, `AWS_REGION`, `AWS_DEFAULT_REGION`, else `us-east-1` (R2 takes `auto`).
 * - `path`: key prefix, `S3_PATH`; objects go to `{path}/YYYY-MM-DD/HH-MM-SS-mmm-{uuid}.jsonl`.
 * - `baseUrl`: the endpoint, `S3_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, else AWS's.
 * - `pathStyle`: `{endpoint}/{bucket}/{key}` instead of `{bucket}.{endpoint host}/{key}`; default true
 *   with a custom endpoint (MinIO, R2 with the account endpoint), false on AWS.
 * - `accessKeyId`, `secretAccessKey`, `sessionToken`: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`
 *   (both required), `AWS_SESSION_TOKEN`.
 * - `maxBatchSize`: lines per object, default 100; `timeoutMs`: per request, default 10,000.
 */
export type S3Options = z.input<typeof s3OptionsSchema>

/**
 * s3() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * s3Integration.factory({ moments: ['failure'] }) // what callbacks({ failure: ['s3_v2'] }) builds
 * ```
 */
export const s3Integration = defineIntegration({
  name: 's3',
  aliases: ['s3_v2'],
  switchedOnBy: [['S3_BUCKET_NAME', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']],
  position: 'exporters',
  takesEnv: true,
  factory: s3,
})

/**
 * Writes every finished call to an S3 bucket as JSON lines (one standard event per line, as
 * `jsonLog()` writes them), one object per batch, in the background. Signed with AWS Signature V4
 * from the usual AWS variables; no AWS SDK is needed.
 *
 * @example
 * ```ts
 * // S3_BUCKET_NAME, AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment
 * client.use(s3({ path: 'llm-logs' }))
 * // MinIO on this machine
 * client.use(s3({ bucket: 'logs', baseUrl: 'http://127.0.0.1:9000', accessKeyId: 'minio', secretAccessKey: 'minio123' }))
 * ```
 */
export function s3(options: S3Options = {}): Middleware {
  const settings = validate(s3OptionsSchema, options, 's3() options')
  const env = settings.env ?? process.env
  const bucket = requireSetting({ integration: 's3', option: 'bucket', variable: 'S3_BUCKET_NAME' }, settings.bucket, env)
  const region =
    readSetting(settings.region, 'S3_REGION_NAME', env) ?? readSetting(undefined, 'AWS_REGION', env) ?? readSetting(undefined, 'AWS_DEFAULT_REGION', env) ?? 'us-east-1'
  const credentials = {
    accessKeyId: requireSetting({ integration: 's3', option: 'accessKeyId', variable: 'AWS_ACCESS_KEY_ID' }, settings.accessKeyId, env),
    secretAccessKey: requireSetting({ integration: 's3', option: 'secretAccessKey', variable: 'AWS_SECRET_ACCESS_KEY' }, settings.secretAccessKey, env),
    sessionToken: readSetting(settings.sessionToken, 'AWS_SESSION_TOKEN', env),
  }
  const customEndpoint = settings.baseUrl ?? readSetting(undefined, 'S3_ENDPOINT_URL', env) ?? readSetting(undefined, 'AWS_ENDPOINT_URL_S3', env) ?? readSetting(undefined, 'AWS_ENDPOINT_URL', env)
  const endpoint = readBaseUrl('s3', customEndpoint, 'S3_ENDPOINT_URL', `https://s3.${region}.amazonaws.com`, env)
  return defineExporter<string>({
    name: 's3',
    moments: settings.moments,
    redact: settings.redact,
    sink: sigV4ObjectStoreSink({
      name: 's3',
      objectBase: bucketBase(endpoint, bucket, settings.pathStyle ?? customEndpoint !== undefined),
      prefix: trimSlashes(readSetting(settings.path, 'S3_PATH', env)),
      credentials,
      region,
      maxBatchSize: settings.maxBatchSize,
      timeoutMs: settings.timeoutMs,
    }),
    toItems: eventJson,
  })
}
