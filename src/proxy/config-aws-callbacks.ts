/**
 * LiteLLM's settings of its AWS callbacks in `litellm_settings`, read with LiteLLM's meaning and
 * passed as options to the integrations of the same names:
 * - `s3_callback_params` (`s3`, `s3_v2`; litellm/integrations/s3_v2.py, `S3Logger._init_s3_params`),
 * - `aws_sqs_callback_params` (`aws_sqs`; litellm/integrations/sqs.py, `SQSLogger._init_sqs_params`),
 * - `dynamodb_table_name` (`dynamodb`; litellm/integrations/dynamodb.py reads `litellm.dynamodb_table_name`).
 *
 * As in LiteLLM a value given here wins over the environment, and one left out falls back to the
 * variables each integration reads (docs/integrations/s3.md, aws-sqs.md, dynamodb.md). Values may be
 * `os.environ/NAME` references, resolved by the config schema. Keys with no effect here are said at
 * start, with why; keys that would change which credentials sign or how data is protected (AWS
 * profiles and roles, server-side or application-level encryption) fail the start instead, naming
 * what to write.
 */
import { z } from 'zod'
import type { AwsSqsOptions } from '../../middleware/aws-sqs'
import type { DynamodbOptions } from '../../middleware/dynamodb'
import type { S3Options } from '../../middleware/s3'

/** The `litellm_settings` keys this file reads. */
export const awsCallbackSettingKeys = ['s3_callback_params', 'aws_sqs_callback_params', 'dynamodb_table_name'] as const

/** Options of the AWS integrations as the config gives them, by integration name. */
export interface AwsCallbackOptions {
  s3?: S3Options
  awsSqs?: AwsSqsOptions
  dynamodb?: DynamodbOptions
}

/** Credential sources LiteLLM takes through boto3 and llm-onion's AWS integrations do not: they sign with a key pair. */
const credentialSourceSuffixes = ['aws_profile_name', 'aws_role_name', 'aws_session_name', 'aws_web_identity_token', 'aws_sts_endpoint']

/** Keys of each params mapping that have no effect here, and why. */
const unreadS3Keys: Record<string, string> = {
  s3_flush_interval: 'objects are written as the delivery queue sends its batches (about every second)',
  s3_api_version: 'requests use the S3 REST API as it is',
  s3_use_ssl: "the scheme of s3_endpoint_url decides (AWS's own endpoint is https)",
  s3_verify: 'TLS certificates are always verified; give a private CA with NODE_EXTRA_CA_CERTS',
  s3_config: 'there is no botocore client to configure',
  s3_use_team_prefix: 'every object goes under s3_path, whatever the team',
  s3_use_key_prefix: 'every object goes under s3_path, whatever the key',
  s3_strip_base64_files: 'messages are written as they were sent; set turn_off_message_logging to leave content out',
}
const unreadSqsKeys: Record<string, string> = {
  sqs_flush_interval: 'messages leave as the delivery queue sends its batches (about every second)',
  sqs_batch_size: 'messages leave in SendMessageBatch requests of up to 10 messages and 256 KiB',
  sqs_api_version: "requests use SQS's JSON protocol",
  sqs_use_ssl: "the scheme of sqs_queue_url (or sqs_endpoint_url) decides",
  sqs_verify: 'TLS certificates are always verified; give a private CA with NODE_EXTRA_CA_CERTS',
  sqs_config: 'there is no botocore client to configure',
  sqs_strip_base64_files: 'messages are sent as they were; set turn_off_message_logging to leave content out',
  sqs_app_encryption_key_b64: 'application-level encryption is not on (sqs_aws_use_application_level_encryption)',
  sqs_app_encryption_aad: 'application-level encryption is not on (sqs_aws_use_application_level_encryption)',
}

/**
 * The schema of the three keys, built with the config's parsers (`text` resolves `os.environ/NAME`).
 *
 * @example
 * ```ts
 * z.looseObject({ ...awsCallbackSettingsShape(text, nonEmpty, number) })
 * ```
 */
export function awsCallbackSettingsShape(text: z.ZodType<string, unknown>, nonEmpty: z.ZodType<string, unknown>, number: z.ZodType<number, unknown>) {
  const url = (example: string) => nonEmpty.pipe(z.url(`must be a URL, for example ${example}`))
  const flag = z.union([z.boolean(), text.pipe(z.enum(['true', 'false'])).transform((value) => value === 'true')], { error: 'must be true or false' })
  const refuseCredentialSources = (prefix: string) => (params: Record<string, unknown>, ctx: z.RefinementCtx) => {
    for (const suffix of credentialSourceSuffixes) {
      if (params[`${prefix}_${suffix}`] === undefined || params[`${prefix}_${suffix}`] === null) continue
      ctx.addIssue({
        code: 'custom',
        path: [`${prefix}_${suffix}`],
        message: `is not supported: llm-onion signs with a key pair, without AWS profiles or role assumption; give ${prefix}_aws_access_key_id and ${prefix}_aws_secret_access_key (with ${prefix}_aws_session_token for temporary credentials), or the AWS_* variables`,
      })
    }
  }
  const s3Params = z
    .looseObject({
      s3_bucket_name: nonEmpty.optional(),
      s3_region_name: nonEmpty.optional(),
      s3_endpoint_url: url('http://127.0.0.1:9000').optional(),
      s3_aws_access_key_id: nonEmpty.optional(),
      s3_aws_secret_access_key: nonEmpty.optional(),
      s3_aws_session_token: nonEmpty.optional(),
      s3_path: text.nullish(),
      s3_use_virtual_hosted_style: flag.optional(),
      s3_batch_size: number.pipe(z.number().int('must be a whole number').positive('must be 1 or more')).optional(),
    })
    .superRefine((params, ctx) => {
      refuseCredentialSources('s3')(params, ctx)
      for (const key of ['s3_server_side_encryption', 's3_sse_kms_key_id']) {
        if (params[key] === undefined || params[key] === null) continue
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message:
            "is not supported: llm-onion sends no server-side-encryption headers; set the bucket's default encryption instead (aws s3api put-bucket-encryption) and remove this key",
        })
      }
    })
  const sqsParams = z
    .looseObject({
      sqs_queue_url: url('https://sqs.us-east-1.amazonaws.com/123456789012/llm-logs').optional(),
      sqs_region_name: nonEmpty.optional(),
      sqs_endpoint_url: url('http://127.0.0.1:4566').optional(),
      sqs_aws_access_key_id: nonEmpty.optional(),
      sqs_aws_secret_access_key: nonEmpty.optional(),
      sqs_aws_session_token: nonEmpty.optional(),
      sqs_aws_use_application_level_encryption: flag.optional(),
    })
    .superRefine((params, ctx) => {
      refuseCredentialSources('sqs')(params, ctx)
      if (params.sqs_aws_use_application_level_encryption === true) {
        ctx.addIssue({
          code: 'custom',
          path: ['sqs_aws_use_application_level_encryption'],
          message: "is not supported: llm-onion does not encrypt messages itself; turn on the queue's server-side encryption (SSE-SQS or SSE-KMS) and remove this key",
        })
      }
    })
  return {
    s3_callback_params: s3Params.nullish(),
    aws_sqs_callback_params: sqsParams.nullish(),
    dynamodb_table_name: nonEmpty.optional(),
  }
}

/** The three keys as the config schema leaves them. */
export interface AwsCallbackSettings {
  s3_callback_params?: Record<string, unknown> | null
  aws_sqs_callback_params?: Record<string, unknown> | null
  dynamodb_table_name?: string
}

/**
 * The integrations' options from the three keys; a key with no effect here becomes a warning at its
 * path (`pathOf` writes a path in the file's own names).
 *
 * @example
 * ```ts
 * readAwsCallbackSettings({ dynamodb_table_name: 'llm-calls' }, warnings, pathOf) // { dynamodb: { table: 'llm-calls' } }
 * ```
 */
export function readAwsCallbackSettings(settings: AwsCallbackSettings, warnings: string[], pathOf: (path: PropertyKey[]) => string): AwsCallbackOptions {
  const options: AwsCallbackOptions = {}
  const s3 = settings.s3_callback_params
  if (s3) {
    warnUnread(s3, 's3_callback_params', unreadS3Keys, ['s3_bucket_name', 's3_region_name', 's3_endpoint_url', 's3_aws_access_key_id', 's3_aws_secret_access_key', 's3_aws_session_token', 's3_path', 's3_use_virtual_hosted_style', 's3_batch_size'], warnings, pathOf)
    options.s3 = withoutUnset({
      bucket: s3.s3_bucket_name as string | undefined,
      region: s3.s3_region_name as string | undefined,
      baseUrl: s3.s3_endpoint_url as string | undefined,
      accessKeyId: s3.s3_aws_access_key_id as string | undefined,
      secretAccessKey: s3.s3_aws_secret_access_key as string | undefined,
      sessionToken: s3.s3_aws_session_token as string | undefined,
      path: (s3.s3_path as string | null | undefined) ?? undefined,
      // LiteLLM: path-style on a custom endpoint unless this is true; AWS's own endpoint is virtual-hosted either way.
      pathStyle: s3.s3_use_virtual_hosted_style === true ? false : undefined,
      maxBatchSize: s3.s3_batch_size as number | undefined,
    })
  }
  const sqs = settings.aws_sqs_callback_params
  if (sqs) {
    warnUnread(sqs, 'aws_sqs_callback_params', unreadSqsKeys, ['sqs_queue_url', 'sqs_region_name', 'sqs_endpoint_url', 'sqs_aws_access_key_id', 'sqs_aws_secret_access_key', 'sqs_aws_session_token', 'sqs_aws_use_application_level_encryption'], warnings, pathOf)
    options.awsSqs = withoutUnset({
      queueUrl: sqs.sqs_queue_url as string | undefined,
      region: sqs.sqs_region_name as string | undefined,
      baseUrl: sqs.sqs_endpoint_url as string | undefined,
      accessKeyId: sqs.sqs_aws_access_key_id as string | undefined,
      secretAccessKey: sqs.sqs_aws_secret_access_key as string | undefined,
      sessionToken: sqs.sqs_aws_session_token as string | undefined,
    })
  }
  if (settings.dynamodb_table_name !== undefined) options.dynamodb = { table: settings.dynamodb_table_name }
  return options
}

function warnUnread(params: Record<string, unknown>, key: string, reasons: Record<string, string>, read: string[], warnings: string[], pathOf: (path: PropertyKey[]) => string): void {
  for (const name of Object.keys(params)) {
    if (read.includes(name)) continue
    const reason = reasons[name]
    warnings.push(`${pathOf(['litellm_settings', key, name])} is not read by llm-onion and is ignored${reason ? `: ${reason}` : ''}`)
  }
}

function withoutUnset<Options extends object>(options: Options): Options {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Options
}
