/**
 * AWS's JSON protocol (`awsJson1_0`), as DynamoDB and SQS speak it: `POST /` with the operation in
 * `X-Amz-Target`, the input as `application/x-amz-json-1.0`, signed with SigV4 by
 * `@smithy/signature-v4`; errors come back as `{ "__type": "...#Code", "message": "..." }`.
 * Throttling answers are 400s in this protocol: they are retried like 429s and 5xx.
 */
import { isRetryableHttpStatus, parseRetryAfter } from './http-sink'
import { postingPool } from './posting-pool'
import { sigV4Signer, type AwsCredentials } from './sigv4-signer'
import { DeliveryError } from './sink'
import { scrubProcessSecrets } from '../secret-scrubber'

export interface AwsJsonClientOptions {
  /** Names the sink in errors. */
  name: string
  /** The service endpoint (`https://dynamodb.eu-west-1.amazonaws.com`); requests go to its path, `/` by default. */
  endpoint: string
  /** The signing name of the service (`dynamodb`, `sqs`). */
  service: string
  /** The `X-Amz-Target` prefix (`DynamoDB_20120810`, `AmazonSQS`). */
  targetPrefix: string
  region: string
  credentials: AwsCredentials
  timeoutMs: number
}

/** Calls operations of one AWS JSON service. */
export interface AwsJsonClient {
  /** The operation's output; throws a {@link DeliveryError} (retryable or not) when it fails. */
  call(operation: string, input: unknown, signal: AbortSignal): Promise<Record<string, unknown>>
  close(): Promise<void>
}

/** Error codes of AWS's JSON services that a later retry can get past. */
const retryableCodes = /Throttl|ProvisionedThroughputExceeded|RequestLimitExceeded|TooManyRequests|LimitExceeded|ServiceUnavailable|InternalServerError|InternalFailure|KmsThrottled/

/**
 * A client of one AWS JSON service, signing each request.
 *
 * @example
 * ```ts
 * const dynamodb = awsJsonClient({ name: 'dynamodb', endpoint: 'https://dynamodb.eu-west-1.amazonaws.com', service: 'dynamodb',
 *   targetPrefix: 'DynamoDB_20120810', region: 'eu-west-1', credentials, timeoutMs: 10_000 })
 * const output = await dynamodb.call('BatchWriteItem', { RequestItems: { logs: [...] } }, signal)
 * ```
 */
export function awsJsonClient(options: AwsJsonClientOptions): AwsJsonClient {
  const { name } = options
  const sign = sigV4Signer({ credentials: options.credentials, region: options.region, service: options.service })
  const pool = postingPool(name, options.timeoutMs)
  const url = new URL(options.endpoint)
  if (url.pathname === '') url.pathname = '/'
  return {
    async call(operation, input, signal) {
      const body = JSON.stringify(input)
      const headers = await sign({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `${options.targetPrefix}.${operation}` },
        body,
      })
      const answer = await pool.post(url, headers, body, signal)
      if (answer.status >= 200 && answer.status < 300) {
        try {
          return answer.text.trim() === '' ? {} : (JSON.parse(answer.text) as Record<string, unknown>)
        } catch {
          throw new DeliveryError(`${name}: ${url.origin} answered ${operation} with a body that is not JSON: ${scrubProcessSecrets(answer.text.slice(0, 200))}`, {
            status: answer.status,
            retryable: true,
          })
        }
      }
      const { code, message } = errorOf(answer.text, answer.headers)
      const retryAfter = answer.headers['retry-after']
      // The service's message names the table or the queue, never the secret; it is scrubbed all the same.
      throw new DeliveryError(`${name}: ${url.origin} answered ${operation} with ${answer.status} ${code}: ${scrubProcessSecrets(message.slice(0, 300))}`, {
        status: answer.status,
        retryable: isRetryableHttpStatus(answer.status) || retryableCodes.test(code),
        retryAfterMs: parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter),
      })
    },
    close: () => pool.close(),
  }
}

/** The error code (after `#` in `__type`, or from `x-amzn-errortype`) and message of a failed call. */
function errorOf(text: string, headers: Record<string, string | string[] | undefined>): { code: string; message: string } {
  let parsed: { __type?: unknown; message?: unknown; Message?: unknown } = {}
  try {
    parsed = JSON.parse(text) as typeof parsed
  } catch {
    // Not JSON (a proxy's HTML page): the text itself is the message.
  }
  const header = headers['x-amzn-errortype']
  const type = typeof parsed.__type === 'string' ? parsed.__type : typeof header === 'string' ? header : 'UnknownError'
  const code = type.split('#').at(-1)!.split(':')[0]!
  const message = typeof parsed.message === 'string' ? parsed.message : typeof parsed.Message === 'string' ? parsed.Message : text
  return { code, message }
}
