/**
 * Budget alerts: after each call with a virtual key, the spend of its key, internal user and team
 * (the totals the key system keeps in the shared store, src/proxy/keys/spend-ledger.ts) is compared
 * with their `max_budget`; each threshold crossed (50%, 80%, 100% by default) is alerted once per
 * budget period, whichever replica sees it first (the "sent" key is claimed in the store). The check
 * runs after the reply, off the call's path. It first sends this process's buffered spend to the store
 * (src/proxy/keys/counter-buffer.ts) and then reads the store's totals, so the call that crosses a
 * threshold is the one that reports it; another replica's call that ended less than its buffer's flush
 * interval (10 ms) earlier may be counted by the next check instead.
 */
import type { SharedStore } from '../shared-state/store'
import type { CounterBuffer } from './keys/counter-buffer'
import type { Middleware } from '../types'
import { dollars, type AlertNotice } from '../integrations/alert-notice'
import { sendOnce } from '../integrations/alert-windows'
import { ticketSlot, type Ticket } from './keys/access'
import { budgetPeriod, spendCounter, type Budgeted } from './keys/spend-ledger'

/** What {@link budgetAlerts} needs. */
export interface BudgetAlertOptions {
  store: SharedStore
  /** The key system's spend counters: flushed before a check, so the store's totals include this process's calls. */
  counters: CounterBuffer
  /** Shares of the budget to alert at, increasing (default [0.5, 0.8, 1]). */
  thresholds: number[]
  /** How long a budget without `budget_duration` stays alerted (LiteLLM's `budget_alert_ttl`, default 24 h). */
  ttlMs: number
  notify: (notice: AlertNotice) => void
  /** Where errors of the check go (the store being down): reported, never thrown into the call. */
  report: (error: unknown) => void
  now?: () => number
}

const dayMs = 86_400_000

/**
 * The layer: outside the key system's spend layer, so its writes are issued first.
 *
 * @example
 * ```ts
 * layers.unshift(budgetAlerts({ store, counters, thresholds: [0.5, 0.8, 1], ttlMs: 86_400_000, notify, report }))
 * ```
 */
export function budgetAlerts(options: BudgetAlertOptions): Middleware {
  const { store, counters, thresholds, notify } = options
  const now = options.now ?? Date.now
  const check = async (ticket: Ticket): Promise<void> => {
    const { key, user, team } = ticket.found
    const owners: Array<{ entity: 'key' | 'user' | 'team'; id: string; name: string; record: Budgeted | undefined }> = [
      { entity: 'key', id: ticket.token, name: key.key_alias ?? `key …${ticket.token.slice(-6)}`, record: key },
    ]
    if (key.user_id !== null) owners.push({ entity: 'user', id: key.user_id, name: `user ${key.user_id}`, record: user })
    if (key.team_id !== null) owners.push({ entity: 'team', id: key.team_id, name: team?.team_alias ? `team ${team.team_alias}` : `team ${key.team_id}`, record: team })
    const at = now()
    // The totals of every replica, fresh: this process's additions sent first (the buffer's cached totals may be older than another replica's calls).
    await counters.flush()
    for (const owner of owners) {
      const budget = owner.record?.max_budget
      if (budget === null || budget === undefined || !(budget > 0) || owner.record === undefined) continue
      const period = budgetPeriod(owner.record, at)
      const spend = Number((await store.get(spendCounter(owner.entity, owner.id, period.index))) ?? 0)
      const ttlMs = Number.isFinite(period.end) ? period.end - at + dayMs : options.ttlMs
      // Only the highest threshold reached is sent; the lower ones are claimed with it, so a jump from 10% to 120% says "over budget" once.
      const reached = thresholds.filter((share) => spend >= budget * share)
      if (reached.length === 0) continue
      const claims = await Promise.all(reached.map((share) => sendOnce(store, `budget:${owner.entity}:${owner.id}:${period.index}:${share}`, ttlMs)))
      const highest = reached.at(-1)!
      if (!claims.at(-1)) continue
      notify(budgetNotice(owner, spend, budget, highest, period.end, at))
    }
  }
  return async function budgetAlert(ctx, next) {
    try {
      await next()
    } finally {
      const ticket = ctx.slot<Ticket>(ticketSlot)
      if (ticket !== undefined) ctx.waitUntil(check(ticket).catch(options.report))
    }
  }
}

function budgetNotice(owner: { entity: string; id: string; name: string }, spend: number, budget: number, share: number, resetsAt: number, at: number): AlertNotice {
  const percent = `${Math.round(share * 100)}%`
  const title = share >= 1 ? `Budget exceeded: ${owner.name} spent ${dollars(spend)} of ${dollars(budget)}` : `Budget ${percent} reached: ${owner.name} spent ${dollars(spend)} of ${dollars(budget)}`
  return {
    kind: 'budget',
    title,
    summary: title,
    detail:
      share >= 1
        ? `${owner.name} has spent its budget of ${dollars(budget)}; its requests are refused until ${Number.isFinite(resetsAt) ? new Date(resetsAt).toISOString() : 'its budget is raised'}.`
        : `${owner.name} has spent ${dollars(spend)}, ${percent} or more of its ${dollars(budget)} budget.`,
    facts: [
      { name: 'Owner', value: `${owner.entity} ${owner.name}` },
      { name: 'Spend', value: dollars(spend) },
      { name: 'Budget', value: dollars(budget) },
      { name: 'Threshold', value: percent },
      { name: 'Resets', value: Number.isFinite(resetsAt) ? new Date(resetsAt).toISOString() : 'never (no budget_duration)' },
    ],
    at,
    severity: share >= 1 ? 'critical' : 'warning',
    key: JSON.stringify(['budget', owner.entity, owner.id, share]),
  }
}
