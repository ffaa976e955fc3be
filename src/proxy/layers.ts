/**
 * The proxy's stack of layers, built once from the config: metrics outermost, then the console log,
 * the config's built-in callbacks (with the options the config gives them, such as
 * `s3_callback_params`), its callback modules, the caller's own layers, guardrails, the
 * response cache (`litellm_settings.cache`), the reliability layers and the router innermost, so
 * every layer above it sees one call per request whatever the fallbacks. The handler links each
 * call to its HTTP exchange through the call's options, not a layer (src/proxy/exchange.ts).
 */
import { cache } from '../../middleware/cache'
import { asMiddleware, type IntegrationOptionsByName } from '../../middleware/callbacks'
import { consoleLog } from '../../middleware/console-log'
import { prometheus, type PrometheusLayer } from '../../middleware/prometheus'
import { findIntegration, knownIntegrationNames } from '../integrations/catalogue'
import type { Middleware } from '../types'
import { loadCallback } from './callback-loader'
import { reliabilityLayers } from './reliability'
import { resolveOtelCallback } from './otel-callback'
import { guardrailLayers } from './guardrails-config'
import { loggingControls, unlessDisabled } from './logging-controls'
import { teamLogging } from './team-logging'
import type { TeamSettingsEntry } from './team-logging-settings'
import { ConfigError, type ProxyConfig } from './config'

/** The stack, its names for the start-up summary, and the metrics layer `GET /metrics` renders. */
export interface ProxyLayers {
  layers: Middleware[]
  names: string[]
  metrics: PrometheusLayer
  /**
   * False when every layer is built in: none of them edits a reply, so a reply can be written the
   * way the upstream sent it. Callback modules and your own middleware may.
   */
  mayEditReplies: boolean
}

/**
 * Builds the layers for `config`, outermost first, ending with `router`. Unknown built-in names,
 * integrations missing their credentials and unusable callback modules fail here, at start, with
 * the config path that names them.
 *
 * @example
 * ```ts
 * const { layers } = await assembleLayers(config, { logs: true, middleware: [] }, router.layer)
 * const client = createClient({ providers, middleware: layers })
 * ```
 */
export async function assembleLayers(config: ProxyConfig, options: { logs?: boolean; middleware?: Middleware[] }, router: Middleware): Promise<ProxyLayers> {
  const metrics = prometheus({ maxModels: config.server?.metricsMaxModels })
  const layers: Middleware[] = [metrics]
  const names = ['prometheus']
  if (options.logs) {
    layers.push(consoleLog())
    names.push('consoleLog')
  }
  // The proxy's own prometheus() layer already counts every call and serves GET /metrics; a second
  // instance named in a callback list would count into a registry nobody scrapes.
  const withoutPrometheus = (list: string[]) => list.filter((name) => findIntegration(name)?.name !== 'prometheus')
  const lists = { input: withoutPrometheus(config.input), success: withoutPrometheus(config.success), failure: withoutPrometheus(config.failure) }
  layers.push(loggingControls({ allowOptOut: !config.forbidLoggingOptOut }))
  const teams = config.teamLogging ?? []
  // With a master key, a virtual key's metadata.logging may name integrations of its own (src/proxy/team-logging.ts).
  if (lists.input.length + lists.success.length + lists.failure.length > 0 || teams.length > 0 || config.masterKey !== undefined) {
    // `otel` with no tracer provider in the proxy becomes otlp() from the OTLP variables, or refuses to start.
    const resolved = await resolveOtelCallback(lists, process.env)
    const integrationOptions: IntegrationOptionsByName = { ...config.integrationOptions, ...(resolved.otlpOptions ? { otlp: resolved.otlpOptions } : {}) }
    layers.push(builtInCallbacks(resolved.lists, teams, integrationOptions))
    const summary = Object.entries(lists).filter(([, list]) => list.length > 0).map(([moment, list]) => `${moment}: ${list.join(', ')}`)
    if (teams.length > 0) summary.push(`teams: ${teams.map((team) => team.team_id).join(', ')}`)
    if (summary.length === 0) summary.push('per key: metadata.logging')
    names.push(`callbacks(${summary.join('; ')}${resolved.note ? `; ${resolved.note}` : ''})`)
  }
  for (const [index, reference] of config.callbacks.entries()) {
    const where = `litellm_settings.callbacks[${index}] (${reference})`
    const loaded = await loadCallback(reference, config.directory, where, config.server?.callbackLoadTimeoutMs)
    try {
      layers.push(unlessDisabled(asMiddleware(loaded.value, where), [reference, reference.split('.').pop()!]))
    } catch (error) {
      const message = (error as Error).message
      throw new ConfigError(message.startsWith(where) ? message : `${where}, from ${loaded.file}: ${message}`, [{ path: where, message }])
    }
    names.push(reference)
  }
  for (const layer of options.middleware ?? []) {
    layers.push(layer)
    names.push(layer.name || 'middleware')
  }
  // Guardrails once per call, then the cache (a hit skips what is inside it), then num_retries,
  // timeouts, fallbacks, drop_params right outside the router, inside every observer.
  const guardrails = guardrailLayers(config.guardrails ?? [])
  const reliability = reliabilityLayers(config.reliability)
  layers.push(...guardrails)
  names.push(...guardrails.map((_, index) => `guardrail(${(config.guardrails[index] as { guardrail_name: string }).guardrail_name})`))
  if (config.cache) {
    layers.push(cache(config.cache.options))
    names.push(`cache(${config.cache.where === 'redis' ? 'on the shared store' : 'in memory'}, ttl ${config.cache.options.ttlSeconds ?? 600} s)`)
  }
  layers.push(...reliability.layers, router)
  names.push(...reliability.names, 'router')
  const mayEditReplies = config.callbacks.length > 0 || (options.middleware ?? []).length > 0 || guardrails.length > 0
  return { layers, names, metrics, mayEditReplies }
}

function builtInCallbacks(lists: { input: string[]; success: string[]; failure: string[] }, teams: TeamSettingsEntry[], integrationOptions: IntegrationOptionsByName): Middleware {
  for (const [moment, list] of Object.entries(lists)) {
    const unknown = list.filter((name) => findIntegration(name) === undefined)
    if (unknown.length > 0) {
      const key = `litellm_settings.${moment}_callback`
      throw new ConfigError(`${key}: unknown integration ${unknown.map((name) => `"${name}"`).join(', ')}. Known: ${knownIntegrationNames.join(', ')}.`, [
        { path: key, message: `unknown integration ${unknown.join(', ')}` },
      ])
    }
  }
  try {
    return teamLogging({ lists, teams, integrationOptions })
  } catch (error) {
    // Usually a missing credential: the integration's message names the variable to set.
    const message = (error as Error).message
    const team = message.startsWith('litellm_settings.default_team_settings')
    throw new ConfigError(team ? message : `litellm_settings (success_callback / failure_callback / input_callback): ${message}`, [
      { path: team ? 'litellm_settings.default_team_settings' : 'litellm_settings', message },
    ])
  }
}
