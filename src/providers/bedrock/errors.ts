/**
 * AWS errors → the llm-onion error family. The Bedrock runtime client throws its modelled exceptions
 * (`ThrottlingException`, `ValidationException`, ...) by the name AWS sends in `x-amzn-ErrorType`,
 * a generic service exception of that name for the ones it does not model (the signature and
 * credential errors of AWS's front door), credential-chain errors before a request is sent, and
 * Node's network errors; each becomes the typed error with its status, retryability, AWS's message
 * and a hint that says what to fix, scrubbed of every known credential.
 */
import {
  AbortError,
  APIConnectionError,
  AuthenticationError,
  BadRequestError,
  ContextWindowExceededError,
  errorForStatus,
  InternalServerError,
  isLlmError,
  TimeoutError,
  type LlmError,
  type LlmErrorOptions,
} from '../../errors'
import { scrubError } from '../../secret-scrubber'

/** Who failed, for the messages: the facts every mapped error carries. */
export interface BedrockErrorTarget {
  provider: string
  model: string
  region: string
  endpoint: string
  signal: AbortSignal
  /** Replaces the credentials the caller knows in what AWS or the SDK said. */
  scrub: (text: string) => string
}

/** What the SDK's errors carry besides `name` and `message`. */
interface AwsError extends Error {
  $fault?: 'client' | 'server'
  $metadata?: { httpStatusCode?: number; requestId?: string }
  code?: string
}

/** The HTTP status of each error the Converse API documents. */
const statusByName: Record<string, number> = {
  ValidationException: 400,
  ConflictException: 400,
  ServiceQuotaExceededException: 400,
  AccessDeniedException: 403,
  ResourceNotFoundException: 404,
  ModelTimeoutException: 408,
  ModelErrorException: 424,
  ModelStreamErrorException: 424,
  ThrottlingException: 429,
  ModelNotReadyException: 429,
  InternalServerException: 500,
  ServiceUnavailableException: 503,
}

/** AWS's answers to credentials it does not accept. */
const credentialErrors = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'IncompleteSignatureException',
  'MissingAuthenticationTokenException',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
])

const credentialsHint =
  'Check the AWS credentials: aws_access_key_id / aws_secret_access_key (and aws_session_token for temporary ones) in litellm_params, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in the environment, or the AWS profile the credential chain uses'
const contextWindowPattern = /input is too long|too many (?:input )?tokens|prompt is too long|context (?:window|length)|maximum context|exceeds? the (?:maximum|model)/i

/**
 * Any error the Bedrock runtime client threw (or the network under it) as an {@link LlmError},
 * scrubbed of every known credential: its message, and the SDK error it keeps as `cause`.
 *
 * @example
 * ```ts
 * try { await client.send(command, { abortSignal: call.signal }) } catch (error) { throw fromBedrockError(error, target) }
 * ```
 */
export function fromBedrockError(thrown: unknown, target: BedrockErrorTarget): LlmError {
  const error = bedrockErrorOf(thrown, target)
  scrubError(error, target.scrub)
  return error
}

function bedrockErrorOf(thrown: unknown, target: BedrockErrorTarget): LlmError {
  if (isLlmError(thrown)) return thrown
  const options: LlmErrorOptions = { provider: target.provider, model: target.model, cause: thrown }
  if (target.signal.aborted || (thrown as Error | undefined)?.name === 'AbortError') {
    const reason = target.signal.reason
    return isLlmError(reason) ? reason : new AbortError(undefined, options)
  }
  const error = thrown as AwsError
  const name = typeof error?.name === 'string' ? error.name : 'Error'
  const message = asSentence(typeof error?.message === 'string' && error.message !== '' ? error.message : name)
  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(message)) {
    return new AuthenticationError(`${target.provider} found no AWS credentials: ${message} ${credentialsHint}.`, { ...options, status: 401, retryable: false, code: name })
  }
  // The SDK's HTTP handler names a reset or broken connection TimeoutError too; those are the network's.
  if (name === 'TimeoutError' && error.$metadata?.httpStatusCode === undefined && error.code !== 'ECONNRESET' && error.code !== 'EPIPE') {
    return new TimeoutError(`${target.provider} did not answer in time at ${target.endpoint}. Raise bedrock({ timeout }) or use a timeout() layer.`, options)
  }
  const status = statusByName[name] ?? error.$metadata?.httpStatusCode
  if (status === undefined || error.$fault === undefined) {
    return new APIConnectionError(
      `Lost the connection to ${target.provider} at ${target.endpoint}: ${message} Check the endpoint (api_base / aws_bedrock_runtime_endpoint) and the network; retry() tries again.`,
      options,
    )
  }
  const said = `${target.provider} answered ${status} ${name}: ${message}`
  const mapped: LlmErrorOptions = { ...options, status, code: name }
  if (credentialErrors.has(name)) return new AuthenticationError(`${said} ${credentialsHint}.`, { ...mapped, retryable: false })
  if (name === 'ValidationException' && contextWindowPattern.test(message)) {
    return new ContextWindowExceededError(`${said} Shorten the messages or use a model with a larger context window.`, mapped)
  }
  if (status === 424) return new InternalServerError(`${said} The model failed; retry() tries again.`, { ...mapped, retryable: true })
  return errorForStatus(status, `${said}${hintFor(name, status, target)}`, mapped)
}

function hintFor(name: string, status: number, target: BedrockErrorTarget): string {
  if (name === 'AccessDeniedException') return ` The credentials may not call this model: allow bedrock:InvokeModel (and InvokeModelWithResponseStream) for it, and enable access to the model in ${target.region}.`
  if (name === 'ResourceNotFoundException' || status === 404) return ` Check the model id "${target.model}" and that it is offered in ${target.region} (aws_region_name).`
  if (name === 'ServiceQuotaExceededException') return ' Ask AWS for a higher quota, or send less.'
  if (name === 'ModelNotReadyException') return ' The model is still loading; retry() tries again.'
  if (status === 429) return ' Slow down, or add retry() so the call waits and tries again.'
  if (status === 408) return ' The model took too long; retry() tries again.'
  if (status >= 500) return ' The provider failed; retry() tries again.'
  return ''
}

/** A message that ends like a sentence, so the hint after it reads as one. */
function asSentence(message: string): string {
  const trimmed = message.trim()
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`
}

/**
 * The error for a stream that ended before `messageStop`: a dropped connection or a body cut short.
 *
 * @example
 * ```ts
 * if (!mapper.finished) throw streamCutOff(target)
 * ```
 */
export function streamCutOff(target: BedrockErrorTarget): APIConnectionError {
  return new APIConnectionError(
    `Lost the connection to ${target.provider} at ${target.endpoint}: the stream ended before the reply finished (no messageStop). Check the network; retry() tries again.`,
    { provider: target.provider, model: target.model },
  )
}

/**
 * The error for an embeddings call, which the Converse API does not serve.
 *
 * @example
 * ```ts
 * throw embeddingsUnsupported('bedrock', 'amazon.titan-embed-text-v2:0')
 * ```
 */
export function embeddingsUnsupported(provider: string, model: string): BadRequestError {
  return new BadRequestError(
    `${provider} serves chat through the Converse API; embeddings (InvokeModel with Titan or Cohere embedding models) are not supported yet. Embed with another provider.`,
    { provider, model, retryable: false, code: 'embeddings_unsupported' },
  )
}
