/**
 * A sink that puts items into a DynamoDB table with BatchWriteItem (at most 25 puts and 16 MB a
 * request). Items DynamoDB leaves unprocessed (throttling) stay pending: the queue retries the batch
 * with backoff and only they are written again.
 */
import { awsJsonClient } from './aws-json-client'
import { batchProgress, requestsOf, settle } from './batch-progress'
import type { AwsCredentials } from './sigv4-signer'
import type { Sink } from './sink'

/** One DynamoDB attribute value, in the JSON protocol's typed form. */
export type AttributeValue = { S: string } | { N: string } | { BOOL: boolean } | { NULL: true }

/** One item: attribute names to typed values. */
export type DynamodbItem = Record<string, AttributeValue>

export interface DynamodbSinkOptions {
  /** Names the sink in counters and warnings. */
  name: string
  /** `https://dynamodb.{region}.amazonaws.com`, or DynamoDB Local / LocalStack. */
  endpoint: string
  region: string
  credentials: AwsCredentials
  table: string
  /** The attribute every item is found by (the table's partition key), to match unprocessed items. */
  keyAttribute: string
  /** Items per batch the queue hands over (default 25); each request carries at most 25. */
  maxBatchSize?: number
  timeoutMs?: number
}

/** BatchWriteItem's limits: 25 put requests, 16 MB in all (a margin left for the request's own JSON). */
const maxPutsPerRequest = 25
const maxRequestBytes = 15 * 1024 * 1024

/**
 * A {@link Sink} of DynamoDB items.
 *
 * @example
 * ```ts
 * const sink = dynamodbSink({ name: 'dynamodb', endpoint: 'http://127.0.0.1:8000', region: 'us-east-1', credentials, table: 'llm-logs', keyAttribute: 'id' })
 * ```
 */
export function dynamodbSink(options: DynamodbSinkOptions): Sink<DynamodbItem> {
  const { name, table, keyAttribute } = options
  const client = awsJsonClient({
    name,
    endpoint: options.endpoint,
    service: 'dynamodb',
    targetPrefix: 'DynamoDB_20120810',
    region: options.region,
    credentials: options.credentials,
    timeoutMs: options.timeoutMs ?? 10_000,
  })
  const progressOf = batchProgress()
  return {
    name,
    maxBatchSize: options.maxBatchSize ?? maxPutsPerRequest,
    async send(items, signal) {
      const progress = progressOf(items)
      const sizes = items.map((item) => Buffer.byteLength(JSON.stringify(item)))
      for (const request of requestsOf([...progress.pending], (index) => sizes[index]!, { maxCount: maxPutsPerRequest, maxBytes: maxRequestBytes })) {
        const output = await client.call('BatchWriteItem', { RequestItems: { [table]: request.map((index) => ({ PutRequest: { Item: items[index] } })) } }, signal)
        const unprocessed = unprocessedKeys(output, table, keyAttribute)
        for (const index of request) if (!unprocessed.has(keyOf(items[index]!, keyAttribute))) progress.pending.delete(index)
      }
      return settle(progress, () => `${name}: DynamoDB left ${progress.pending.size} of ${items.length} items unprocessed (throughput exceeded); they are written again`)
    },
    close: () => client.close(),
  }
}

/** The key values of the items BatchWriteItem's output says it did not process. */
function unprocessedKeys(output: Record<string, unknown>, table: string, keyAttribute: string): Set<string> {
  const requests = (output.UnprocessedItems as Record<string, unknown> | undefined)?.[table]
  const keys = new Set<string>()
  if (!Array.isArray(requests)) return keys
  for (const request of requests as Array<{ PutRequest?: { Item?: DynamodbItem } }>) {
    const item = request.PutRequest?.Item
    if (item !== undefined) keys.add(keyOf(item, keyAttribute))
  }
  return keys
}

function keyOf(item: DynamodbItem, keyAttribute: string): string {
  return JSON.stringify(item[keyAttribute] ?? null)
}
