/**
 * Model names to deployments. A request names a `model_name`; the router picks one of its
 * deployments (weighted random, LiteLLM's simple-shuffle) and, when that deployment fails in a way
 * another might not, falls back to the next, inside the onion so outer layers see one call.
 */
import { timeout } from '../../middleware/timeout'
import { defineRepeatingMiddleware } from '../compose'
import type { Context } from '../context'
import { isAbortError, isLlmError, isValidationError, NotFoundError, type LlmError } from '../errors'
import { providerForBareModel } from '../providers/router'
import type { Middleware } from '../types'
import type { ModelDeployment } from './config'
import type { DeploymentTarget } from './providers'
import type { Routing } from './routing'
import type { AttemptOutcome } from './routing-strategies'

/** One deployment, ready to route to. */
export interface RoutedDeployment {
  deployment: ModelDeployment
  target: DeploymentTarget
  /** The `model_info` every call served by this deployment carries. */
  modelInfo: Record<string, unknown>
  /** Its `model_info.id`: what a call names it by (`CallOptions.deployment`) to have it tried first. */
  id: string
  /**
   * The client's model name for it (`openai/gpt-4o`), built once: the same string every call, which
   * the provider lookup finds faster than a new one (unused by wildcard deployments).
   */
  model: string
  /** `litellm_params.timeout` / `stream_timeout` as a `timeout()` layer around each try at this deployment. */
  timeout?: Middleware
  /** simple-shuffle's weight, and the rpm / tpm limits usage-based routing keeps to. */
  weight: number
  rpm?: number
  tpm?: number
}

/** The deployments answering one `model_name`. */
export interface ModelGroup {
  name: string
  deployments: RoutedDeployment[]
  /** `openai/*` matches `openai/` + anything; the matched part replaces `*` in the target. */
  wildcardPrefix?: string
  /** The first deployment to try: weighted random among several (simple-shuffle). */
  pick(): RoutedDeployment
}

/** Finds model groups and provides the routing layer. */
export interface Router {
  /** The group serving `model`: exact names first, then aliases (`model_group_alias`), then the longest wildcard. */
  find(model: string): ModelGroup | undefined
  /** Every configured model name, in config order, then the aliases that are not hidden. */
  readonly modelNames: string[]
  /** The innermost layer: sends each attempt to a deployment, falling back between them. */
  readonly layer: Middleware
}

/** What {@link applyDefaults} returns when it set nothing, the common case: no array per call. */
const noneAdded: string[] = []

/**
 * Builds the router of a config's deployments; `aliases` (`router_settings.model_group_alias`) map
 * further names onto model names, and those in `hiddenAliases` are left out of `modelNames`.
 * `routing` (src/proxy/routing.ts) orders the deployments by another strategy than simple-shuffle
 * and leaves out those cooling down; without it the router touches no store.
 *
 * @example
 * ```ts
 * const router = createRouter(config.models, targets)
 * client.use(router.layer)
 * router.find('gpt-3.5-turbo')?.pick().deployment.model // 'mock/gpt-3.5-turbo'
 * ```
 */
export function createRouter(
  deployments: ReadonlyArray<ModelDeployment>,
  targets: ReadonlyMap<ModelDeployment, DeploymentTarget>,
  aliases: Readonly<Record<string, string>> = {},
  hiddenAliases: ReadonlyArray<string> = [],
  routing?: Routing,
): Router {
  const exact = new Map<string, ModelGroup>()
  const wildcards: ModelGroup[] = []
  const byName = new Map<string, RoutedDeployment[]>()
  for (const deployment of deployments) {
    const list = byName.get(deployment.modelName) ?? []
    const target = targets.get(deployment)!
    list.push({
      deployment,
      target,
      modelInfo: deployment.modelInfo,
      id: String(deployment.modelInfo.id),
      model: `${target.providerKey}/${target.providerModel}`,
      timeout: deploymentTimeout(deployment),
      weight: deployment.weight,
      rpm: deployment.rpm,
      tpm: deployment.tpm,
    })
    byName.set(deployment.modelName, list)
  }
  for (const [name, list] of byName) {
    const star = name.indexOf('*')
    const group = createGroup(name, list, star === -1 ? undefined : name.slice(0, star))
    if (group.wildcardPrefix === undefined) exact.set(name, group)
    else wildcards.push(group)
  }
  wildcards.sort((left, right) => right.wildcardPrefix!.length - left.wildcardPrefix!.length)

  const aliased = new Map(Object.entries(aliases))
  const findName = (model: string): ModelGroup | undefined => {
    const group = exact.get(model)
    if (group) return group
    for (const wildcard of wildcards) if (model.startsWith(wildcard.wildcardPrefix!)) return wildcard
    return undefined
  }
  const find = (model: string): ModelGroup | undefined => {
    const group = exact.get(model)
    if (group) return group
    const target = aliased.size === 0 ? undefined : aliased.get(model)
    return findName(target ?? model)
  }
  const modelNames = [...byName.keys(), ...[...aliased.keys()].filter((alias) => !hiddenAliases.includes(alias) && !byName.has(alias))]

  const layer = defineRepeatingMiddleware(async function router(ctx, _next, inner) {
    const request = ctx.request as Record<string, unknown>
    const requested = ctx.request.model
    const group = find(requested)
    if (!group) throw unknownModel(requested, modelNames)
    const order = routing === undefined ? attemptOrder(group, ctx.deployment) : await routing.order(group.name, group.deployments, ctx)
    let added = noneAdded
    for (let index = 0; ; index++) {
      const routed = order[index]!
      if (routing !== undefined && !(await routing.started(routed))) {
        // Its rpm for this minute went to another replica in the meantime: the next one, if any.
        if (index === order.length - 1) throw routing.exhausted(group.name)
        continue
      }
      // Epoch ms, as the first chunk's stamp; latency from the monotonic clock, which a reply within one ms does not round to 0.
      const began = routing === undefined ? 0 : Date.now()
      const beganPrecise = routing === undefined ? 0 : performance.now()
      const firstChunkBefore = ctx.timing.firstChunk
      ctx.modelInfo = routed.modelInfo
      for (const key of added) delete request[key]
      added = applyDefaults(request, routed.deployment.defaults)
      request.model = group.wildcardPrefix === undefined ? routed.model : wildcardModel(routed.target, group.wildcardPrefix, requested)
      try {
        await (routed.timeout ? routed.timeout(ctx, inner) : inner())
        if (routing !== undefined) await routing.finished(routed, outcomeOf(ctx, began, beganPrecise, firstChunkBefore), ctx)
        return
      } catch (error) {
        if (routing !== undefined) await routing.finished(routed, { ...outcomeOf(ctx, began, beganPrecise, firstChunkBefore), error }, ctx)
        if (index === order.length - 1 || !canFallBack(error, ctx)) throw error
        ctx.attempt++
      } finally {
        // Outer layers keep seeing the model name the client asked for.
        request.model = requested
      }
    }
  })

  return { find, modelNames, layer }
}

/** What the routing strategy records of an attempt that began at `began`. */
function outcomeOf(ctx: Context, began: number, beganPrecise: number, firstChunkBefore: number | undefined): AttemptOutcome {
  const firstChunk = ctx.timing.firstChunk
  return {
    // A deployment never measured counts 0 (latency-based routing tries it): a measured one must not.
    latencyMs: performance.now() - beganPrecise,
    ...(firstChunk !== undefined && firstChunk !== firstChunkBefore ? { firstChunkMs: firstChunk - began } : {}),
    ...(ctx.usage ? { outputTokens: ctx.usage.outputTokens, totalTokens: ctx.usage.totalTokens } : {}),
  }
}

function deploymentTimeout(deployment: ModelDeployment): Middleware | undefined {
  if (deployment.timeoutMs === undefined && deployment.streamTimeoutMs === undefined) return undefined
  return timeout({ ms: deployment.timeoutMs, firstChunkMs: deployment.streamTimeoutMs, chunkGapMs: deployment.streamTimeoutMs })
}

function createGroup(name: string, deployments: RoutedDeployment[], wildcardPrefix: string | undefined): ModelGroup {
  const weights = deployments.map((routed) => routed.deployment.weight)
  const total = weights.reduce((sum, weight) => sum + weight, 0)
  const pick =
    deployments.length === 1
      ? () => deployments[0]!
      : () => {
          let point = Math.random() * total
          for (let index = 0; index < deployments.length; index++) {
            point -= weights[index]!
            if (point < 0) return deployments[index]!
          }
          return deployments[deployments.length - 1]!
        }
  return { name, deployments, wildcardPrefix, pick }
}

/** The deployment the call names (`CallOptions.deployment`) first, else a weighted pick; then the others in config order. */
function attemptOrder(group: ModelGroup, deployment: string | undefined): RoutedDeployment[] {
  const all = group.deployments
  if (all.length === 1) return all
  const first = (deployment === undefined ? undefined : all.find((routed) => routed.id === deployment)) ?? group.pick()
  return [first, ...all.filter((routed) => routed !== first)]
}

/** Sets the deployment's defaults the request leaves out; returns the keys it set. */
function applyDefaults(request: Record<string, unknown>, defaults: Record<string, unknown>): string[] {
  let added = noneAdded
  for (const key in defaults) {
    if (request[key] !== undefined) continue
    request[key] = defaults[key]
    if (added === noneAdded) added = []
    added.push(key)
  }
  return added
}

/** The client's model name for a wildcard deployment: the matched part replaces `*` in the target. */
function wildcardModel(target: DeploymentTarget, wildcardPrefix: string, requested: string): string {
  if (target.byProvider) return anyProviderModel(target.byProvider, requested.slice(wildcardPrefix.length))
  return `${target.providerKey}/${target.providerModel.replace('*', requested.slice(wildcardPrefix.length))}`
}

/** `litellm_params.model: "*"`: the provider the model names (`openai/gpt-4o`, or a bare `gpt-4o`), if the proxy has it. */
function anyProviderModel(byProvider: Record<string, string>, model: string): string {
  const slash = model.indexOf('/')
  const kind = slash > 0 ? model.slice(0, slash) : providerForBareModel(model)
  const key = kind === undefined ? undefined : byProvider[kind]
  if (key === undefined) {
    const available = Object.keys(byProvider).join(', ')
    const message =
      kind === undefined
        ? `The model "${model}" names no provider; ask for provider/model, for example openai/${model} (this proxy can reach ${available}).`
        : `The model "${model}" names the provider "${kind}", which this proxy cannot reach (it can reach ${available}); its key variable is not set, or it is not supported.`
    throw new NotFoundError(message, { model, code: 'model_not_found', param: 'model', retryable: false })
  }
  return `${key}/${slash > 0 ? model.slice(slash + 1) : model}`
}

/**
 * Another deployment may succeed where this one failed: rate limits, timeouts, server and connection
 * errors, and a deployment's own 401/403/404. A bad request fails everywhere; a cancel or a stream
 * that already reached the client must not be repeated.
 */
function canFallBack(error: unknown, ctx: Context): boolean {
  if (ctx.cancellation.aborted || ctx.chunksDelivered > 0) return false
  if (!isLlmError(error) || isAbortError(error) || isValidationError(error)) return false
  const { status, retryable } = error as LlmError
  return status === undefined || status === 401 || status === 403 || status === 404 || retryable
}

function unknownModel(model: string, names: string[]): NotFoundError {
  return new NotFoundError(modelNotFoundMessage(model, names), { model, code: 'model_not_found', param: 'model', retryable: false })
}

/** The message of a 404 for an unknown model, listing (up to 20 of) the configured names. */
export function modelNotFoundMessage(model: string, names: ReadonlyArray<string>): string {
  const shown = names.slice(0, 20).join(', ') + (names.length > 20 ? `, and ${names.length - 20} more` : '')
  return `The model "${model}" is not served by this proxy. Available models: ${shown}. Add it to model_list in the config, or ask GET /v1/models.`
}
