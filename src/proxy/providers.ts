/**
 * The provider instances a config needs: one per distinct (provider, api_base, api_key) so that
 * deployments sharing an upstream share one client and its kept-alive connections. OpenAI-compatible
 * deployments go over `undici` (`openai({ transport: 'http' })`, one connection pool each), which
 * costs a fraction of the SDK's CPU per call; `transport: sdk` in `litellm_params` picks the SDK.
 */
import { isValidationError } from '../errors'
import { gemini } from '../providers/gemini/provider'
import { mock } from '../providers/mock/provider'
import { openai } from '../providers/openai/provider'
import { providerForBareModel } from '../providers/router'
import type { Provider } from '../types'
import { ConfigError, type ModelDeployment } from './config'

/** Where one deployment's calls go: the provider's key in the client and the model it knows. */
export interface DeploymentTarget {
  /** Key of the provider instance in the client's providers (`openai`, `openai-2`, `mock`). */
  providerKey: string
  /** The model as the provider knows it; `*` in it is replaced by the part a wildcard matched. */
  providerModel: string
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
  for (const deployment of deployments) {
    const slash = deployment.model.indexOf('/')
    const kind = slash > 0 ? deployment.model.slice(0, slash) : providerForBareModel(deployment.model)!
    const providerModel = slash > 0 ? deployment.model.slice(slash + 1) : deployment.model
    const identity = JSON.stringify([kind, deployment.apiBase, deployment.apiKey, deployment.transport, deployment.latencyMs, deployment.chunkDelayMs])
    let providerKey = keysByIdentity.get(identity)
    if (providerKey === undefined) {
      providerKey = kind
      for (let count = 2; providers[providerKey] !== undefined; count++) providerKey = `${kind}-${count}`
      providers[providerKey] = createProvider(kind, deployment)
      keysByIdentity.set(identity, providerKey)
    }
    targets.set(deployment, { providerKey, providerModel })
  }
  return { providers, targets }
}

function createProvider(kind: string, deployment: ModelDeployment): Provider {
  try {
    switch (kind) {
      case 'openai':
        return openai({ apiKey: deployment.apiKey, baseURL: deployment.apiBase, transport: deployment.transport ?? 'http' })
      case 'gemini':
        return gemini({ apiKey: deployment.apiKey, baseUrl: deployment.apiBase })
      default:
        return mock({ latencyMs: deployment.latencyMs ?? 0, chunkDelayMs: deployment.chunkDelayMs ?? 0 })
    }
  } catch (error) {
    const variable = kind === 'openai' ? 'OPENAI_API_KEY' : 'GEMINI_API_KEY'
    // Without api_base, an unusable OPENAI_BASE_URL is the other thing that can be wrong.
    const baseURL = kind === 'openai' && isValidationError(error) && error.path === 'baseURL'
    const fix = baseURL ? 'set api_base, for example api_base: https://api.openai.com/v1' : `set api_key, for example api_key: os.environ/${variable}`
    throw new ConfigError(`${deployment.where}.litellm_params (model ${deployment.model}): ${(error as Error).message} In the config, ${fix}.`, [
      { path: `${deployment.where}.litellm_params.${baseURL ? 'api_base' : 'api_key'}`, message: (error as Error).message },
    ])
  }
}
