/**
 * What a virtual key's request is checked against and what its spend is added to, worked out once
 * per key as this process holds it (the directory's copy) and kept until the first budget period of
 * its key, user or team ends: the budgets with their counters (the key's, and its team's or else its
 * user's, as in LiteLLM), the rate limits of the key, its user and its team, the key's requests in
 * flight, the counters of the key's, user's and team's spend, and the lists of models it may call. A request then costs no string
 * building and no period arithmetic. A key changed through /key/update is a new copy, with a plan of
 * its own.
 */
import type { KeyContext } from './key-directory'
import { modelLists, type ModelList } from './model-access'
import type { LimitTarget } from './rate-windows'
import type { BudgetOverrun } from './refusals'
import { periodicCounter, type PeriodicCounter } from './spend-ledger'

/** A budget to check: its owner, its limit and the counter of the current period's spend. */
export interface BudgetCheck extends BudgetOverrun {
  counter: string
  /** True for a key's own budget: refused once the spend reaches it (LiteLLM: `>=`); an owner's only past it (`>`). */
  inclusive: boolean
}

/** A key's checks and spend counters for its current budget periods. */
export interface KeyPlan {
  budgets: BudgetCheck[]
  targets: LimitTarget[]
  /** The key's `max_parallel_requests`, or null. */
  parallel: number | null
  /** True when there is nothing to check (no budget, no limit). */
  unlimited: boolean
  /** The key's, its user's and its team's spend counters. */
  spendCounters: PeriodicCounter[]
  /** The lists of models the key may call (its own, its team's), each of which must allow a model. */
  modelLists: ModelList[]
  /** When the first of its periods ends (epoch ms): a plan is worked out again from then. */
  validUntil: number
}

const plans = new WeakMap<KeyContext, KeyPlan>()

/**
 * The plan of a key (by its hash) with its records, at `now`.
 *
 * @example
 * ```ts
 * const plan = keyPlan(token, found, Date.now())
 * plan.budgets // [{ owner: 'key', id: token, maxBudget: 10, counter: 'spend:key:<hash>:3', ... }]
 * ```
 */
export function keyPlan(token: string, found: KeyContext, now: number): KeyPlan {
  const cached = plans.get(found)
  if (cached !== undefined && now < cached.validUntil) return cached
  const plan = planOf(token, found, now)
  plans.set(found, plan)
  return plan
}

function planOf(token: string, found: KeyContext, now: number): KeyPlan {
  const { key, user, team } = found
  const keyCounter = periodicCounter('key', token, key, now)
  const userCounter = key.user_id === null ? undefined : periodicCounter('user', key.user_id, user, now)
  const teamCounter = key.team_id === null ? undefined : periodicCounter('team', key.team_id, team, now)
  const budgets: BudgetCheck[] = []
  if (key.max_budget !== null) budgets.push({ owner: 'key', id: token, spend: 0, maxBudget: key.max_budget, counter: keyCounter.counter, inclusive: true })
  // LiteLLM: a key of a team is held to the team's budget, not its user's. The user and team are the key's own (loaded by its ids).
  if (team !== undefined && team.max_budget !== null) {
    budgets.push({ owner: 'team', id: team.team_id, spend: 0, maxBudget: team.max_budget, counter: teamCounter!.counter, inclusive: false })
  } else if (key.team_id === null && user !== undefined && user.max_budget !== null) {
    budgets.push({ owner: 'user', id: user.user_id, spend: 0, maxBudget: user.max_budget, counter: userCounter!.counter, inclusive: false })
  }
  const targets: LimitTarget[] = []
  if (key.rpm_limit !== null || key.tpm_limit !== null) targets.push({ scope: 'api_key', id: token, rpm: key.rpm_limit, tpm: key.tpm_limit })
  if (user !== undefined && (user.rpm_limit !== null || user.tpm_limit !== null)) targets.push({ scope: 'user', id: user.user_id, rpm: user.rpm_limit, tpm: user.tpm_limit })
  if (team !== undefined && (team.rpm_limit !== null || team.tpm_limit !== null)) targets.push({ scope: 'team', id: team.team_id, rpm: team.rpm_limit, tpm: team.tpm_limit })
  const spendCounters = [keyCounter]
  if (userCounter !== undefined) spendCounters.push(userCounter)
  if (teamCounter !== undefined) spendCounters.push(teamCounter)
  let validUntil = Number.POSITIVE_INFINITY
  for (const each of spendCounters) validUntil = Math.min(validUntil, each.periodEnd)
  const parallel = key.max_parallel_requests
  return { budgets, targets, parallel, unlimited: budgets.length === 0 && targets.length === 0 && parallel === null, spendCounters, modelLists: modelLists(found), validUntil }
}
