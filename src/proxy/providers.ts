/**
 * The provider instances a config needs: one per distinct (provider, api_base, api_key) so that
 * deployments sharing an upstream share one client and its kept-alive connections. OpenAI-compatible
 * deployments go over `undici` (`openai({ transport: 'http' })`, one connection pool each), which
 * costs a fraction of the SDK's CPU per call; `transport: sdk` in `litellm_params` picks the SDK.
 */
import { isValidationError } from '../errors'
import type { ProviderDescriptor } from '../providers/descriptor'
import { descriptorForPrefix } from '../providers/descriptors'
import { providerForBareModel } from '../providers/router'
import type { Provider } from '../types'
import { ConfigError, type ModelDeployment } from './config'
import { supportedProviders } from './config-schema'

/** Where one deployment's calls go: the provider's key in the client and the model it knows. */
export interface DeploymentTarget {
  /** Key of the provider instance in the client's providers (`openai`, `openai-2`, `mock`). */
  providerKey: string
  /** The model as the provider knows it; `*` in it is replaced by the part a wildcard matched. */
  providerModel: string
  /**
   * `litellm_params.model: "*"` only: the provider key for each provider the request's model may name
   * (`openai/gpt-4o`, or a bare `gpt-4o` whose provider is known), built from its environment variables.
   */
  byProvider?: Record<string, string>
}

/** The providers of a config and the target of every deployment. */
export interface ProxyProviders {
  providers: Record<string, Provider>
  targets: Map<ModelDeployment, DeploymentTarget>
}

/**
 * Builds the providers of `deployments`. A provider that cannot be built (a missing key) fails here,
 * at start, with the config path of the deployment that needs it.
 *
 * @example
 * ```ts
 * const { providers, targets } = buildProviders(config.models)
 * const client = createClient({ providers })
 * ```
 */
export function buildProviders(deployments: ReadonlyArray<ModelDeployment>): ProxyProviders {
  const providers: Record<string, Provider> = {}
  const keysByIdentity = new Map<string, string>()
  const targets = new Map<ModelDeployment, DeploymentTarget>()
  const keyFor = (kind: string, deployment: ModelDeployment, build: () => Provider): string => {
    const identity = JSON.stringify([kind, deployment.apiBase, deployment.apiKey, deployment.transport, deployment.latencyMs, deployment.chunkDelayMs, deployment.providerParameters])
    let providerKey = keysByIdentity.get(identity)
    if (providerKey === undefined) {
      providerKey = kind
      for (let count = 2; providers[providerKey] !== undefined; count++) providerKey = `${kind}-${count}`
      providers[providerKey] = build()
      keysByIdentity.set(identity, providerKey)
    }
    return providerKey
  }
  for (const deployment of deployments) {
    if (deployment.model === '*') {
      targets.set(deployment, { providerKey: '*', providerModel: '*', byProvider: anyProvider(deployment, keyFor) })
      continue
    }
    const slash = deployment.model.indexOf('/')
    const prefix = slash > 0 ? deployment.model.slice(0, slash) : providerForBareModel(deployment.model)!
    // The config schema admits only known prefixes; `ollama_chat` and `ollama` share one provider.
    const descriptor = descriptorForPrefix(prefix)!
    const providerModel = slash > 0 ? deployment.model.slice(slash + 1) : deployment.model
    const providerKey = keyFor(descriptor.name, deployment, () => createProvider(descriptor, deployment))
    targets.set(deployment, { providerKey, providerModel })
  }
  return { providers, targets }
}

/**
 * LiteLLM's `model: "*"`: every provider whose credentials are at hand (the mock always), each from
 * its environment variables; one without them is left out, and a request naming it is answered 404.
 */
function anyProvider(deployment: ModelDeployment, keyFor: (kind: string, deployment: ModelDeployment, build: () => Provider) => string): Record<string, string> {
  const byProvider: Record<string, string> = {}
  for (const prefix of supportedProviders) {
    const descriptor = descriptorForPrefix(prefix)!
    try {
      byProvider[prefix] = keyFor(descriptor.name, deployment, () => createProvider(descriptor, deployment))
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
    }
  }
  return byProvider
}

function createProvider(descriptor: ProviderDescriptor, deployment: ModelDeployment): Provider {
  try {
    return descriptor.create({
      apiKey: deployment.apiKey,
      apiBase: deployment.apiBase,
      apiVersion: deployment.apiVersion,
      parameters: deployment.providerParameters,
      transport: descriptor.openaiCompatible ? (deployment.transport ?? 'http') : undefined,
      latencyMs: deployment.latencyMs,
      chunkDelayMs: deployment.chunkDelayMs,
      environment: process.env,
    })
  } catch (error) {
    const variable = descriptor.keyVariables[0] ?? `${descriptor.name.toUpperCase()}_API_KEY`
    // A provider's own litellm_params (Bedrock's aws_*) are named by its error; the config path is theirs.
    const ownParameter = isValidationError(error) && error.path.startsWith('aws_') ? error.path : undefined
    if (ownParameter) {
      throw new ConfigError(`${deployment.where}.litellm_params (model ${deployment.model}): ${(error as Error).message}`, [
        { path: `${deployment.where}.litellm_params.${ownParameter}`, message: (error as Error).message },
      ])
    }
    // Without api_base, an unusable base variable (OPENAI_BASE_URL) or none at all is the other thing that can be wrong.
    const baseURL = isValidationError(error) && error.path === 'baseURL'
    const example = descriptor.defaultBaseURL ?? 'http://localhost:8000/v1'
    const fix = baseURL ? `set api_base, for example api_base: ${example}` : `set api_key, for example api_key: os.environ/${variable}`
    throw new ConfigError(`${deployment.where}.litellm_params (model ${deployment.model}): ${(error as Error).message} In the config, ${fix}.`, [
      { path: `${deployment.where}.litellm_params.${baseURL ? 'api_base' : 'api_key'}`, message: (error as Error).message },
    ])
  }
}
