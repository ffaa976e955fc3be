/**
 * Running spend totals in the shared store, in USD: per key, internal user and team for their
 * current budget period (the period is part of the counter's name, so a new period starts at zero),
 * and per end user (the request's `user`), tag and model since the store began. Every worker and
 * replica adds to the same counters; budgets are checked against them.
 */
import type { CounterBuffer } from './counter-buffer'
import { parseDuration, periodAt, type Period } from './duration'

/** Who spends: the owners with budgets, and the ones only counted. */
export type SpendEntity = 'key' | 'user' | 'team' | 'end_user' | 'tag' | 'model'

/** A record with a budget: its anchor (creation time) and its `budget_duration`. */
export interface Budgeted {
  created_at: string
  budget_duration: string | null
  max_budget: number | null
}

/**
 * The budget period of `record` at `now` (one period forever without a `budget_duration`).
 *
 * @example
 * ```ts
 * budgetPeriod({ created_at: '2026-01-01T00:00:00Z', budget_duration: '1d', max_budget: 5 }, Date.now())
 * ```
 */
export function budgetPeriod(record: Pick<Budgeted, 'created_at' | 'budget_duration'>, now: number): Period {
  // A record is asked on every request: its period is worked out once and kept until it ends.
  const cached = periods.get(record)
  if (cached !== undefined && cached.for === record.budget_duration && cached.period.start <= now && now < cached.period.end) return cached.period
  const duration = record.budget_duration === null ? undefined : parseDuration(record.budget_duration)
  const period = periodAt(Date.parse(record.created_at), duration, now)
  periods.set(record, { for: record.budget_duration, period })
  return period
}

const periods = new WeakMap<object, { for: string | null; period: Period }>()

/**
 * The counter of an entity's spend: with a period for keys, users and teams, without for the others.
 *
 * @example
 * ```ts
 * spendCounter('key', token, period.index) // 'spend:key:<token>:0'
 * spendCounter('model', 'gpt-4o')          // 'spend:model:gpt-4o'
 * ```
 */
export function spendCounter(entity: SpendEntity, id: string, periodIndex?: number): string {
  return periodIndex === undefined ? `spend:${entity}:${id}` : `spend:${entity}:${id}:${periodIndex}`
}

/**
 * Reads a spend counter; 0 when there is none.
 *
 * @example
 * ```ts
 * await readSpend(counters, spendCounter('key', token, 0)) // 0.00042
 * ```
 */
export function readSpend(counters: CounterBuffer, counter: string): Promise<number> {
  return counters.read(counter)
}

/** A key's, user's or team's spend counter for its current budget period. */
export interface PeriodicCounter {
  counter: string
  /** When the period ends (epoch ms; infinite without a `budget_duration`). */
  periodEnd: number
}

/**
 * The spend counter of a key, user or team at `now` (period 0 when its record is not known).
 *
 * @example
 * ```ts
 * periodicCounter('key', token, record, Date.now()) // { counter: 'spend:key:<hash>:3', periodEnd: 1767225600000 }
 * ```
 */
export function periodicCounter(entity: 'key' | 'user' | 'team', id: string, record: Budgeted | undefined, now: number): PeriodicCounter {
  if (record === undefined) return { counter: spendCounter(entity, id, 0), periodEnd: Number.POSITIVE_INFINITY }
  const period = budgetPeriod(record, now)
  return { counter: spendCounter(entity, id, period.index), periodEnd: period.end }
}

/** Who one call's cost is attributed to. */
export interface SpendAttribution {
  key?: { token: string; record: Budgeted }
  user?: { id: string; record?: Budgeted }
  team?: { id: string; record?: Budgeted }
  endUser?: string
  tags: string[]
  model: string
}

/** Tags per call whose totals are kept; the others count in the spend rows only. */
export const maxTagsPerCall = 16
/** Longest end user, tag or model name whose totals are kept. */
export const maxNameLength = 256

/**
 * Adds one call's cost to every counter it is attributed to (sent to the store with the buffer's
 * next flush). Counters keep for a period and a day past its end; the ones without a period keep.
 *
 * @example
 * ```ts
 * recordSpend(counters, attribution, 0.00042, Date.now())
 * ```
 */
export function recordSpend(counters: CounterBuffer, attribution: SpendAttribution, cost: number, now: number): void {
  if (!(cost > 0)) return
  addSpend(counters, periodicCounters(attribution, now), cost, now)
  for (const counter of namedCounters(attribution)) counters.add(counter, cost)
}

/**
 * Adds `cost` to counters of budget periods worked out before (a key's plan), each kept for its
 * period and a day past its end.
 *
 * @example
 * ```ts
 * addSpend(counters, keyPlan(token, found, Date.now()).spendCounters, 0.00042, Date.now())
 * ```
 */
export function addSpend(counters: CounterBuffer, periodic: readonly PeriodicCounter[], cost: number, now: number): void {
  if (!(cost > 0)) return
  for (const each of periodic) counters.add(each.counter, cost, Number.isFinite(each.periodEnd) ? Math.max(1, each.periodEnd - now) + dayMs : undefined)
}

const dayMs = 86_400_000

function periodicCounters(attribution: SpendAttribution, now: number): PeriodicCounter[] {
  const counters: PeriodicCounter[] = []
  if (attribution.key) counters.push(periodicCounter('key', attribution.key.token, attribution.key.record, now))
  if (attribution.user) counters.push(periodicCounter('user', attribution.user.id, attribution.user.record, now))
  if (attribution.team) counters.push(periodicCounter('team', attribution.team.id, attribution.team.record, now))
  return counters
}

/**
 * The counters of what a client names (end user, tags) and of the model, without periods. What a
 * client names is bounded: a request cannot make the store keep or write much.
 */
function namedCounters(attribution: Pick<SpendAttribution, 'endUser' | 'tags' | 'model'>): string[] {
  const counters: string[] = []
  if (attribution.endUser && attribution.endUser.length <= maxNameLength) counters.push(spendCounter('end_user', attribution.endUser))
  if (attribution.tags.length > 0) {
    for (const tag of [...new Set(attribution.tags)].filter((tag) => tag !== '' && tag.length <= maxNameLength).slice(0, maxTagsPerCall)) counters.push(spendCounter('tag', tag))
  }
  if (attribution.model.length <= maxNameLength) counters.push(modelCounter(attribution.model))
  return counters
}

// The model's counter is named once per model (a proxy has a few): no string is built per call.
const modelCounters = new Map<string, string>()
function modelCounter(model: string): string {
  let counter = modelCounters.get(model)
  if (counter === undefined) {
    counter = spendCounter('model', model)
    if (modelCounters.size < 1_000) modelCounters.set(model, counter)
  }
  return counter
}
