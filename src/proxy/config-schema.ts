/**
 * The zod schema of the proxy's `config.yaml`, in LiteLLM's shape. `os.environ/NAME` values are
 * resolved while parsing, so a missing variable is reported at the path that names it.
 */
import { alertingSettingKeys, alertingSettingsShape } from './alerting-settings'
import { z } from 'zod'
import { descriptorForPrefix, supportedPrefixes } from '../providers/descriptors'
import { providerForBareModel } from '../providers/router'
import { serverSettingKeys, serverSettingsShape } from './server-settings'
import { cacheParamsSchema, sharedStateRouterKeys, sharedStateShape } from './config-shared-state'
import { cacheParamsShape } from './config-cache'
import { keySettingKeys, keySettingsShape } from './keys/key-settings'
import { awsCallbackSettingKeys, awsCallbackSettingsShape } from './config-aws-callbacks'

/** Where `os.environ/NAME` references are read from. */
export type Environment = Record<string, string | undefined>

const environmentPrefix = 'os.environ/'

/** Providers a deployment's `litellm_params.model` may name (every prefix of docs/providers.md). */
export const supportedProviders: readonly string[] = supportedPrefixes()

/** Why `model` cannot be served, or undefined when it can. */
function unsupportedModel(model: string): string | undefined {
  // LiteLLM's `model: "*"`: the provider is the one the request's model names.
  if (model === '*') return undefined
  const slash = model.indexOf('/')
  const provider = slash > 0 ? model.slice(0, slash) : providerForBareModel(model)
  if (provider !== undefined && supportedProviders.includes(provider)) return undefined
  if (slash <= 0) return `cannot tell the provider of "${model}"; write it as provider/model, for example openai/${model} or mock/${model}`
  return `provider "${provider}" is not supported; use one of ${supportedProviders.join(', ')} (openai/<model> with api_base serves any OpenAI-compatible server: vLLM, Ollama, LM Studio, Groq, OpenRouter)`
}

/** Request parameters a deployment may set as defaults in `litellm_params` (the request's own value wins). */
export const defaultParameterKeys = [
  'temperature',
  'top_p',
  'max_tokens',
  'max_completion_tokens',
  'stop',
  'seed',
  'presence_penalty',
  'frequency_penalty',
  'response_format',
  'mock_response',
] as const

/**
 * `litellm_params` keys a provider reads itself, passed to its descriptor as `parameters`: Bedrock's
 * credentials, region and endpoint, in LiteLLM's names (litellm/llms/bedrock/base_aws_llm.py).
 */
export const providerParameterKeys = [
  'aws_access_key_id',
  'aws_secret_access_key',
  'aws_session_token',
  'aws_region_name',
  'aws_profile_name',
  'aws_bedrock_runtime_endpoint',
] as const

/** LiteLLM's AWS role-assumption keys, which llm-onion refuses rather than ignores, with what to write instead. */
const roleAssumptionKeys = ['aws_role_name', 'aws_session_name', 'aws_web_identity_token', 'aws_sts_endpoint', 'aws_external_id', 'aws_session_tags']

/** `litellm_params` keys the proxy reads; any other key is reported as ignored. */
export const knownParameterKeys = new Set<string>([
  ...providerParameterKeys,
  'model',
  'api_key',
  'api_base',
  'api_version',
  'weight',
  'rpm',
  'tpm',
  'latency_ms',
  'chunk_delay_ms',
  'transport',
  'timeout',
  'stream_timeout',
  ...pricingKeys(),
  ...defaultParameterKeys,
])

/** LiteLLM's custom pricing keys, in USD per token, in `litellm_params` or `model_info`. */
export function pricingKeys(): string[] {
  return ['input_cost_per_token', 'output_cost_per_token', 'cache_read_input_token_cost']
}

/** Keys read at each level of the config; anything else is reported as ignored at start. */
export const knownKeys = {
  root: new Set(['model_list', 'litellm_settings', 'general_settings', 'router_settings', 'environment_variables', 'guardrails']),
  model: new Set(['model_name', 'litellm_params', 'model_info', 'tpm', 'rpm']),
  litellmSettings: new Set([
    'callbacks',
    'success_callback',
    'failure_callback',
    'input_callback',
    'turn_off_message_logging',
    'drop_params',
    'num_retries',
    'request_timeout',
    'fallbacks',
    'context_window_fallbacks',
    'global_disable_no_log_param',
    // Its Redis connection is the shared store's (src/proxy/config-shared-state.ts); the rest sets up the cache (config-cache.ts).
    'cache',
    'default_team_settings',
    'cache_params',
    // LiteLLM's settings of its s3, aws_sqs and dynamodb callbacks (src/proxy/config-aws-callbacks.ts).
    ...awsCallbackSettingKeys,
  ]),
  generalSettings: new Set<string>(['master_key', 'max_request_size_mb', ...serverSettingKeys, ...keySettingKeys, ...alertingSettingKeys]),
  routerSettings: new Set([
    'routing_strategy',
    'model_group_alias',
    'num_retries',
    'timeout',
    'stream_timeout',
    'fallbacks',
    'context_window_fallbacks',
    // Routing strategies, cooldowns and the shared store (src/proxy/routing-strategies.ts, cooldowns.ts, config-shared-state.ts).
    'routing_strategy_args',
    'allowed_fails',
    'cooldown_time',
    'disable_cooldowns',
    ...sharedStateRouterKeys,
  ]),
}

/**
 * Native names accepted beside LiteLLM's, per level: `{ native: litellm }`. Both forms at once is
 * an error; after normalisation only LiteLLM's names remain.
 */
export const nativeAliases = {
  root: { models: 'model_list', settings: 'litellm_settings', server: 'general_settings', router: 'router_settings', env: 'environment_variables' },
  model: { name: 'model_name', params: 'litellm_params', info: 'model_info' },
  litellmSettings: { success: 'success_callback', failure: 'failure_callback', input: 'input_callback', redact_messages: 'turn_off_message_logging' },
  generalSettings: {},
  routerSettings: {},
} as const

/** Builds the schema for one load; `environment` answers `os.environ/NAME` references. */
export function configSchema(environment: Environment) {
  const resolve = (value: string, ctx: z.RefinementCtx): string => {
    if (!value.startsWith(environmentPrefix)) return value
    const name = value.slice(environmentPrefix.length)
    const found = environment[name]
    if (found === undefined || found === '') {
      ctx.addIssue({
        code: 'custom',
        message: `environment variable ${name} is not set (the value is "${value}"); export ${name}, or write the value in the config`,
      })
      return value
    }
    return found
  }
  const text = z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : `must be a string, found ${typeof issue.input}`) })
    .transform(resolve)
  const nonEmpty = text.pipe(z.string().min(1, 'must not be empty'))
  const number = z.union([z.number(), text.pipe(z.coerce.number())], {
    error: (issue) => (issue.input === undefined ? 'is required' : `must be a number, for example 20000, found ${JSON.stringify(issue.input)}`),
  })
  // A single name is accepted where LiteLLM takes a list, as LiteLLM does.
  const listOf = <Item extends z.ZodType>(item: Item) => z.preprocess((value) => (typeof value === 'string' ? [value] : value), z.array(item))
  const names = listOf(nonEmpty)
  // `callbacks` takes module.instance references and, as LiteLLM's own configs write it, built-in names ("otel").
  const callback = nonEmpty.pipe(
    z
      .string()
      .regex(
        /^(?:[\w./-]+\.[A-Za-z_$][\w$]*|[A-Za-z_][\w-]*)$/,
        'must be module.instance (for example proxy_callbacks.proxy_logger_instance) or a built-in integration name (for example otel)',
      ),
  )
  const callbackList = listOf(callback)
  // A per-team callback variable (langfuse_public_key: os.environ/TEAM_A_PK); numbers and booleans as text.
  const callbackVariable = z.preprocess((value) => (typeof value === 'number' || typeof value === 'boolean' ? String(value) : value), text.nullable())
  const resolveDeep = (value: unknown, ctx: z.RefinementCtx): unknown => {
    if (typeof value === 'string') return resolve(value, ctx)
    if (Array.isArray(value)) return value.map((item) => resolveDeep(item, ctx))
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolveDeep(item, ctx)]))
    }
    return value
  }
  const anything = z.unknown().transform(resolveDeep)
  const seconds = number.pipe(z.number().positive('must be above 0 (seconds, for example 30)'))
  const retries = number.pipe(z.number().int('must be a whole number').min(0))
  // LiteLLM's shape: a list of one-key mappings, - { gpt-4o: [gpt-4o-mini, claude] }.
  const fallbackList = z.array(z.record(z.string(), listOf(nonEmpty)), {
    error: 'must be a list of model_name: [model names to try next], for example - { gpt-4o: [gpt-4o-mini] }',
  })

  const parameters = z
    .looseObject({
      model: nonEmpty.superRefine((model, ctx) => {
        const problem = unsupportedModel(model)
        if (problem) ctx.addIssue({ code: 'custom', message: problem })
      }),
      api_key: nonEmpty.optional(),
      api_base: nonEmpty.pipe(z.url('must be a URL, for example http://localhost:11434/v1')).optional(),
      api_version: nonEmpty.optional(),
      weight: number.pipe(z.number().positive('must be above 0')).optional(),
      rpm: number.pipe(z.number().positive()).optional(),
      tpm: number.pipe(z.number().positive()).optional(),
      latency_ms: number.pipe(z.number().min(0)).optional(),
      chunk_delay_ms: number.pipe(z.number().min(0)).optional(),
      input_cost_per_token: number.pipe(z.number().min(0)).optional(),
      output_cost_per_token: number.pipe(z.number().min(0)).optional(),
      cache_read_input_token_cost: number.pipe(z.number().min(0)).optional(),
      temperature: anything.optional(),
      top_p: anything.optional(),
      max_tokens: anything.optional(),
      max_completion_tokens: anything.optional(),
      stop: anything.optional(),
      seed: anything.optional(),
      presence_penalty: anything.optional(),
      frequency_penalty: anything.optional(),
      response_format: anything.optional(),
      mock_response: text.optional(),
      timeout: seconds.optional(),
      stream_timeout: seconds.optional(),
      transport: text.pipe(z.enum(['http', 'sdk'], { error: 'must be http (undici, the default) or sdk (the official openai SDK)' })).optional(),
      aws_access_key_id: nonEmpty.optional(),
      aws_secret_access_key: nonEmpty.optional(),
      aws_session_token: nonEmpty.optional(),
      aws_region_name: nonEmpty.pipe(z.string().regex(/^[a-z0-9-]+$/, 'must be an AWS region, for example us-east-1')).optional(),
      aws_profile_name: nonEmpty.optional(),
      aws_bedrock_runtime_endpoint: nonEmpty.pipe(z.url('must be a URL, for example https://bedrock-runtime.us-east-1.amazonaws.com')).optional(),
    })
    .superRefine((parameters, ctx) => {
      for (const key of roleAssumptionKeys) {
        if ((parameters as Record<string, unknown>)[key] === undefined) continue
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: 'is not supported: llm-onion does not assume AWS roles itself; put the role in an AWS profile (role_arn and source_profile, or web_identity_token_file, in ~/.aws/config) and name it with aws_profile_name',
        })
      }
      const slash = parameters.model.indexOf('/')
      const provider = slash > 0 ? parameters.model.slice(0, slash) : providerForBareModel(parameters.model)
      if (parameters.transport !== undefined && !(provider !== undefined && descriptorForPrefix(provider)?.openaiCompatible)) {
        ctx.addIssue({ code: 'custom', path: ['transport'], message: `applies to openai/ deployments only (and the OpenAI-compatible providers of docs/providers.md); remove it from this ${provider ?? 'unknown'} deployment` })
      }
    })

  const model = z.looseObject({
    model_name: nonEmpty,
    litellm_params: parameters,
    model_info: z.record(z.string(), anything).optional(),
    // LiteLLM reads tpm / rpm beside litellm_params as well as inside it.
    rpm: number.pipe(z.number().positive()).optional(),
    tpm: number.pipe(z.number().positive()).optional(),
  })
  // An alias names a model_name; LiteLLM also writes it { model, hidden } (hidden: left out of GET /v1/models).
  const alias = z.union([nonEmpty, z.looseObject({ model: nonEmpty, hidden: z.boolean().optional() })], {
    error: 'must name a model_name, for example gpt-4: gpt-4o, or be { model: gpt-4o, hidden: true }',
  })

  return z.looseObject({
    model_list: z
      .array(model, {
        error: (issue) =>
          issue.input === undefined || issue.input === null
            ? 'is required: list the models to serve, for example - { model_name: gpt-3.5-turbo, litellm_params: { model: mock/gpt-3.5-turbo } }'
            : 'must be a list of models, each - { model_name: ..., litellm_params: { model: provider/model } }',
      })
      .min(1, 'list at least one model, for example { model_name: gpt-3.5-turbo, litellm_params: { model: mock/gpt-3.5-turbo } }'),
    litellm_settings: z
      .looseObject({
        callbacks: callbackList.optional(),
        success_callback: names.optional(),
        failure_callback: names.optional(),
        input_callback: names.optional(),
        turn_off_message_logging: z.boolean().optional(),
        drop_params: z.boolean().optional(),
        num_retries: retries.optional(),
        request_timeout: seconds.optional(),
        fallbacks: fallbackList.nullish(),
        context_window_fallbacks: fallbackList.nullish(),
        global_disable_no_log_param: z.boolean({ error: 'must be true (requests may not switch logging off) or false' }).optional(),
        cache: z.boolean({ error: 'must be true (cache replies, docs/middleware/cache.md) or false' }).optional(),
        cache_params: cacheParamsSchema(text, number).extend(cacheParamsShape(text, number)).nullish(),
        ...awsCallbackSettingsShape(text, nonEmpty, number),
        // Per-team callbacks (src/proxy/team-logging-settings.ts): the lists, and the team's variables beside them or under callback_vars.
        default_team_settings: z
          .array(
            z
              .looseObject({
                team_id: nonEmpty,
                success_callback: names.optional(),
                failure_callback: names.optional(),
                callback_vars: z.record(z.string(), callbackVariable).optional(),
              })
              .catchall(callbackVariable),
            { error: 'must be a list of - { team_id, success_callback: [langfuse], langfuse_public_key, langfuse_secret, ... }' },
          )
          .nullish(),
      })
      .nullish(),
    general_settings: z
      .looseObject({
        master_key: nonEmpty.optional(),
        max_request_size_mb: number.pipe(z.number().positive()).optional(),
        ...serverSettingsShape(number, listOf),
        ...keySettingsShape(number, nonEmpty),
        ...alertingSettingsShape(number),
      })
      .nullish(),
    router_settings: z
      .looseObject({
        routing_strategy: text.optional(),
        model_group_alias: z.record(z.string(), alias).nullish(),
        num_retries: retries.optional(),
        timeout: seconds.optional(),
        stream_timeout: seconds.optional(),
        fallbacks: fallbackList.nullish(),
        context_window_fallbacks: fallbackList.nullish(),
        routing_strategy_args: z
          .looseObject({
            ttl: seconds.optional(),
            lowest_latency_buffer: number.pipe(z.number().min(0, 'must be 0 or more (0.5: within 50% of the fastest)')).optional(),
          })
          .nullish(),
        allowed_fails: retries.optional(),
        cooldown_time: number.pipe(z.number().min(0, 'must be 0 or more seconds')).optional(),
        disable_cooldowns: z.boolean({ error: 'must be true or false' }).optional(),
        ...sharedStateShape(text, number),
      })
      .nullish(),
    // LiteLLM's guardrails section; each entry is checked by src/proxy/guardrails-config.ts.
    guardrails: z.array(anything, { error: 'must be a list of { guardrail_name, litellm_params: { guardrail, mode } }' }).nullish(),
    // An entry without a value leaves the variable as the environment has it, as LiteLLM does.
    environment_variables: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()], { error: 'must be a string, a number, a boolean or empty' }))
      .nullish(),
  })
}

export type RawConfig = z.output<ReturnType<typeof configSchema>>
