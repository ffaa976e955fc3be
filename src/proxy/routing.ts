/**
 * The router's choices beyond simple-shuffle: the configured strategy and the cooldowns, over the
 * shared store. `createRouting()` answers undefined for a config with neither, and the router then
 * keeps its own store-free weighted pick.
 */
import type { Context } from '../context'
import { RateLimitError } from '../errors'
import type { SharedStore } from '../shared-state/store'
import { createCooldowns } from './cooldowns'
import { createRoutingStrategy, untilNextMinute, type AttemptOutcome, type RoutingCandidate, type RoutingSettings, type RoutingStrategy } from './routing-strategies'

/** Routing for one router. */
export interface Routing {
  readonly strategy: RoutingStrategy
  /**
   * The deployments to try, in order: cooling ones left out, the strategy's order, and the one the
   * call names (`CallOptions.deployment`) first. Throws a 429 {@link RateLimitError} when none is left.
   */
  order<Candidate extends RoutingCandidate>(group: string, candidates: Candidate[], ctx: Context): Promise<Candidate[]>
  /** Before an attempt; false: skip this deployment. */
  started(candidate: RoutingCandidate): Promise<boolean>
  /** After an attempt; a failure is counted toward the cooldown before this resolves. */
  finished(candidate: RoutingCandidate, outcome: AttemptOutcome, ctx: Context): Promise<void>
  /** The error when every deployment of `group` refused an attempt (usage-based rpm). */
  exhausted(group: string): RateLimitError
}

/**
 * Routing for `settings`, or undefined when simple-shuffle without cooldowns is all they ask.
 *
 * @example
 * ```ts
 * const routing = createRouting(config.routing, store)
 * const order = routing ? await routing.order('gpt-4o', group.deployments, ctx) : [group.pick()]
 * ```
 */
export function createRouting(settings: RoutingSettings, store: SharedStore): Routing | undefined {
  const cooldowns = createCooldowns(settings, store)
  if (settings.strategy === 'simple-shuffle' && cooldowns === undefined) return undefined
  const strategy = createRoutingStrategy(settings, store)
  // A store that fails (Redis down and fail-closed) never fails a request here: routing falls back
  // to simple-shuffle for it, and the error goes to the client's onHookError.
  const shuffled = createRoutingStrategy({ ...settings, strategy: 'simple-shuffle' }, store)
  const report = (ctx: Context, error: unknown) => ctx.services.reportHookError(error, `routing (${settings.strategy})`)
  return {
    strategy,
    async order<Candidate extends RoutingCandidate>(group: string, candidates: Candidate[], ctx: Context) {
      let cooling: Map<string, number> | undefined
      try {
        cooling = cooldowns ? await cooldowns.cooling(candidates.map((candidate) => candidate.id)) : undefined
      } catch (error) {
        report(ctx, error)
      }
      const available = cooling && cooling.size > 0 ? candidates.filter((candidate) => !cooling.has(candidate.id)) : candidates
      if (available.length === 0) throw allCooling(group, cooling!, settings)
      let ordered: Candidate[]
      try {
        ordered = available.length === 1 ? available : await strategy.order(available, ctx)
      } catch (error) {
        report(ctx, error)
        ordered = await shuffled.order(available, ctx)
      }
      if (ordered.length === 0) throw noHeadroom(group)
      const named = ctx.deployment === undefined ? undefined : ordered.find((candidate) => candidate.id === ctx.deployment)
      return named === undefined ? ordered : [named, ...ordered.filter((candidate) => candidate !== named)]
    },
    async started(candidate) {
      try {
        return await strategy.started(candidate)
      } catch {
        return true
      }
    },
    async finished(candidate, outcome, ctx) {
      ctx.waitUntil(strategy.finished(candidate, outcome))
      if (outcome.error === undefined || cooldowns === undefined) return
      try {
        await cooldowns.failed(candidate.id, outcome.error)
      } catch (error) {
        report(ctx, error)
      }
    },
    exhausted: noHeadroom,
  }
}

/** LiteLLM's answer when every deployment cools down: 429, try again when the first comes back. */
function allCooling(group: string, cooling: Map<string, number>, settings: RoutingSettings): RateLimitError {
  const soonest = Math.min(...cooling.values())
  return new RateLimitError(
    `No deployments available for model "${group}": all ${cooling.size} are cooling down after failing more than allowed_fails (${settings.allowedFails}) times within cooldown_time (${settings.cooldownTimeMs / 1000} s). Try again in ${Math.ceil(soonest / 1000)} s, or add fallbacks for this model.`,
    { model: group, retryAfterMs: soonest, retryable: false, code: 'no_deployments_available' },
  )
}

function noHeadroom(group: string): RateLimitError {
  const wait = untilNextMinute()
  return new RateLimitError(
    `No deployments available for model "${group}": every deployment has used its rpm / tpm limit for this minute (usage-based routing). Try again in ${Math.ceil(wait / 1000)} s, or raise rpm / tpm in model_list.`,
    { model: group, retryAfterMs: wait, retryable: false, code: 'no_deployments_available' },
  )
}
