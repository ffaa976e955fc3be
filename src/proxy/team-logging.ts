/**
 * The proxy's built-in callbacks as one layer that decides per request where the call's events go:
 * the config's `success_callback` / `failure_callback` / `input_callback`, and for a request made with
 * a virtual key, its key's `metadata.logging`, else its team's `metadata.logging`, else its team's
 * `litellm_settings.default_team_settings` entry (LiteLLM's order, `_get_dynamic_logging_metadata`).
 * An integration the team or key names is the team's for its calls: the proxy-wide instance of that
 * integration does not get them, so team A's calls reach team A's project with team A's keys only.
 * Each team's and key's integrations are built once and kept (a key's again when its settings
 * change); `x-litellm-disable-callbacks` and `no-log` apply to them as to the proxy's own.
 */
import { callbacks, type IntegrationOptionsByName } from '../../middleware/callbacks'
import { declareLayerSinks, sinksOfLayer } from '../delivery/layer-sinks'
import { chainLayers } from '../integrations/chain'
import type { Sink } from '../delivery/sink'
import { findCallback, findIntegration } from '../integrations/catalogue'
import type { Environment } from '../integrations/options'
import type { Context } from '../context'
import type { Middleware } from '../types'
import { ticketSlot, type Ticket } from './keys/access'
import { callbacksDisabled } from './logging-controls'
import { keyLoggingSetting, teamEnvironment, teamLoggingSetting, type LoggingSetting, type TeamSettingsEntry } from './team-logging-settings'

/** One integration, built: its catalogue name, the names a request may disable it by, its layer. */
interface Built {
  integration: string
  names: string[]
  layer: Middleware
}

/** The lists of the proxy's own callbacks. */
export interface CallbackLists {
  input: string[]
  success: string[]
  failure: string[]
}

/** What {@link teamLogging} needs. */
export interface TeamLoggingOptions {
  /** The config's lists (already without prometheus, `otel` resolved). */
  lists: CallbackLists
  /** Options of the proxy-wide instances by integration (the resolved `otlp` endpoint). */
  integrationOptions?: IntegrationOptionsByName
  /** `litellm_settings.default_team_settings`, as the config schema left it. */
  teams?: TeamSettingsEntry[]
  /** Where `os.environ/` references of key settings and the teams' other variables come from (default `process.env`). */
  environment?: Environment
  /** Keys whose integrations are kept built at once (default 1,000); the oldest is dropped past it. */
  maxKeys?: number
  /** Where a key whose logging settings cannot be built is reported, once per settings (default `console.warn`). */
  warn?: (message: string) => void
}

/** The layer, and what was built at start (for the summary and tests). */
export interface TeamLoggingLayer extends Middleware {
  /** Team ids of `default_team_settings`. */
  readonly teams: string[]
}

/**
 * Builds the layer. The proxy-wide integrations and every `default_team_settings` team's are built
 * here, so a missing credential or an unknown name fails at start, naming the entry.
 *
 * @example
 * ```ts
 * layers.push(teamLogging({ lists: { input: [], success: ['langfuse'], failure: [] }, teams: config.teamLogging }))
 * ```
 */
export function teamLogging(options: TeamLoggingOptions): TeamLoggingLayer {
  const environment = options.environment ?? process.env
  const warn = options.warn ?? ((message: string) => console.warn(message))
  const maxKeys = options.maxKeys ?? 1_000
  const global = buildAll(options.lists, options.integrationOptions ?? {})
  /** The proxy's own callbacks as one layer, for calls with no logging of their own and none disabled. */
  const globalChain = global.length > 0 ? chainLayers(global.map((built) => built.layer)) : undefined
  const teams = new Map<string, Built[]>()
  ;(options.teams ?? []).forEach((entry, index) => {
    const where = `litellm_settings.default_team_settings[${index}] (team_id ${entry.team_id})`
    teams.set(entry.team_id, buildSetting(teamLoggingSetting(entry, environment, where), environment, where))
  })
  /** Built from key (`key:<hash>`) and team (`team:<id>`) metadata, with the settings they were built from. */
  const dynamic = new Map<string, { source: unknown; fingerprint: string; built: Built[] | undefined }>()

  const fromMetadata = (owner: string, logging: unknown, where: string): Built[] | undefined => {
    const kept = dynamic.get(owner)
    // The key directory hands out the same record while it keeps it: no re-reading on every call.
    if (kept && kept.source === logging) return kept.built
    const fingerprint = JSON.stringify(logging)
    if (kept && kept.fingerprint === fingerprint) {
      kept.source = logging
      return kept.built
    }
    let built: Built[] | undefined
    try {
      built = buildSetting(keyLoggingSetting(logging, environment, where), environment, where)
    } catch (error) {
      // As LiteLLM: settings that cannot be used are skipped with a warning; the proxy's callbacks apply.
      warn(`[llm-onion] ${(error as Error).message}; this ${owner.startsWith('key:') ? 'key' : 'team'}'s calls go to the proxy's own callbacks until its logging settings are fixed.`)
    }
    dynamic.delete(owner)
    if (dynamic.size >= maxKeys) dynamic.delete(dynamic.keys().next().value!)
    dynamic.set(owner, { source: logging, fingerprint, built })
    return built
  }

  const chosenFor = (ctx: Context): Built[] | undefined => {
    const ticket = ctx.slot<Ticket>(ticketSlot)
    if (ticket === undefined) return undefined
    const { key, team } = ticket.found
    if (key.metadata?.logging !== undefined && key.metadata.logging !== null) return fromMetadata(`key:${ticket.token}`, key.metadata.logging, `key ${key.key_name}`)
    if (team?.metadata?.logging !== undefined && team.metadata.logging !== null) return fromMetadata(`team:${team.team_id}`, team.metadata.logging, `team ${team.team_id}`)
    return key.team_id === null ? undefined : teams.get(key.team_id)
  }

  const layer: Middleware = function teamLogging(ctx, next) {
    const disabled = callbacksDisabled(ctx)
    if (disabled === 'all') return next()
    const own = chosenFor(ctx)
    if (own === undefined && disabled === undefined) return globalChain ? globalChain(ctx, next) : next()
    let run: Built[] = global
    if (own !== undefined) {
      const taken = new Set(own.map((built) => built.integration))
      run = [...own, ...global.filter((built) => !taken.has(built.integration))]
    }
    if (disabled !== undefined) run = run.filter((built) => !built.names.some((name) => disabled.has(name)))
    return dispatch(run, 0, ctx, next)
  }
  // A client with a durable spool replays the sinks of what was built at start when this layer is added.
  declareLayerSinks(layer, [...global, ...[...teams.values()].flat()].flatMap((built) => sinksOfLayer(built.layer)) as ReadonlyArray<Sink<never>>)
  return Object.assign(layer, { teams: [...teams.keys()] })
}

function dispatch(run: Built[], index: number, ctx: Context, next: () => Promise<void>): Promise<void> {
  if (index === run.length) return next()
  return Promise.resolve(run[index]!.layer(ctx, () => dispatch(run, index + 1, ctx, next)))
}

/** One `callbacks()` layer per integration of the lists (per name where a name implies options: `datadog_llm_observability`), each at the moments it was listed for. */
function buildAll(lists: CallbackLists, integrationOptions: IntegrationOptionsByName): Built[] {
  const byIntegration = new Map<string, { names: Set<string>; input: string[]; success: string[]; failure: string[] }>()
  for (const moment of ['input', 'success', 'failure'] as const) {
    for (const name of lists[moment]) {
      // Unknown names are reported by callbacks() below, with the list they came from.
      const id = findCallback(name)?.id ?? name
      let entry = byIntegration.get(id)
      if (!entry) byIntegration.set(id, (entry = { names: new Set([id.toLowerCase()]), input: [], success: [], failure: [] }))
      entry.names.add(name.toLowerCase())
      if (!entry[moment].includes(name)) entry[moment].push(name)
    }
  }
  return [...byIntegration].map(([integration, entry]) => ({
    integration,
    names: [...entry.names],
    layer: callbacks({ input: entry.input, success: entry.success, failure: entry.failure, integrationOptions }),
  }))
}

/** A team's or key's integrations, each built with the team's variables (and only theirs for its own prefix). */
function buildSetting(setting: LoggingSetting, environment: Environment, where: string): Built[] {
  const env = teamEnvironment(setting, environment)
  const common = { env, ...(setting.redactMessages ? { redact: { messages: true } } : {}) }
  const integrationOptions: Record<string, object> = {}
  for (const name of [...setting.success, ...setting.failure]) integrationOptions[findIntegration(name)!.name] = common
  try {
    return buildAll({ input: [], success: setting.success, failure: setting.failure }, integrationOptions as IntegrationOptionsByName)
  } catch (error) {
    // Usually a missing credential: the integration names its variable, the lower-case form is the callback variable.
    throw new Error(`${where}: ${(error as Error).message} (set it as a callback variable, in lower case: langfuse_secret_key for LANGFUSE_SECRET_KEY)`)
  }
}
