/**
 * A local stand-in for Amazon SQS's SendMessageBatch over its JSON protocol, checked as SQS
 * documents it (docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html):
 * a queue that exists, 1 to 10 entries with distinct ids of letters, digits, - and _, message bodies
 * of the allowed characters and at most `maxMessageBytes` in all. It answers per entry
 * (`Successful` with the body's MD5, `Failed` with `SenderFault`), stores the bodies it accepted,
 * and can fail entries on its side as SQS sometimes does.
 */
import { createHash, randomUUID } from 'node:crypto'
import type { RecordingServer } from './recording-server'
import { startAwsJsonFake, type AwsError, type AwsKey } from './aws-json-fake'

export interface SqsFake extends RecordingServer {
  /** The bodies the queue at `queueUrl` accepted, in order. */
  messages(queueUrl: string): string[]
  /** The next `count` entries fail with `InternalError` (SenderFault false): not stored, to be sent again. */
  failEntries(count: number): void
  /** Creates a queue (a URL on this fake's own origin is known only once it listens). */
  addQueue(queueUrl: string): void
}

const sqs = 'com.amazonaws.sqs'
/** The characters a message may hold (the W3C XML character ranges SQS documents). */
const allowedCharacters = /^[\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u

/** Starts the fake with the queues (their URLs) and access keys it knows. */
export async function startSqsFake(settings: { keys: AwsKey[]; queueUrls: string[]; maxMessageBytes?: number }): Promise<SqsFake> {
  const queues = new Map<string, string[]>(settings.queueUrls.map((queueUrl) => [queueUrl, []]))
  const maxMessageBytes = settings.maxMessageBytes ?? 262_144
  let failuresLeft = 0
  const refuse = (code: string, message: string): { error: AwsError } => ({ error: { type: `${sqs}#${code}`, message } })

  const server = await startAwsJsonFake({
    service: 'sqs',
    targetPrefix: 'AmazonSQS',
    keys: settings.keys,
    operations: {
      SendMessageBatch(input) {
        const stored = queues.get(String(input.QueueUrl))
        if (stored === undefined) return refuse('QueueDoesNotExist', 'The specified queue does not exist.')
        const entries = input.Entries as Array<{ Id?: unknown; MessageBody?: unknown }> | undefined
        if (!Array.isArray(entries) || entries.length === 0) return refuse('EmptyBatchRequest', 'There should be at least one SendMessageBatchRequestEntry in the request.')
        if (entries.length > 10) return refuse('TooManyEntriesInBatchRequest', `Maximum number of entries per request are 10. You have sent ${entries.length}.`)
        const ids = entries.map((entry) => entry.Id)
        if (ids.some((id) => typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,80}$/.test(id))) return refuse('InvalidBatchEntryId', 'A batch entry id can only contain alphanumeric characters, hyphens and underscores.')
        if (new Set(ids).size !== ids.length) return refuse('BatchEntryIdsNotDistinct', 'Two or more batch entries in the request have the same Id.')
        const bodies = entries.map((entry) => entry.MessageBody)
        if (bodies.some((body) => typeof body !== 'string' || body === '')) return refuse('InvalidParameterValue', 'MessageBody is required and must not be empty.')
        const total = (bodies as string[]).reduce((sum, body) => sum + Buffer.byteLength(body), 0)
        if (total > maxMessageBytes) return refuse('BatchRequestTooLong', `Batch requests cannot be longer than ${maxMessageBytes} bytes. You have sent ${total} bytes.`)
        const successful: unknown[] = []
        const failed: unknown[] = []
        entries.forEach((entry, index) => {
          const body = bodies[index] as string
          if (!allowedCharacters.test(body)) failed.push({ Id: entry.Id, SenderFault: true, Code: 'InvalidMessageContents', Message: 'Invalid characters found.' })
          else if (failuresLeft > 0) {
            failuresLeft--
            failed.push({ Id: entry.Id, SenderFault: false, Code: 'InternalError', Message: 'We encountered an internal error. Please try again.' })
          } else {
            stored.push(body)
            successful.push({ Id: entry.Id, MessageId: randomUUID(), MD5OfMessageBody: createHash('md5').update(body, 'utf8').digest('hex') })
          }
        })
        return { output: { Successful: successful, Failed: failed } }
      },
    },
  })
  return Object.assign(server, {
    messages: (queueUrl: string) => [...(queues.get(queueUrl) ?? [])],
    failEntries(count: number) {
      failuresLeft += count
    },
    addQueue(queueUrl: string) {
      if (!queues.has(queueUrl)) queues.set(queueUrl, [])
    },
  })
}
