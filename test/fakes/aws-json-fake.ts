/**
 * What DynamoDB and SQS check before an operation runs, the way their JSON protocol (awsJson1_0)
 * does: `POST /`, `Content-Type: application/x-amz-json-1.0`, a known access key, a SigV4
 * signature for this service that `aws4` (an implementation independent of the signer) recomputes
 * to the same value, a fresh `x-amz-date`, an operation in `X-Amz-Target`, a JSON body. Failures
 * answer as the services do: HTTP 400 with `{ "__type": "...#Code", "message": "..." }`.
 */
import type { ReceivedRequest } from '../../src/testing/receiver'
import { startRecordingServer, type FakeAnswer, type RecordingServer } from './recording-server'
import { sigV4Parts, verifySigV4 } from './sigv4-check'

export interface AwsKey {
  accessKeyId: string
  secretAccessKey: string
}

/** An operation's handler: its output, or an error to answer with. */
export type AwsOperation = (input: Record<string, unknown>, request: ReceivedRequest) => { output: unknown } | { error: AwsError }

export interface AwsError {
  /** `__type`, such as `com.amazonaws.dynamodb.v20120810#ResourceNotFoundException`. */
  type: string
  message: string
  status?: number
}

/**
 * An error answer as the JSON protocol sends it.
 *
 * @example
 * ```ts
 * server.answerNext(awsError({ type: 'com.amazonaws.sqs#QueueDoesNotExist', message: 'The specified queue does not exist.' }))
 * ```
 */
export function awsError(error: AwsError): FakeAnswer {
  return { status: error.status ?? 400, body: { __type: error.type, message: error.message }, headers: { 'x-amzn-errortype': error.type.split('#').at(-1)! } }
}

/** Starts a fake AWS JSON service signed as `service`, whose operations are `operations`. */
export async function startAwsJsonFake(settings: {
  service: string
  targetPrefix: string
  keys: AwsKey[]
  operations: Record<string, AwsOperation>
}): Promise<RecordingServer> {
  const coral = 'com.amazon.coral.service'
  return startRecordingServer((request) => {
    const refuse = (code: string, message: string, status = 400) => awsError({ type: `${coral}#${code}`, message, status })
    if (request.method !== 'POST' || request.path !== '/') return refuse('UnknownOperationException', `${request.method} ${request.path}: requests go to POST /`, 404)
    if (request.headers['content-type'] !== 'application/x-amz-json-1.0') return refuse('SerializationException', `Content-Type ${request.headers['content-type']} is not application/x-amz-json-1.0`)
    let parts: ReturnType<typeof sigV4Parts>
    try {
      parts = sigV4Parts(request.headers.authorization)
    } catch {
      return refuse('MissingAuthenticationTokenException', 'Request is missing Authentication Token')
    }
    const key = settings.keys.find((candidate) => candidate.accessKeyId === parts.accessKeyId)
    if (key === undefined) return refuse('UnrecognizedClientException', 'The security token included in the request is invalid.')
    if (parts.service !== settings.service) return refuse('InvalidSignatureException', `Credential should be scoped to correct service: '${settings.service}'.`)
    try {
      verifySigV4(request, key)
    } catch (error) {
      return refuse('InvalidSignatureException', `The request signature we calculated does not match the signature you provided (${(error as Error).message}).`)
    }
    const signedAt = Date.parse(String(request.headers['x-amz-date']).replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'))
    if (!(Math.abs(Date.now() - signedAt) < 15 * 60_000)) return refuse('InvalidSignatureException', 'Signature expired or x-amz-date missing.')
    const target = String(request.headers['x-amz-target'] ?? '')
    const operation = target.startsWith(`${settings.targetPrefix}.`) ? settings.operations[target.slice(settings.targetPrefix.length + 1)] : undefined
    if (operation === undefined) return refuse('UnknownOperationException', `X-Amz-Target ${target} is not an operation of this fake`)
    if (request.json === null || typeof request.json !== 'object' || Array.isArray(request.json)) return refuse('SerializationException', 'The body is not a JSON object.')
    const result = operation(request.json as Record<string, unknown>, request)
    return 'error' in result ? awsError(result.error) : { status: 200, body: result.output }
  }, 'application/x-amz-json-1.0')
}
