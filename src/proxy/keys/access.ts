/**
 * Who may call, and whether this call may go now: the master key passes; a virtual key is looked up
 * (by its hash), refused when unknown, blocked, expired or asking for a model it may not call, then
 * checked against its budgets (the key's, and its team's, or else its user's) and its limits
 * (requests and tokens per minute for the key, its user and its team; requests in flight for the
 * key) in the shared store, in one round of parallel store requests. What it took (a request counted,
 * a slot in flight) travels with the call as a {@link Ticket}; the spend layer settles it when the
 * call ends (src/proxy/keys/spend-layer.ts).
 *
 * When PostgreSQL cannot be reached (and this process holds no copy of the key), `allowOnDbUnavailable`
 * decides: let the request through unchecked (a warning once a minute), or answer 503. When Redis
 * cannot be reached, the store's own failure mode decides (`router_settings.redis_failure_mode`,
 * docs/shared-state.md): fail-open counts in this process's memory, so limits hold per process;
 * fail-closed rejects, and the request is answered 503.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { CounterBuffer } from './counter-buffer'
import { presentedKey, unauthorisedMessage, type AuthCheck } from '../auth'
import { openAiError, type OpenAiErrorResponse } from '../openai-errors'
import { hashKey, keyName } from './key-hash'
import type { KeyContext, KeyDirectory } from './key-directory'
import { modelAllowed, modelLists } from './model-access'
import type { LimitTarget, RateWindows, WindowRef } from './rate-windows'
import { blockedKey, blockedTeam, budgetExceeded, checksUnavailable, expiredKey, modelNotAllowed, rateLimited, unknownKey, type BudgetOverrun, type LimitReached } from './refusals'
import { budgetPeriod, readSpend, spendCounter } from './spend-ledger'

/** An answer that ends the request. */
export interface Refusal {
  refusal: OpenAiErrorResponse
}

/** Who sent a request: the master key, a virtual key, or a key let through unchecked while the database is down. */
export type Principal = { kind: 'master' } | { kind: 'virtual'; token: string; found: KeyContext } | { kind: 'unchecked' }

/** What an admitted call with a virtual key took, for the spend layer to settle when it ends. */
export interface Ticket {
  token: string
  found: KeyContext
  /** The windows its tokens are added to. */
  windows: WindowRef[]
  /** True when it holds a slot of the key's requests in flight. */
  inFlight: boolean
}

/** Where the call's {@link Ticket} is kept on its context. */
export const ticketSlot = Symbol('llm-onion.keyTicket')

/** What {@link createKeyAccess} needs. */
export interface KeyAccessOptions {
  isMaster: AuthCheck
  directory: KeyDirectory
  /** Spend totals, read through the counter buffer. */
  counters: CounterBuffer
  windows: RateWindows
  allowOnDbUnavailable: boolean
  now?: () => number
  /** Where the once-a-minute warnings go (default `console.warn`). */
  warn?: (message: string) => void
}

/**
 * The access checks of a proxy with virtual keys.
 *
 * @example
 * ```ts
 * const access = createKeyAccess({ isMaster, directory, counters, windows, allowOnDbUnavailable: false })
 * const admitted = await access.admit(request.headers, 'gpt-4o')
 * if ('refusal' in admitted) send(response, admitted.refusal)
 * ```
 */
export interface KeyAccess {
  authenticate(headers: IncomingHttpHeaders): Promise<Principal | Refusal>
  /** Authenticates, then checks model, budgets and limits for a call of `model`. */
  admit(headers: IncomingHttpHeaders, model: string): Promise<{ ticket?: Ticket } | Refusal>
  /** The names of `names` a principal may call (GET /v1/models). */
  allowedModels(principal: Principal, names: readonly string[]): string[]
}

/**
 * Builds the checks.
 *
 * @example
 * ```ts
 * const access = createKeyAccess({ isMaster: createAuthCheck(masterKey), directory, counters, windows, allowOnDbUnavailable: false })
 * ```
 */
export function createKeyAccess(options: KeyAccessOptions): KeyAccess {
  const { isMaster, directory, counters, windows } = options
  const now = options.now ?? Date.now
  let warnedAt = 0
  const warn = (message: string) => {
    if (now() - warnedAt < 60_000) return
    warnedAt = now()
    ;(options.warn ?? console.warn)(`[llm-onion] ${message}`)
  }
  const master: Principal = { kind: 'master' }
  // A key's hash, worked out once per key this process sees (at most 10,000 kept).
  const tokens = new Map<string, { token: string; shown: string }>()
  const tokenFor = (key: string): { token: string; shown: string } => {
    let known = tokens.get(key)
    if (known === undefined) {
      if (tokens.size >= 10_000) tokens.clear()
      tokens.set(key, (known = { token: hashKey(key), shown: keyName(key) }))
    }
    return known
  }

  const authenticate = async (headers: IncomingHttpHeaders): Promise<Principal | Refusal> => {
    if (isMaster(headers)) return master
    const presented = presentedKey(headers)
    if (presented?.key === undefined) return { refusal: openAiError(401, unauthorisedMessage(headers), { code: 'invalid_api_key' }) }
    const { token, shown } = tokenFor(presented.key)
    let found: KeyContext | undefined
    try {
      found = await directory.lookup(token)
    } catch (error) {
      const detail = (error as Error).message
      if (!options.allowOnDbUnavailable) return { refusal: checksUnavailable('database', detail) }
      warn(`${detail} Requests with virtual keys are let through unchecked (general_settings.allow_requests_on_db_unavailable: true).`)
      return { kind: 'unchecked' }
    }
    if (found === undefined) return { refusal: unknownKey(shown, presented.header) }
    if (found.key.blocked) return { refusal: blockedKey() }
    if (found.team?.blocked) return { refusal: blockedTeam(found.team.team_id) }
    if (found.key.expires !== null && Date.parse(found.key.expires) < now()) return { refusal: expiredKey(found.key.expires, now(), shown) }
    return { kind: 'virtual', token, found }
  }

  const checkLimits = async (token: string, found: KeyContext): Promise<{ ticket: Ticket } | Refusal> => {
    const { key, user, team } = found
    const at = now()
    const budgets: Array<BudgetOverrun & { counter: string; inclusive: boolean }> = []
    if (key.max_budget !== null) budgets.push({ owner: 'key', id: token, spend: 0, maxBudget: key.max_budget, counter: spendCounter('key', token, budgetPeriod(key, at).index), inclusive: true })
    // LiteLLM: a key of a team is held to the team's budget, not its user's.
    if (team !== undefined && team.max_budget !== null) {
      budgets.push({ owner: 'team', id: team.team_id, spend: 0, maxBudget: team.max_budget, counter: spendCounter('team', team.team_id, budgetPeriod(team, at).index), inclusive: false })
    } else if (key.team_id === null && user !== undefined && user.max_budget !== null) {
      budgets.push({ owner: 'user', id: user.user_id, spend: 0, maxBudget: user.max_budget, counter: spendCounter('user', user.user_id, budgetPeriod(user, at).index), inclusive: false })
    }
    const targets: LimitTarget[] = []
    if (key.rpm_limit !== null || key.tpm_limit !== null) targets.push({ scope: 'api_key', id: token, rpm: key.rpm_limit, tpm: key.tpm_limit })
    if (user !== undefined && (user.rpm_limit !== null || user.tpm_limit !== null)) targets.push({ scope: 'user', id: user.user_id, rpm: user.rpm_limit, tpm: user.tpm_limit })
    if (team !== undefined && (team.rpm_limit !== null || team.tpm_limit !== null)) targets.push({ scope: 'team', id: team.team_id, rpm: team.rpm_limit, tpm: team.tpm_limit })
    const parallel = key.max_parallel_requests
    if (budgets.length === 0 && targets.length === 0 && parallel === null) return { ticket: { token, found, windows: [], inFlight: false } }

    const work = Promise.all([
      Promise.all(budgets.map((budget) => readSpend(counters, budget.counter))),
      Promise.all(
        targets.map(async (target) => {
          const window = await windows.current(target.scope, target.id)
          const [count, tokens] = await Promise.all([target.rpm === null ? undefined : windows.countRequest(window, target.rpm), target.tpm === null ? undefined : windows.tokens(window)])
          return { target, window, count, tokens }
        }),
      ),
      parallel === null ? undefined : windows.enter(token),
    ])
    let spends: number[]
    let counted: Array<{ target: LimitTarget; window: WindowRef; count: number | undefined; tokens: number | undefined }>
    let inFlight: number | undefined
    try {
      ;[spends, counted, inFlight] = await work
    } catch (error) {
      // A fail-closed store that is down: the request is refused, and a slot it may have taken given back.
      if (parallel !== null) void windows.leave(token).catch(() => undefined)
      return { refusal: checksUnavailable('store', (error as Error).message) }
    }

    let refusal: OpenAiErrorResponse | undefined
    let reason: LimitReached['type'] | 'budget' | undefined
    budgets.forEach((budget, index) => {
      const spend = spends[index]!
      if (refusal === undefined && (budget.inclusive ? spend >= budget.maxBudget : spend > budget.maxBudget)) {
        refusal = budgetExceeded({ ...budget, spend })
        reason = 'budget'
      }
    })
    const limitOf = (kind: 'requests' | 'tokens') => {
      for (const { target, window, count, tokens } of counted) {
        const over = kind === 'requests' ? count !== undefined && count > target.rpm! : tokens !== undefined && tokens >= target.tpm!
        if (over) return rateLimited({ scope: target.scope, id: target.id, type: kind, limit: (kind === 'requests' ? target.rpm : target.tpm)!, resetAt: window.end }, at)
      }
      return undefined
    }
    if (refusal === undefined && (refusal = limitOf('requests')) !== undefined) reason = 'requests'
    if (refusal === undefined && (refusal = limitOf('tokens')) !== undefined) reason = 'tokens'
    if (refusal === undefined && inFlight !== undefined && inFlight > parallel!) {
      refusal = rateLimited({ scope: 'api_key', id: token, type: 'max_parallel_requests', limit: parallel!, resetAt: at + 1_000 }, at)
      reason = 'max_parallel_requests'
    }
    if (refusal === undefined) return { ticket: { token, found, windows: counted.map((each) => each.window), inFlight: inFlight !== undefined } }
    // Give back what this request took. A request refused for requests per minute stays counted, as in LiteLLM.
    const undo: Array<Promise<unknown>> = []
    if (inFlight !== undefined) undo.push(windows.leave(token))
    if (reason !== 'requests') for (const each of counted) if (each.count !== undefined) windows.uncountRequest(each.window)
    void Promise.all(undo).catch(() => undefined)
    return { refusal }
  }

  return {
    authenticate,
    async admit(headers, model) {
      const principal = await authenticate(headers)
      if ('refusal' in principal) return principal
      if (principal.kind !== 'virtual') return {}
      for (const list of modelLists(principal.found)) {
        if (!modelAllowed(model, list.models)) return { refusal: modelNotAllowed(model, list.models, list.owner) }
      }
      return checkLimits(principal.token, principal.found)
    },
    allowedModels(principal, names) {
      if (principal.kind !== 'virtual') return [...names]
      const lists = modelLists(principal.found)
      return names.filter((name) => lists.every((list) => modelAllowed(name, list.models)))
    },
  }
}
