/**
 * What the proxy reads from `router_settings` (and its `litellm_settings` counterparts): the
 * reliability keys mapped onto layers, simple-shuffle weights and `model_group_alias`. Each names
 * the key path of a wrong value.
 */
import type { RawConfig } from './config-schema'
import { configError } from './config-error'
import type { ReliabilitySettings } from './reliability'
import { defaultRouting, routingStrategyNames, type RoutingSettings, type RoutingStrategyName } from './routing-strategies'

type RawModel = RawConfig['model_list'][number]

/**
 * LiteLLM's reliability settings: router_settings wins over litellm_settings, as LiteLLM's router
 * reads them. Every fallback names model names the config serves.
 */
export function readReliability(
  parsed: RawConfig,
  servedNames: Set<string>,
  pathOf: (path: ReadonlyArray<PropertyKey>) => string,
  file: string | undefined,
): ReliabilitySettings {
  const settings = parsed.litellm_settings ?? {}
  const router = parsed.router_settings ?? {}
  const issues: Array<{ path: string; message: string }> = []
  const readFallbacks = (key: 'fallbacks' | 'context_window_fallbacks'): Record<string, string[]> => {
    const [level, list] = router[key] ? ['router_settings', router[key]] : ['litellm_settings', settings[key]]
    const out: Record<string, string[]> = {}
    for (const [index, entry] of (list ?? []).entries()) {
      for (const [group, targets] of Object.entries(entry)) {
        for (const [position, name] of [group, ...targets].entries()) {
          if (servedNames.has(name)) continue
          const path = position === 0 ? [level, key, index, group] : [level, key, index, group, position - 1]
          issues.push({ path: pathOf(path), message: `names "${name}", which is no model_name in model_list; name one of ${[...servedNames].slice(0, 20).join(', ')}` })
        }
        out[group] = [...(out[group] ?? []), ...targets]
      }
    }
    return out
  }
  const fallbacks = readFallbacks('fallbacks')
  const contextWindowFallbacks = readFallbacks('context_window_fallbacks')
  if (issues.length > 0) throw configError(file, issues)
  const timeoutSeconds = router.timeout ?? settings.request_timeout
  return {
    numRetries: router.num_retries ?? settings.num_retries,
    timeoutMs: timeoutSeconds === undefined ? undefined : timeoutSeconds * 1000,
    streamTimeoutMs: router.stream_timeout === undefined ? undefined : router.stream_timeout * 1000,
    fallbacks,
    contextWindowFallbacks,
    dropParams: settings.drop_params ?? false,
  }
}

/**
 * LiteLLM's simple-shuffle weights, one per entry: per model name, `weight` when any of its
 * deployments sets it, else `rpm`, else `tpm` (in litellm_params or beside it); a deployment
 * without the one chosen counts 1.
 */
export function shuffleWeights(entries: RawModel[]): number[] {
  const shares = entries.map((entry) => ({
    weight: entry.litellm_params.weight,
    rpm: entry.litellm_params.rpm ?? entry.rpm,
    tpm: entry.litellm_params.tpm ?? entry.tpm,
  }))
  const groups = new Map<string, Array<(typeof shares)[number]>>()
  for (const [index, entry] of entries.entries()) (groups.get(entry.model_name) ?? groups.set(entry.model_name, []).get(entry.model_name)!).push(shares[index]!)
  return shares.map((share, index) => {
    const group = groups.get(entries[index]!.model_name)!
    const unit = (['weight', 'rpm', 'tpm'] as const).find((key) => group.some((member) => member[key] !== undefined))
    return (unit === undefined ? undefined : share[unit]) ?? 1
  })
}

/** `router_settings.model_group_alias`, each alias checked to name a configured model_name. */
export function modelGroupAliases(
  parsed: RawConfig,
  names: ReadonlySet<string>,
  pathOf: (path: ReadonlyArray<PropertyKey>) => string,
  file: string | undefined,
): { aliases: Record<string, string>; hiddenAliases: string[] } {
  const aliases: Record<string, string> = {}
  const hiddenAliases: string[] = []
  const issues: Array<{ path: string; message: string }> = []
  for (const [alias, value] of Object.entries(parsed.router_settings?.model_group_alias ?? {})) {
    const target = typeof value === 'string' ? value : value.model
    if (!names.has(target)) {
      issues.push({
        path: pathOf(['router_settings', 'model_group_alias', alias]),
        message: `names "${target}", which is no model_name in model_list; name one of ${[...names].slice(0, 20).join(', ')}`,
      })
      continue
    }
    aliases[alias] = target
    if (typeof value !== 'string' && value.hidden === true) hiddenAliases.push(alias)
  }
  if (issues.length > 0) throw configError(file, issues)
  return { aliases, hiddenAliases }
}


/**
 * `routing_strategy`, `routing_strategy_args`, `allowed_fails`, `cooldown_time` and
 * `disable_cooldowns`. A strategy llm-onion does not implement is warned about (into `warnings`) and
 * simple-shuffle is used, as before.
 */
export function readRouting(parsed: RawConfig, warnings: string[]): RoutingSettings {
  const router = parsed.router_settings ?? {}
  const named = router.routing_strategy
  let strategy: RoutingStrategyName = defaultRouting.strategy
  if (named !== undefined) {
    if ((routingStrategyNames as readonly string[]).includes(named)) strategy = named as RoutingStrategyName
    else warnings.push(`router_settings.routing_strategy "${named}" is not supported (llm-onion has ${routingStrategyNames.join(', ')}); simple-shuffle (weighted random) is used`)
  }
  const args = router.routing_strategy_args ?? {}
  return {
    strategy,
    latencyWindowMs: args.ttl === undefined ? defaultRouting.latencyWindowMs : args.ttl * 1000,
    latencyBuffer: args.lowest_latency_buffer ?? defaultRouting.latencyBuffer,
    ...(router.allowed_fails === undefined ? {} : { allowedFails: router.allowed_fails }),
    cooldownTimeMs: router.cooldown_time === undefined ? defaultRouting.cooldownTimeMs : router.cooldown_time * 1000,
    disableCooldowns: router.disable_cooldowns ?? false,
  }
}
