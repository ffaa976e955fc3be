/**
 * What a Bedrock provider is built from, read the way LiteLLM reads it (litellm/llms/bedrock/
 * base_aws_llm.py and chat/converse_handler.py): the region, the credentials, the endpoint, and the
 * model id with LiteLLM's routing prefixes taken off.
 */
import { z } from 'zod'
import { ValidationError } from '../../errors'
import { lazySchema } from '../../lazy-schema'
import { validate } from '../../validate'

const regionPattern = /^[a-z0-9-]+$/

const bedrockOptionsSchema = lazySchema(() =>
  z.object({
    name: z.string().min(1).default('bedrock'),
    region: z.string().regex(regionPattern, 'must be an AWS region such as us-east-1 (lowercase letters, digits and hyphens)').optional(),
    accessKeyId: z.string().min(1).optional(),
    secretAccessKey: z.string().min(1).optional(),
    sessionToken: z.string().min(1).optional(),
    profile: z.string().min(1).optional(),
    bearerToken: z.string().min(1).optional(),
    endpoint: z.url('must be a URL, for example https://bedrock-runtime.us-east-1.amazonaws.com').optional(),
    timeout: z.number().int().positive().default(600_000),
  }),
)

/**
 * Options of `bedrock()`; every one has a default read from the environment (see `bedrock()`).
 *
 * @example
 * ```ts
 * const options: BedrockOptions = { region: 'us-east-1', profile: 'bedrock-user' }
 * ```
 */
export type BedrockOptions = z.input<typeof bedrockOptionsSchema>

/** The options with the environment's values filled in, as the provider uses them. */
export interface BedrockSettings {
  name: string
  /** The region set by the options or a variable; undefined: the AWS config file's, else us-west-2. */
  region?: string
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  profile?: string
  bearerToken?: string
  endpoint?: string
  timeout: number
  /** Every credential these settings hold, for the client to scrub by value. */
  secrets: string[]
}

type Environment = Readonly<Record<string, string | undefined>>

/** The first non-empty value of `variables` in `environment`. */
function variable(environment: Environment, ...variables: string[]): string | undefined {
  for (const name of variables) if (environment[name]) return environment[name]
  return undefined
}

/**
 * `options` checked, with what they leave out taken from `environment` in LiteLLM's order:
 * - region: `region`, `AWS_REGION_NAME`, `AWS_REGION`, `AWS_DEFAULT_REGION` (else, per call, the AWS
 *   config file's region, else `us-west-2`);
 * - credentials: `accessKeyId` + `secretAccessKey` (+ `sessionToken`), else `AWS_ACCESS_KEY_ID` +
 *   `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`), else the AWS SDK's default chain (profile,
 *   SSO, web identity, container and instance roles);
 * - profile: `profile`, else `AWS_PROFILE_NAME` (the SDK reads `AWS_PROFILE` itself);
 * - bearer token (Bedrock API keys): `bearerToken`, else `AWS_BEARER_TOKEN_BEDROCK`;
 * - endpoint: `endpoint`, else `AWS_BEDROCK_RUNTIME_ENDPOINT`, else the region's.
 *
 * @example
 * ```ts
 * resolveBedrockSettings({}, { AWS_REGION_NAME: 'eu-west-1' }).region // 'eu-west-1'
 * ```
 */
export function resolveBedrockSettings(options: BedrockOptions, environment: Environment): BedrockSettings {
  const checked = validate(bedrockOptionsSchema, options, 'bedrock() options')
  const region = checked.region ?? variable(environment, 'AWS_REGION_NAME', 'AWS_REGION', 'AWS_DEFAULT_REGION')
  if (region !== undefined && !regionPattern.test(region)) {
    throw new ValidationError(`Invalid bedrock() options: the region "${region}" from the environment is not an AWS region such as us-east-1.`, [
      { path: 'region', message: 'must be an AWS region' },
    ])
  }
  const fromOptions = checked.accessKeyId !== undefined || checked.secretAccessKey !== undefined
  const accessKeyId = fromOptions ? checked.accessKeyId : variable(environment, 'AWS_ACCESS_KEY_ID')
  const secretAccessKey = fromOptions ? checked.secretAccessKey : variable(environment, 'AWS_SECRET_ACCESS_KEY')
  const sessionToken = fromOptions ? checked.sessionToken : variable(environment, 'AWS_SESSION_TOKEN')
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    const missing = accessKeyId === undefined ? 'accessKeyId' : 'secretAccessKey'
    const litellm = accessKeyId === undefined ? 'aws_access_key_id (AWS_ACCESS_KEY_ID)' : 'aws_secret_access_key (AWS_SECRET_ACCESS_KEY)'
    throw new ValidationError(`bedrock() got half of an AWS access key: set ${litellm} too, or neither to use the AWS credential chain.`, [
      { path: missing, message: 'required with the other half of the access key' },
    ])
  }
  const credentials = accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } : undefined
  const bearerToken = checked.bearerToken ?? variable(environment, 'AWS_BEARER_TOKEN_BEDROCK')
  const endpoint = (checked.endpoint ?? variable(environment, 'AWS_BEDROCK_RUNTIME_ENDPOINT'))?.replace(/\/+$/, '')
  const secrets = [credentials?.accessKeyId, credentials?.secretAccessKey, credentials?.sessionToken, bearerToken].filter((value): value is string => value !== undefined)
  return {
    name: checked.name,
    region,
    credentials,
    profile: checked.profile ?? variable(environment, 'AWS_PROFILE_NAME'),
    bearerToken,
    endpoint,
    timeout: checked.timeout,
    secrets,
  }
}

/** A model name as the Converse API takes it, and the region the name itself asks for. */
export interface BedrockModel {
  /** The model id, inference profile id or ARN to put in `/model/{modelId}/converse`. */
  modelId: string
  /** From `bedrock/<region>/<model>` or the model's ARN; undefined when the name says none. */
  region?: string
}

/** LiteLLM's route prefixes; llm-onion speaks Converse for every one of them. */
const routePrefixes = ['converse/', 'invoke/']
/** `us-east-1`, `eu-central-2`, `us-gov-west-1`, `ap-southeast-4`, ... */
const regionSegment = /^[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d+$/

/**
 * The model id of a `bedrock/...` model name (without `bedrock/`): LiteLLM's `converse/` and
 * `invoke/` route prefixes are taken off, a leading region segment (`us-east-1/<model>`) and an
 * ARN's region are kept as the call's region.
 *
 * @example
 * ```ts
 * bedrockModel('converse/us.anthropic.claude-3-5-haiku-20241022-v1:0') // { modelId: 'us.anthropic.claude-3-5-haiku-20241022-v1:0' }
 * bedrockModel('eu-west-1/anthropic.claude-3-haiku-20240307-v1:0') // { modelId: 'anthropic.claude-3-haiku-20240307-v1:0', region: 'eu-west-1' }
 * ```
 */
export function bedrockModel(model: string): BedrockModel {
  let modelId = model
  for (const prefix of routePrefixes) if (modelId.startsWith(prefix)) modelId = modelId.slice(prefix.length)
  let region: string | undefined
  const slash = modelId.indexOf('/')
  if (slash > 0 && !modelId.startsWith('arn:') && regionSegment.test(modelId.slice(0, slash))) {
    region = modelId.slice(0, slash)
    modelId = modelId.slice(slash + 1)
  }
  if (modelId.startsWith('arn:')) {
    const arnRegion = modelId.split(':')[3]
    if (arnRegion && regionPattern.test(arnRegion)) region ??= arnRegion
  }
  if (modelId === '') {
    throw new ValidationError(`Invalid chat request for bedrock: model "${model}" names no model id; write bedrock/<model id>, for example bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0.`, [
      { path: 'model', message: 'must name a Bedrock model id' },
    ])
  }
  return { modelId, region }
}
