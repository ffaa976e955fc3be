/**
 * A sink that publishes messages to a Google Cloud Pub/Sub topic with the REST API's
 * `POST /v1/projects/{project}/topics/{topic}:publish` (`{ messages: [{ data, attributes }] }`, data
 * base64), a bearer access token in `Authorization`. A batch larger than one request may be (1,000
 * messages, 10 MB) goes as several; those already published are not published again on a retry.
 */
import { batchProgress, requestsOf, settle } from './batch-progress'
import { isRetryableHttpStatus, parseRetryAfter } from './http-sink'
import { postingPool } from './posting-pool'
import { DeliveryError, type Sink } from './sink'
import { scrubProcessSecrets } from '../secret-scrubber'

/** One Pub/Sub message as the publish request takes it. */
export interface PubsubMessage {
  /** The payload, base64. */
  data: string
  /** String attributes subscriptions can filter on. */
  attributes?: Record<string, string>
}

export interface PubsubSinkOptions {
  /** Names the sink in counters and warnings. */
  name: string
  /** `https://pubsub.googleapis.com/v1/projects/{project}/topics/{topic}:publish`. */
  publishUrl: string
  /** The bearer token of each request; none for an emulator. `invalidate` is called when it is refused. */
  token?: { get(signal: AbortSignal): Promise<string>; invalidate(): void }
  /** Messages per batch (default 100). */
  maxBatchSize?: number
  timeoutMs?: number
}

/** The publish request's limits: 1,000 messages and 10 MB (a margin left for the request's own JSON). */
const maxMessagesPerRequest = 1000
const maxRequestBytes = 9 * 1024 * 1024

/**
 * A {@link Sink} of Pub/Sub messages.
 *
 * @example
 * ```ts
 * const sink = pubsubSink({ name: 'gcsPubsub', publishUrl: 'https://pubsub.googleapis.com/v1/projects/p/topics/t:publish', token })
 * ```
 */
export function pubsubSink(options: PubsubSinkOptions): Sink<PubsubMessage> {
  const { name, token } = options
  const url = new URL(options.publishUrl)
  const pool = postingPool(name, options.timeoutMs ?? 10_000)
  const progressOf = batchProgress()
  return {
    name,
    maxBatchSize: options.maxBatchSize ?? 100,
    async send(messages, signal) {
      const progress = progressOf(messages)
      const sizes = messages.map((message) => message.data.length + JSON.stringify(message.attributes ?? {}).length + 32)
      for (const request of requestsOf([...progress.pending], (index) => sizes[index]!, { maxCount: maxMessagesPerRequest, maxBytes: maxRequestBytes })) {
        const headers: Record<string, string> = { 'content-type': 'application/json' }
        if (token !== undefined) headers.authorization = `Bearer ${await token.get(signal)}`
        const answer = await pool.post(url, headers, JSON.stringify({ messages: request.map((index) => messages[index]) }), signal)
        if (answer.status < 200 || answer.status >= 300) {
          // A revoked or expired token: the next try asks for a new one.
          if (answer.status === 401) token?.invalidate()
          const retryAfter = answer.headers['retry-after']
          throw new DeliveryError(`${name}: ${url.origin} answered publish with ${answer.status}: ${scrubProcessSecrets(answer.text.slice(0, 300))}`, {
            status: answer.status,
            retryable: isRetryableHttpStatus(answer.status) || answer.status === 401,
            retryAfterMs: parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter),
          })
        }
        const published = publishedCount(answer.text)
        if (published !== request.length) {
          throw new DeliveryError(`${name}: ${url.origin} answered publish with ${published} message ids for ${request.length} messages`, { retryable: true })
        }
        for (const index of request) progress.pending.delete(index)
      }
      return settle(progress, () => `${name}: ${progress.pending.size} messages not published`)
    },
    close: () => pool.close(),
  }
}

function publishedCount(text: string): number {
  try {
    const ids = (JSON.parse(text) as { messageIds?: unknown }).messageIds
    return Array.isArray(ids) ? ids.length : 0
  } catch {
    return 0
  }
}
