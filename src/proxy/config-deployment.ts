/**
 * One `model_list` entry of the proxy's config as a deployment: where calls for its model name go,
 * with its defaults, provider parameters, limits, timeouts and custom prices.
 */
import { createHash } from 'node:crypto'
import type { TokenPrices } from '../cost'
import { defaultParameterKeys, providerParameterKeys, type RawConfig } from './config-schema'

/**
 * One deployment of a model name (one `model_list` entry): where calls for it go.
 *
 * @example
 * ```ts
 * for (const deployment of config.models) console.log(deployment.modelName, '->', deployment.model)
 * ```
 */
export interface ModelDeployment {
  /** The name clients ask for (`gpt-3.5-turbo`, or a wildcard such as `openai/*`). */
  modelName: string
  /** `litellm_params.model`: `provider/model` (`openai/gpt-4o`, `mock/echo`, `openai/*`). */
  model: string
  apiKey?: string
  apiBase?: string
  /** `api_version` (Azure deployments). */
  apiVersion?: string
  /**
   * Share of traffic among the deployments of one model name, as LiteLLM's simple-shuffle reads it:
   * `weight` when any deployment of the name sets it, else `rpm`, else `tpm`; 1 for a deployment
   * without the one chosen.
   */
  weight: number
  /** `rpm` / `tpm` (in `litellm_params` or beside it): the deployment's limits per minute, which usage-based routing keeps to. */
  rpm?: number
  tpm?: number
  /** Mock deployments only: delay before the reply and between stream chunks, in ms. */
  latencyMs?: number
  chunkDelayMs?: number
  /** `litellm_params.timeout` in ms: the longest one try at this deployment may take. */
  timeoutMs?: number
  /** `litellm_params.stream_timeout` in ms: streams at this deployment, the longest wait for the first chunk and between chunks. */
  streamTimeoutMs?: number
  /** `litellm_params` the provider reads itself (Bedrock's `aws_*` keys); none when the entry sets none. */
  providerParameters?: Record<string, string>
  /** OpenAI deployments only: `http` (undici, the default) or `sdk` (the official `openai` SDK). */
  transport?: 'http' | 'sdk'
  /** Request parameters this deployment sets when the request does not (`temperature`, `mock_response`, ...). */
  defaults: Record<string, unknown>
  /**
   * Custom prices from LiteLLM's `input_cost_per_token` / `output_cost_per_token` /
   * `cache_read_input_token_cost` (in `litellm_params` or `model_info`), in USD per million tokens.
   */
  prices?: TokenPrices
  /** `model_info` from the config, with an `id` added when it has none; reaches `ctx.modelInfo`. */
  modelInfo: Record<string, unknown>
  /** Where this entry is in the file, for messages (`model_list[2]`). */
  where: string
}

type RawModel = RawConfig['model_list'][number]

/** One `model_list` entry as the deployment calls go to; `where` is its path in the file (`model_list[2]`). */
export function toDeployment(entry: RawModel, where: string, weight: number): ModelDeployment {
  const parameters = entry.litellm_params
  const defaults: Record<string, unknown> = {}
  for (const key of defaultParameterKeys) if (parameters[key] !== undefined) defaults[key] = parameters[key]
  const providerParameters: Record<string, string> = {}
  for (const key of providerParameterKeys) if (parameters[key] !== undefined) providerParameters[key] = parameters[key]
  const info = { ...entry.model_info }
  // LiteLLM gives every deployment a model_info.id; callbacks that key on it keep working.
  info.id ??= createHash('sha256').update(`${where}\n${entry.model_name}\n${parameters.model}\n${parameters.api_base ?? ''}`).digest('hex').slice(0, 16)
  return {
    modelName: entry.model_name,
    model: parameters.model,
    apiKey: parameters.api_key,
    apiBase: parameters.api_base,
    apiVersion: parameters.api_version,
    weight,
    rpm: parameters.rpm ?? entry.rpm,
    tpm: parameters.tpm ?? entry.tpm,
    latencyMs: parameters.latency_ms,
    chunkDelayMs: parameters.chunk_delay_ms,
    timeoutMs: parameters.timeout === undefined ? undefined : parameters.timeout * 1000,
    streamTimeoutMs: parameters.stream_timeout === undefined ? undefined : parameters.stream_timeout * 1000,
    transport: parameters.transport,
    ...(Object.keys(providerParameters).length > 0 ? { providerParameters } : {}),
    defaults,
    prices: customPrices(parameters, info),
    modelInfo: info,
    where,
  }
}

function customPrices(parameters: Record<string, unknown>, info: Record<string, unknown>): TokenPrices | undefined {
  const perToken = (key: string): number | undefined => {
    const value = parameters[key] ?? info[key]
    return typeof value === 'number' && Number.isFinite(value) ? value : typeof value === 'string' && value !== '' ? Number(value) : undefined
  }
  const input = perToken('input_cost_per_token')
  const output = perToken('output_cost_per_token')
  if (input === undefined && output === undefined) return undefined
  const cachedInput = perToken('cache_read_input_token_cost')
  const perMillion = (value: number) => Math.round(value * 1e6 * 1e9) / 1e9
  return {
    input: perMillion(input ?? 0),
    output: perMillion(output ?? 0),
    ...(cachedInput === undefined ? {} : { cachedInput: perMillion(cachedInput) }),
  }
}
