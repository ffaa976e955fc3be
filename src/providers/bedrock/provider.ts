/**
 * Amazon Bedrock on AWS's own `@aws-sdk/client-bedrock-runtime`, through the Converse and
 * ConverseStream APIs: one request and answer shape for every chat model Bedrock hosts (Claude,
 * Llama, Mistral, Nova, ...). Requests and answers are OpenAI-shaped on our side (./request.ts,
 * ./reply.ts), errors are the llm-onion family (./errors.ts), region, credentials and endpoint are
 * read as LiteLLM reads them (./settings.ts).
 *
 * The SDK is loaded on the first call. It is given an HTTP/1.1 handler with a keep-alive connection
 * pool rather than its default HTTP/2 one: Converse and ConverseStream are plain request/response
 * over HTTP/1.1 (as boto3 and LiteLLM call them), HTTP/2 is needed only for the bidirectional
 * streaming operation llm-onion does not use, and the SDK's HTTP/2 handler opens a session per
 * request for this service.
 */
import type { BedrockRuntimeClient, BedrockRuntimeClientConfig, ConverseCommandOutput } from '@aws-sdk/client-bedrock-runtime'
import { isValidationError, ValidationError } from '../../errors'
import type { ChatChunk, ChatRequest, ChatResponse } from '../../schema'
import { createSecretScrubber } from '../../secret-scrubber'
import type { Provider, ProviderCall } from '../../types'
import type { ProviderDescriptor } from '../descriptor'
import { loadBedrock, type BedrockModule } from '../sdk-modules'
import { embeddingsUnsupported, fromBedrockError, streamCutOff, type BedrockErrorTarget } from './errors'
import { StreamMapper, toChatResponse } from './reply'
import { toConverseRequest } from './request'
import { bedrockModel, resolveBedrockSettings, type BedrockOptions, type BedrockSettings } from './settings'

export type { BedrockOptions } from './settings'

/** LiteLLM's region when nothing names one (base_aws_llm.py). */
const fallbackRegion = 'us-west-2'

/**
 * A provider for Amazon Bedrock's chat models. Model names are Bedrock model ids, inference profile
 * ids or ARNs: `bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0`, `bedrock/us.meta.llama3-2-11b-instruct-v1:0`,
 * LiteLLM's `bedrock/converse/<id>`, and `bedrock/<region>/<id>` for a region of its own.
 *
 * Options (each read from the environment when left out, as LiteLLM reads it):
 * - `region` — default `AWS_REGION_NAME`, `AWS_REGION`, `AWS_DEFAULT_REGION`, the AWS config file's region, then `us-west-2`.
 * - `accessKeyId`, `secretAccessKey`, `sessionToken` — default `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, else the AWS SDK's credential chain (profiles, SSO, web identity, container and instance roles).
 * - `profile` — the AWS profile for the chain; default `AWS_PROFILE_NAME` (the SDK reads `AWS_PROFILE` itself).
 * - `bearerToken` — a Bedrock API key, sent as `Authorization: Bearer` instead of a signature; default `AWS_BEARER_TOKEN_BEDROCK`.
 * - `endpoint` — default `AWS_BEDROCK_RUNTIME_ENDPOINT`, else `https://bedrock-runtime.<region>.amazonaws.com`.
 * - `timeout` — milliseconds to wait for an answer's headers, default 10 minutes.
 * - `name` — the provider name in events and errors, default `bedrock`.
 *
 * @example
 * ```ts
 * const client = createClient({ providers: { bedrock: bedrock({ region: 'us-east-1' }) } })
 * await client.chat({ model: 'bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0', messages: [{ role: 'user', content: 'Hi' }] })
 * ```
 */
export function bedrock(options: BedrockOptions = {}, environment: Readonly<Record<string, string | undefined>> = process.env): Provider {
  const settings = resolveBedrockSettings(options, environment)
  const name = settings.name
  const scrubber = createSecretScrubber(settings.secrets, {})
  // One SDK client per region: a model name may ask for a region of its own.
  const clients = new Map<string, BedrockRuntimeClient>()
  let sdk: BedrockModule | undefined
  let defaultRegion = settings.region
  const endpointOf = (region: string) => settings.endpoint ?? `https://bedrock-runtime.${region}.amazonaws.com`

  const clientFor = async (region: string | undefined): Promise<{ client: BedrockRuntimeClient; region: string }> => {
    sdk ??= await loadBedrock()
    const chosen = region ?? defaultRegion ?? (defaultRegion = await configuredRegion(sdk, settings))
    let client = clients.get(chosen)
    if (!client) clients.set(chosen, (client = new sdk.runtime.BedrockRuntimeClient(clientConfig(sdk, settings, chosen))))
    return { client, region: chosen }
  }

  const target = (call: ProviderCall, region: string): BedrockErrorTarget => ({
    provider: name,
    model: call.model,
    region,
    endpoint: endpointOf(region),
    signal: call.signal,
    scrub: call.context?.services ? (text) => call.context.scrub(text) : (text) => scrubber.scrub(text),
  })

  async function chat(request: ChatRequest, call: ProviderCall): Promise<ChatResponse> {
    const model = bedrockModel(call.model)
    const { body, jsonTool } = toConverseRequest(request, model.modelId)
    const { client, region } = await clientFor(model.region)
    call.context.apiBase = endpointOf(region)
    let response: ConverseCommandOutput
    try {
      response = await client.send(new sdk!.runtime.ConverseCommand({ modelId: model.modelId, ...body }), { abortSignal: call.signal })
    } catch (error) {
      throw fromBedrockError(error, target(call, region))
    }
    const requestId = response.$metadata.requestId
    if (call.context.keepRawReply) call.context.upstreamRequestId = requestId
    return toChatResponse(response, { id: idOf(requestId, call), model: model.modelId, jsonTool })
  }

  async function* stream(request: ChatRequest, call: ProviderCall): AsyncGenerator<ChatChunk> {
    const model = bedrockModel(call.model)
    const { body, jsonTool } = toConverseRequest(request, model.modelId)
    const { client, region } = await clientFor(model.region)
    call.context.apiBase = endpointOf(region)
    // Our own controller, so a consumer that stops early also closes the connection.
    const controller = new AbortController()
    const forward = () => controller.abort(call.signal.reason)
    if (call.signal.aborted) forward()
    else call.signal.addEventListener('abort', forward, { once: true })
    let mapper: StreamMapper | undefined
    let completed = false
    try {
      const response = await client.send(new sdk!.runtime.ConverseStreamCommand({ modelId: model.modelId, ...body }), { abortSignal: controller.signal })
      const requestId = response.$metadata.requestId
      if (call.context.keepRawReply) call.context.upstreamRequestId = requestId
      mapper = new StreamMapper({ id: idOf(requestId, call), model: model.modelId, jsonTool })
      for await (const event of response.stream ?? []) yield* mapper.map(event)
      completed = true
    } catch (error) {
      throw fromBedrockError(error, target(call, region))
    } finally {
      call.signal.removeEventListener('abort', forward)
      if (!completed) controller.abort()
    }
    if (!mapper?.finished) throw streamCutOff(target(call, region))
    const usage = mapper.usageChunk()
    if (usage) yield usage
  }

  async function embed(_request: unknown, call: ProviderCall): Promise<never> {
    throw embeddingsUnsupported(name, call.model)
  }

  return {
    name,
    apiBase: settings.endpoint ?? (settings.region ? endpointOf(settings.region) : undefined),
    secrets: settings.secrets,
    chat,
    stream,
    embed,
    close() {
      for (const client of clients.values()) client.destroy()
      clients.clear()
    },
  }
}

/** The response id: AWS's request id (`x-amzn-RequestId`), which finds the call in AWS's logs. */
function idOf(requestId: string | undefined, call: ProviderCall): string {
  return `chatcmpl-${requestId ?? `bedrock-${call.context.id}`}`
}

/** The SDK client's configuration: region, credentials or bearer token, endpoint, no SDK retries (the retry layer's), HTTP/1.1 keep-alive. */
function clientConfig(sdk: BedrockModule, settings: BedrockSettings, region: string): BedrockRuntimeClientConfig {
  const config: BedrockRuntimeClientConfig = {
    region,
    maxAttempts: 1,
    requestHandler: new sdk.http.NodeHttpHandler({
      httpAgent: { keepAlive: true, maxSockets: 50 },
      httpsAgent: { keepAlive: true, maxSockets: 50 },
      requestTimeout: settings.timeout,
      throwOnRequestTimeout: true,
    }),
  }
  if (settings.endpoint) config.endpoint = settings.endpoint
  if (settings.profile) config.profile = settings.profile
  if (settings.bearerToken) {
    config.token = { token: settings.bearerToken }
    config.authSchemePreference = ['httpBearerAuth']
  } else {
    // Explicit, so a bearer token in the process environment does not override the credentials chosen here.
    config.authSchemePreference = ['sigv4']
    if (settings.credentials) config.credentials = settings.credentials
  }
  return config
}

/** The region of the AWS config file (the SDK's own lookup), else LiteLLM's `us-west-2`. */
async function configuredRegion(sdk: BedrockModule, settings: BedrockSettings): Promise<string> {
  const probe = new sdk.runtime.BedrockRuntimeClient(settings.profile ? { profile: settings.profile } : {})
  try {
    return (await probe.config.region()) || fallbackRegion
  } catch {
    return fallbackRegion
  } finally {
    probe.destroy()
  }
}

/**
 * The Bedrock descriptor: `bedrock/<model id>` with LiteLLM's `aws_*` parameters and variables.
 * Credentials come from the AWS chain, so it has no key variable; it is on by default when AWS
 * credentials are in the environment.
 *
 * @example
 * ```ts
 * const provider = bedrockDescriptor.create({ parameters: { aws_region_name: 'us-east-1' }, environment: process.env })
 * ```
 */
export const bedrockDescriptor: ProviderDescriptor = {
  name: 'bedrock',
  prefixes: ['bedrock'],
  keyVariables: [],
  baseVariables: ['AWS_BEDROCK_RUNTIME_ENDPOINT'],
  defaultBaseURL: 'https://bedrock-runtime.<region>.amazonaws.com',
  enabledBy: ['AWS_ACCESS_KEY_ID', 'AWS_PROFILE', 'AWS_BEARER_TOKEN_BEDROCK', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'],
  switchOnHint:
    'Set AWS credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or AWS_BEARER_TOKEN_BEDROCK) and AWS_REGION_NAME, or pass providers: { bedrock: bedrock({ region }) } to createClient (docs/providers.md).',
  otelName: 'aws.bedrock',
  priceProviderId: 'aws',
  openaiCompatible: false,
  create: (settings) => {
    const parameters = settings.parameters ?? {}
    const text = (key: string): string | undefined => {
      const value = parameters[key]
      if (value === undefined || value === null) return undefined
      if (typeof value !== 'string') throw new ValidationError(`bedrock: ${key} must be a string.`, [{ path: key, message: 'must be a string' }])
      return value
    }
    const options: BedrockOptions = {
      region: text('aws_region_name'),
      accessKeyId: text('aws_access_key_id'),
      secretAccessKey: text('aws_secret_access_key'),
      sessionToken: text('aws_session_token'),
      profile: text('aws_profile_name'),
      // LiteLLM sends a deployment's api_key to Bedrock as a bearer token (a Bedrock API key).
      bearerToken: settings.apiKey,
      // api_base first, then aws_bedrock_runtime_endpoint, then AWS_BEDROCK_RUNTIME_ENDPOINT (get_runtime_endpoint).
      endpoint: settings.apiBase ?? text('aws_bedrock_runtime_endpoint'),
    }
    try {
      return bedrock(options, settings.environment)
    } catch (error) {
      // A config names these in LiteLLM's words: say which litellm_params key is wrong.
      const parameter = isValidationError(error) ? litellmNames[error.path] : undefined
      if (!parameter || !isValidationError(error)) throw error
      throw new ValidationError(error.message, [{ path: parameter, message: error.issues[0]?.message ?? 'invalid' }])
    }
  },
}

/** bedrock() option → the litellm_params key it is read from. */
const litellmNames: Record<string, string> = {
  region: 'aws_region_name',
  accessKeyId: 'aws_access_key_id',
  secretAccessKey: 'aws_secret_access_key',
  sessionToken: 'aws_session_token',
  profile: 'aws_profile_name',
  endpoint: 'aws_bedrock_runtime_endpoint',
}
