/**
 * Amazon SQS: LiteLLM's `aws_sqs` callback. Every call as one message (its spend-log record as
 * JSON) on a queue, sent with SendMessageBatch over SQS's JSON protocol, signed with SigV4; no AWS
 * SDK is needed.
 */
import { z } from 'zod'
import { defineExporter } from '../src/integrations/exporter'
import { integrationOptionsSchema, readBaseUrl, readSetting, requireSetting } from '../src/integrations/options'
import { defineIntegration } from '../src/integrations/descriptor'
import { sizedSpendLogRecord } from '../src/integrations/sized-spend-log'
import { sqsSink } from '../src/delivery/sqs-sink'
import { ValidationError } from '../src/errors'
import type { CallEvent } from '../src/event'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { lazySchema } from '../src/lazy-schema'

const awsSqsOptionsSchema = lazySchema(() =>
  integrationOptionsSchema
    .extend({
      queueUrl: z.url().optional(),
      region: z.string().min(1).optional(),
      accessKeyId: z.string().min(1).optional(),
      secretAccessKey: z.string().min(1).optional(),
      sessionToken: z.string().min(1).optional(),
      maxMessageBytes: z.number().int().min(1024).max(1_048_576).optional(),
      timeoutMs: z.number().int().positive().optional(),
    })
    .strict(),
)

/**
 * Options of {@link awsSqs}, besides the common ones (`moments`, `redact`, `env`). Each falls back to
 * the upper-cased name of LiteLLM's `aws_sqs_callback_params` key, then to the AWS variable.
 * - `queueUrl`: `SQS_QUEUE_URL` (required), `https://sqs.{region}.amazonaws.com/{account}/{queue}`.
 * - `region`: `SQS_REGION_NAME`, `AWS_REGION_NAME`, `AWS_REGION`, `AWS_DEFAULT_REGION`, else the queue URL's, else `us-east-1`.
 * - `baseUrl`: where requests go, `SQS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_SQS`, `AWS_ENDPOINT_URL`, else the queue URL's origin.
 * - `accessKeyId`, `secretAccessKey`, `sessionToken`: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` (both required), `AWS_SESSION_TOKEN`.
 * - `maxMessageBytes`: most bytes per message and per request, default 262,144 (every queue takes that; raise it up
 *   to 1,048,576 for a queue whose MaximumMessageSize allows); `timeoutMs`: per request, default 10,000.
 */
export type AwsSqsOptions = z.input<typeof awsSqsOptionsSchema>

/**
 * awsSqs() in the catalogue. Switched on only when asked for: an app that has `SQS_QUEUE_URL` set
 * uses that queue for its own messages.
 *
 * @example
 * ```ts
 * awsSqsIntegration.factory({ moments: ['failure'] }) // what callbacks({ failure: ['aws_sqs'] }) builds
 * ```
 */
export const awsSqsIntegration = defineIntegration({
  name: 'awsSqs',
  aliases: ['aws_sqs'],
  switchedOnBy: [],
  position: 'exporters',
  takesEnv: true,
  factory: awsSqs,
})

/**
 * Sends every finished call to an SQS queue in the background: one message per call, its body the
 * call's spend-log record as JSON (LiteLLM's column names), up to 10 messages a request. Messages
 * SQS fails on its side are sent again with backoff (only those: no duplicates of the others); a
 * queue that is missing or refuses the key never fails a call (the batch is counted as dropped).
 *
 * @example
 * ```ts
 * // SQS_QUEUE_URL, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment
 * client.use(awsSqs())
 * ```
 */
export function awsSqs(options: AwsSqsOptions = {}): Middleware {
  const settings = validate(awsSqsOptionsSchema, options, 'awsSqs() options')
  const env = settings.env ?? process.env
  const queueUrl = requireSetting({ integration: 'awsSqs', option: 'queueUrl', variable: 'SQS_QUEUE_URL' }, settings.queueUrl, env)
  if (!URL.canParse(queueUrl)) {
    throw new ValidationError(`awsSqs(): SQS_QUEUE_URL is not a URL (${JSON.stringify(queueUrl)}); give the queue's URL, such as https://sqs.us-west-2.amazonaws.com/123456789012/llm-logs.`, [
      { path: 'queueUrl', message: 'not a URL' },
    ])
  }
  const region =
    readSetting(settings.region, 'SQS_REGION_NAME', env) ??
    readSetting(undefined, 'AWS_REGION_NAME', env) ??
    readSetting(undefined, 'AWS_REGION', env) ??
    readSetting(undefined, 'AWS_DEFAULT_REGION', env) ??
    regionOfQueueUrl(queueUrl) ??
    'us-east-1'
  const credentials = {
    accessKeyId: requireSetting({ integration: 'awsSqs', option: 'accessKeyId', variable: 'AWS_ACCESS_KEY_ID' }, settings.accessKeyId, env),
    secretAccessKey: requireSetting({ integration: 'awsSqs', option: 'secretAccessKey', variable: 'AWS_SECRET_ACCESS_KEY' }, settings.secretAccessKey, env),
    sessionToken: readSetting(settings.sessionToken, 'AWS_SESSION_TOKEN', env),
  }
  const customEndpoint = settings.baseUrl ?? readSetting(undefined, 'SQS_ENDPOINT_URL', env) ?? readSetting(undefined, 'AWS_ENDPOINT_URL_SQS', env)
  const endpoint = readBaseUrl('awsSqs', customEndpoint, 'AWS_ENDPOINT_URL', new URL(queueUrl).origin, env)
  const maxMessageBytes = settings.maxMessageBytes ?? 262_144
  return defineExporter<string>({
    name: 'awsSqs',
    moments: settings.moments,
    redact: settings.redact,
    sink: sqsSink({ name: 'awsSqs', endpoint, queueUrl, region, credentials, maxBatchBytes: maxMessageBytes, timeoutMs: settings.timeoutMs }),
    toItems: (event) => toSqsMessageBody(event, maxMessageBytes),
  })
}

/**
 * Maps the standard event to its message body: the spend-log record as JSON. One over
 * `maxMessageBytes` keeps its spend columns without its messages and reply.
 *
 * @example
 * ```ts
 * JSON.parse(toSqsMessageBody(event)).request_id === event.id // true
 * ```
 */
export function toSqsMessageBody(event: CallEvent, maxMessageBytes = 262_144): string {
  return sizedSpendLogRecord(event, (row) => JSON.stringify(row), (body) => Buffer.byteLength(body), maxMessageBytes, 'an SQS message')
}

/** The region of an AWS queue URL (`https://sqs.eu-west-1.amazonaws.com/...`, `https://eu-west-1.queue.amazonaws.com/...`). */
function regionOfQueueUrl(queueUrl: string): string | undefined {
  const host = new URL(queueUrl).hostname
  return /^sqs\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/.exec(host)?.[1] ?? /^([a-z0-9-]+)\.queue\.amazonaws\.com(?:\.cn)?$/.exec(host)?.[1]
}
