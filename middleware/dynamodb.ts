/**
 * DynamoDB: LiteLLM's `dynamodb` callback. Every call as one item of a table (its partition key the
 * call id, as LiteLLM's `id`), with LiteLLM's spend-log columns, written in batches with
 * BatchWriteItem over DynamoDB's JSON API, signed with SigV4; no AWS SDK is needed.
 */
import { z } from 'zod'
import type { CallEvent } from '../src/event'
import { defineExporter } from '../src/integrations/exporter'
import { integrationOptionsSchema, readBaseUrl, readSetting, requireSetting } from '../src/integrations/options'
import { defineIntegration } from '../src/integrations/descriptor'
import { spendLogColumns, spendLogJsonColumns, type SpendLogRow } from '../src/integrations/spend-log'
import { sizedSpendLogRecord } from '../src/integrations/sized-spend-log'
import { dynamodbSink, type AttributeValue, type DynamodbItem } from '../src/delivery/dynamodb-sink'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { lazySchema } from '../src/lazy-schema'

const dynamodbOptionsSchema = lazySchema(() =>
  integrationOptionsSchema
    .extend({
      table: z.string().regex(/^[A-Za-z0-9_.-]{3,255}$/, 'a DynamoDB table name: 3 to 255 letters, digits, _ . -').optional(),
      region: z.string().min(1).optional(),
      keyAttribute: z.string().min(1).max(255).optional(),
      accessKeyId: z.string().min(1).optional(),
      secretAccessKey: z.string().min(1).optional(),
      sessionToken: z.string().min(1).optional(),
      maxBatchSize: z.number().int().positive().max(25).optional(),
      timeoutMs: z.number().int().positive().optional(),
    })
    .strict(),
)

/**
 * Options of {@link dynamodb}, besides the common ones (`moments`, `redact`, `env`).
 * - `table`: `DYNAMODB_TABLE_NAME` (LiteLLM's `dynamodb_table_name`, upper-cased; required).
 * - `region`: `AWS_REGION_NAME` (LiteLLM's), `AWS_REGION`, `AWS_DEFAULT_REGION`, else `us-east-1`.
 * - `baseUrl`: the endpoint, `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL`, else `https://dynamodb.{region}.amazonaws.com`.
 * - `keyAttribute`: the table's partition key (a string), given the call id; default `id`, LiteLLM's.
 * - `accessKeyId`, `secretAccessKey`, `sessionToken`: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` (both required), `AWS_SESSION_TOKEN`.
 * - `maxBatchSize`: items per BatchWriteItem, at most 25 (the default); `timeoutMs`: per request, default 10,000.
 */
export type DynamodbOptions = z.input<typeof dynamodbOptionsSchema>

/** DynamoDB's limit on one item. */
const maxItemBytes = 400 * 1024

/**
 * dynamodb() in the catalogue. Switched on only when asked for: an app keeps its own tables in
 * DynamoDB, and a table name in its environment is no sign it wants calls written there.
 *
 * @example
 * ```ts
 * dynamodbIntegration.factory({ table: 'llm-calls' }) // what callbacks({ success: ['dynamodb'] }) builds
 * ```
 */
export const dynamodbIntegration = defineIntegration({
  name: 'dynamodb',
  aliases: [],
  switchedOnBy: [],
  position: 'exporters',
  takesEnv: true,
  factory: dynamodb,
})

/**
 * Writes every finished call to a DynamoDB table in the background: one item per call, keyed by the
 * call id, with LiteLLM's spend-log columns (numbers as numbers, `metadata`, `request_tags`,
 * `messages` and `response` as JSON text), up to 25 a request. Throttled items are written again
 * with backoff; a table that is missing or refuses the key never fails a call (the batch is counted
 * as dropped).
 *
 * @example
 * ```ts
 * // DYNAMODB_TABLE_NAME, AWS_REGION_NAME, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment
 * client.use(dynamodb())
 * // DynamoDB Local on this machine
 * client.use(dynamodb({ table: 'llm-calls', baseUrl: 'http://127.0.0.1:8000', accessKeyId: 'local', secretAccessKey: 'local' }))
 * ```
 */
export function dynamodb(options: DynamodbOptions = {}): Middleware {
  const settings = validate(dynamodbOptionsSchema, options, 'dynamodb() options')
  const env = settings.env ?? process.env
  const table = requireSetting({ integration: 'dynamodb', option: 'table', variable: 'DYNAMODB_TABLE_NAME' }, settings.table, env)
  const region =
    readSetting(settings.region, 'AWS_REGION_NAME', env) ?? readSetting(undefined, 'AWS_REGION', env) ?? readSetting(undefined, 'AWS_DEFAULT_REGION', env) ?? 'us-east-1'
  const credentials = {
    accessKeyId: requireSetting({ integration: 'dynamodb', option: 'accessKeyId', variable: 'AWS_ACCESS_KEY_ID' }, settings.accessKeyId, env),
    secretAccessKey: requireSetting({ integration: 'dynamodb', option: 'secretAccessKey', variable: 'AWS_SECRET_ACCESS_KEY' }, settings.secretAccessKey, env),
    sessionToken: readSetting(settings.sessionToken, 'AWS_SESSION_TOKEN', env),
  }
  const customEndpoint = settings.baseUrl ?? readSetting(undefined, 'AWS_ENDPOINT_URL_DYNAMODB', env)
  const endpoint = readBaseUrl('dynamodb', customEndpoint, 'AWS_ENDPOINT_URL', `https://dynamodb.${region}.amazonaws.com`, env)
  const keyAttribute = settings.keyAttribute ?? 'id'
  return defineExporter<DynamodbItem>({
    name: 'dynamodb',
    moments: settings.moments,
    redact: settings.redact,
    sink: dynamodbSink({ name: 'dynamodb', endpoint, region, credentials, table, keyAttribute, maxBatchSize: settings.maxBatchSize, timeoutMs: settings.timeoutMs }),
    toItems: (event) => toDynamodbItem(event, keyAttribute),
  })
}

/**
 * Maps the standard event to its DynamoDB item: `id` (or `keyAttribute`) the call id, then every
 * spend-log column. An item over DynamoDB's 400 KB keeps its spend columns without its messages and reply.
 *
 * @example
 * ```ts
 * toDynamodbItem(event).spend // { N: '0.000123' }
 * ```
 */
export function toDynamodbItem(event: CallEvent, keyAttribute = 'id'): DynamodbItem {
  return sizedSpendLogRecord(event, (row) => itemOf(row, event.id, keyAttribute), (item) => Buffer.byteLength(JSON.stringify(item)), maxItemBytes, 'a DynamoDB item')
}

function itemOf(row: SpendLogRow, id: string, keyAttribute: string): DynamodbItem {
  const item: DynamodbItem = { id: { S: id } }
  for (const column of spendLogColumns) {
    const value: unknown = row[column]
    item[column] = spendLogJsonColumns.has(column) ? { S: JSON.stringify(value ?? null) } : attributeOf(value)
  }
  item[keyAttribute] = { S: id }
  return item
}

function attributeOf(value: unknown): AttributeValue {
  if (value === null || value === undefined) return { NULL: true }
  if (typeof value === 'number') return Number.isFinite(value) ? { N: String(value) } : { NULL: true }
  if (typeof value === 'boolean') return { BOOL: value }
  return { S: String(value) }
}
