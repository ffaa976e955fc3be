/**
 * A sink that sends messages to an Amazon SQS queue with SendMessageBatch over SQS's JSON protocol
 * (`AmazonSQS.SendMessageBatch`, `application/x-amz-json-1.0`): at most 10 messages and
 * `maxBatchBytes` of message bodies a request. SQS answers per message: a message it accepted (its
 * MD5 checked, as the AWS SDK does) is done; one it failed on its side stays pending and goes again
 * when the queue retries; one it refused as the sender's fault is dropped and counted.
 */
import { digestHex } from '../text-digest'
import { awsJsonClient } from './aws-json-client'
import { batchProgress, requestsOf, settle } from './batch-progress'
import type { AwsCredentials } from './sigv4-signer'
import type { Sink } from './sink'
import { scrubProcessSecrets } from '../secret-scrubber'

export interface SqsSinkOptions {
  /** Names the sink in counters and warnings. */
  name: string
  /** Where requests go: the queue URL's origin, or another endpoint (LocalStack, a VPC endpoint). */
  endpoint: string
  /** The queue, as `QueueUrl` in each request. */
  queueUrl: string
  region: string
  credentials: AwsCredentials
  /** Most bytes of message bodies per request, and per message (SQS's limit: 262,144 by default, up to 1,048,576). */
  maxBatchBytes: number
  timeoutMs?: number
}

/** SendMessageBatch's limit on entries. */
const maxEntries = 10

interface BatchResultEntry {
  Id?: string
  MD5OfMessageBody?: string
  SenderFault?: boolean
  Code?: string
  Message?: string
}

/**
 * A {@link Sink} of SQS message bodies (strings).
 *
 * @example
 * ```ts
 * const sink = sqsSink({ name: 'awsSqs', endpoint: 'https://sqs.eu-west-1.amazonaws.com', queueUrl, region: 'eu-west-1', credentials, maxBatchBytes: 262_144 })
 * ```
 */
export function sqsSink(options: SqsSinkOptions): Sink<string> {
  const { name, queueUrl } = options
  const client = awsJsonClient({
    name,
    endpoint: options.endpoint,
    service: 'sqs',
    targetPrefix: 'AmazonSQS',
    region: options.region,
    credentials: options.credentials,
    timeoutMs: options.timeoutMs ?? 10_000,
  })
  const progressOf = batchProgress()
  return {
    name,
    maxBatchSize: maxEntries,
    async send(bodies, signal) {
      const progress = progressOf(bodies)
      const sizes = bodies.map((body) => Buffer.byteLength(body))
      const failures = new Set<string>()
      for (const request of requestsOf([...progress.pending], (index) => sizes[index]!, { maxCount: maxEntries, maxBytes: options.maxBatchBytes })) {
        const entries = request.map((index) => ({ Id: String(index), MessageBody: bodies[index]! }))
        const output = await client.call('SendMessageBatch', { QueueUrl: queueUrl, Entries: entries }, signal)
        for (const entry of listOf(output.Successful)) {
          const index = indexIn(request, entry.Id)
          if (index === undefined) continue
          if (entry.MD5OfMessageBody === md5(bodies[index]!)) progress.pending.delete(index)
          else failures.add('MD5OfMessageBody mismatch (the message was changed on the way)')
        }
        for (const entry of listOf(output.Failed)) {
          const index = indexIn(request, entry.Id)
          if (index === undefined) continue
          const why = `${entry.Code ?? 'UnknownError'}: ${scrubProcessSecrets(String(entry.Message ?? '').slice(0, 200))}`
          if (entry.SenderFault === true) {
            progress.pending.delete(index)
            progress.refused.push({ index, error: new Error(`${name}: SQS refused the message: ${why}`) })
          } else failures.add(why)
        }
      }
      return settle(progress, () => `${name}: SQS did not take ${progress.pending.size} of ${bodies.length} messages (${[...failures].join('; ') || 'not in its answer'}); they are sent again`)
    },
    close: () => client.close(),
  }
}

function listOf(value: unknown): BatchResultEntry[] {
  return Array.isArray(value) ? (value as BatchResultEntry[]) : []
}

/** The batch index an entry's `Id` names, when it is one of this request's. */
function indexIn(request: number[], id: string | undefined): number | undefined {
  const index = Number(id)
  return request.includes(index) ? index : undefined
}

function md5(text: string): string {
  return digestHex('md5', text)
}
