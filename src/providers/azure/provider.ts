/**
 * Azure OpenAI on the official `openai` SDK's `AzureOpenAI` client: the same chat, streams,
 * embeddings and errors as `openai()`, sent to `{endpoint}/openai/deployments/{deployment}/...` with
 * `?api-version=` and the key in the `api-key` header. The model name is the deployment's name, as in
 * LiteLLM (`azure/my-gpt-4o-deployment`).
 */
import { ValidationError } from '../../errors'
import type { Provider } from '../../types'
import { firstSet, type ProviderDescriptor, type ProviderSettings } from '../descriptor'
import { resolveOpenAISettings } from '../openai/common'
import { openaiSdk } from '../openai/provider'

/** Azure's current generally available API version, used when neither `api_version` nor `AZURE_API_VERSION` says one. */
export const defaultAzureApiVersion = '2024-10-21'

/**
 * Options of `azure()`.
 *
 * @example
 * ```ts
 * const options: AzureOptions = { apiKey: process.env.AZURE_API_KEY, apiBase: 'https://my-resource.openai.azure.com', apiVersion: '2024-10-21' }
 * ```
 */
export interface AzureOptions {
  /** Default `AZURE_API_KEY`, then `AZURE_OPENAI_API_KEY`. */
  apiKey?: string
  /** The resource's endpoint, `https://<resource>.openai.azure.com`; default `AZURE_API_BASE`, then `AZURE_OPENAI_ENDPOINT`. */
  apiBase?: string
  /** Default `AZURE_API_VERSION`, then `OPENAI_API_VERSION`, then {@link defaultAzureApiVersion}. */
  apiVersion?: string
  /** Milliseconds to wait for an answer, default 10 minutes. */
  timeout?: number
  /** The provider name in events and errors, default `azure`. */
  name?: string
}

/**
 * A provider for Azure OpenAI deployments. The SDK is loaded on the first call.
 *
 * @example
 * ```ts
 * const client = createClient({ providers: { azure: azure({ apiBase: 'https://my-resource.openai.azure.com' }) } })
 * await client.chat({ model: 'azure/my-gpt-4o-deployment', messages: [{ role: 'user', content: 'Hi' }] })
 * ```
 */
export function azure(options: AzureOptions = {}, environment: ProviderSettings['environment'] = process.env): Provider {
  const apiKey = options.apiKey ?? firstSet(environment, ['AZURE_API_KEY', 'AZURE_OPENAI_API_KEY'])
  if (!apiKey) {
    throw new ValidationError('azure() needs an API key: set AZURE_API_KEY or pass api_key (azure({ apiKey }); in a proxy config litellm_params.api_key: os.environ/AZURE_API_KEY).', [
      { path: 'apiKey', message: 'required' },
    ])
  }
  const endpoint = options.apiBase ?? firstSet(environment, ['AZURE_API_BASE', 'AZURE_OPENAI_ENDPOINT'])
  if (!endpoint) {
    throw new ValidationError(
      'azure() needs the endpoint of your Azure OpenAI resource: set AZURE_API_BASE or pass api_base, for example https://my-resource.openai.azure.com.',
      [{ path: 'baseURL', message: 'required' }],
    )
  }
  const apiVersion = options.apiVersion ?? firstSet(environment, ['AZURE_API_VERSION', 'OPENAI_API_VERSION']) ?? defaultAzureApiVersion
  // LiteLLM configs give the resource's root; a base already ending in /openai is taken as it is.
  const baseURL = `${endpoint.replace(/\/+$/, '').replace(/\/openai$/, '')}/openai`
  const settings = resolveOpenAISettings({ name: options.name ?? 'azure', apiKey, baseURL, timeout: options.timeout })
  // baseURL rather than endpoint: the SDK refuses both, and would otherwise read OPENAI_BASE_URL for it.
  return openaiSdk(settings, (sdk) => new sdk.AzureOpenAI({ apiKey, baseURL, apiVersion, timeout: settings.timeout, maxRetries: 0 }))
}

/**
 * The Azure descriptor: `azure/<deployment>` with LiteLLM's `AZURE_API_KEY`, `AZURE_API_BASE` and
 * `AZURE_API_VERSION`.
 *
 * @example
 * ```ts
 * const provider = azureDescriptor.create({ apiBase: 'https://my-resource.openai.azure.com', apiVersion: '2024-10-21', environment: process.env })
 * ```
 */
export const azureDescriptor: ProviderDescriptor = {
  name: 'azure',
  prefixes: ['azure'],
  keyVariables: ['AZURE_API_KEY', 'AZURE_OPENAI_API_KEY'],
  baseVariables: ['AZURE_API_BASE', 'AZURE_OPENAI_ENDPOINT'],
  otelName: 'azure.ai.openai',
  openaiCompatible: false,
  create: (settings) => azure({ apiKey: settings.apiKey, apiBase: settings.apiBase, apiVersion: settings.apiVersion }, settings.environment),
}
