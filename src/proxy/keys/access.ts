/**
 * Who may call, and whether this call may go now: the master key passes; a virtual key is looked up
 * (by its hash), refused when unknown, blocked, expired or asking for a model it may not call, then
 * checked against its budgets (the key's, and its team's, or else its user's) and its limits
 * (requests and tokens per minute for the key, its user and its team; requests in flight for the
 * key) in the shared store: what this process knows (a key's plan, totals read under 100 ms ago,
 * leased counts, a held slot) at once, the rest in one round of parallel store requests. What it took (a request counted,
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
import { keyPlan, type KeyPlan } from './key-plan'
import type { LimitTarget, RateWindows, WindowRef } from './rate-windows'
import { blockedKey, blockedTeam, budgetExceeded, checksUnavailable, expiredKey, modelNotAllowed, rateLimited, unknownKey, type LimitReached } from './refusals'

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
  // A presented key's hash, its shown form and whether it is the master key, worked out once per key this process sees (at most 10,000 kept).
  const presentedKeys = new Map<string, { token: string; shown: string; master: boolean }>()

  const authenticate = async (headers: IncomingHttpHeaders): Promise<Principal | Refusal> => {
    const presented = presentedKey(headers)
    if (presented?.key === undefined) return isMaster(headers) ? master : { refusal: openAiError(401, unauthorisedMessage(headers), { code: 'invalid_api_key' }) }
    let known = presentedKeys.get(presented.key)
    if (known === undefined) {
      if (presentedKeys.size >= 10_000) presentedKeys.clear()
      // The master check reads the same header: its constant-time comparison runs once per key.
      presentedKeys.set(presented.key, (known = { token: hashKey(presented.key), shown: keyName(presented.key), master: isMaster(headers) }))
    }
    if (known.master) return master
    const { token, shown } = known
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

  /**
   * Asks every check at once: what this process knows is read at once, the rest from the store in
   * one round of parallel requests (ioredis sends them in one pipeline), and only then decided.
   */
  const checkLimits = (token: string, found: KeyContext, plan: KeyPlan): Admission | Promise<Admission> => {
    const at = now()
    if (plan.unlimited) return { ticket: { token, found, windows: [], inFlight: false } }
    const taken: Taken = { spends: [], windows: [], counts: [], tokens: [], inFlight: undefined, waits: undefined }
    for (let index = 0; index < plan.budgets.length; index++) {
      const counter = plan.budgets[index]!.counter
      const spend = counters.peek(counter)
      if (spend !== undefined) taken.spends[index] = spend
      else waitFor(taken, counters.read(counter).then((value) => void (taken.spends[index] = value)))
    }
    for (let index = 0; index < plan.targets.length; index++) {
      const target = plan.targets[index]!
      const window = windows.current(target.scope, target.id)
      if (window instanceof Promise) waitFor(taken, window.then((known) => countIn(windows, taken, index, target, known)))
      else {
        const pending = countIn(windows, taken, index, target, window)
        if (pending !== undefined) waitFor(taken, pending)
      }
    }
    if (plan.parallel !== null) {
      const entered = windows.enter(token, plan.parallel)
      if (typeof entered === 'number') taken.inFlight = entered
      else waitFor(taken, entered.then((count) => void (taken.inFlight = count)))
    }
    if (taken.waits === undefined) return decide(token, found, plan, taken, at)
    return Promise.allSettled(taken.waits).then((outcomes) => {
      for (const outcome of outcomes) {
        if (outcome.status === 'fulfilled') continue
        // A fail-closed store that is down: the request is refused, and a slot it took given back.
        if (taken.inFlight !== undefined && taken.inFlight <= plan.parallel!) windows.leave(token)
        return { refusal: checksUnavailable('store', (outcome.reason as Error).message) }
      }
      return decide(token, found, plan, taken, at)
    })
  }

  /** Admits the request with what it took, or refuses it and gives back what it took. */
  const decide = (token: string, found: KeyContext, plan: KeyPlan, taken: Taken, at: number): Admission => {
    let refusal: OpenAiErrorResponse | undefined
    let reason: LimitReached['type'] | 'budget' | undefined
    for (let index = 0; index < plan.budgets.length && refusal === undefined; index++) {
      const budget = plan.budgets[index]!
      const spend = taken.spends[index]!
      if (budget.inclusive ? spend >= budget.maxBudget : spend > budget.maxBudget) {
        refusal = budgetExceeded({ owner: budget.owner, id: budget.id, spend, maxBudget: budget.maxBudget })
        reason = 'budget'
      }
    }
    for (let index = 0; index < plan.targets.length && refusal === undefined; index++) {
      const target = plan.targets[index]!
      const count = taken.counts[index]
      if (count !== undefined && count > target.rpm!) {
        refusal = rateLimited({ scope: target.scope, id: target.id, type: 'requests', limit: target.rpm!, resetAt: taken.windows[index]!.end }, at)
        reason = 'requests'
      }
    }
    for (let index = 0; index < plan.targets.length && refusal === undefined; index++) {
      const target = plan.targets[index]!
      const tokens = taken.tokens[index]
      if (tokens !== undefined && tokens >= target.tpm!) {
        refusal = rateLimited({ scope: target.scope, id: target.id, type: 'tokens', limit: target.tpm!, resetAt: taken.windows[index]!.end }, at)
        reason = 'tokens'
      }
    }
    const inFlight = taken.inFlight
    if (refusal === undefined && inFlight !== undefined && inFlight > plan.parallel!) {
      refusal = rateLimited({ scope: 'api_key', id: token, type: 'max_parallel_requests', limit: plan.parallel!, resetAt: at + 1_000 }, at)
      reason = 'max_parallel_requests'
    }
    if (refusal === undefined) return { ticket: { token, found, windows: taken.windows, inFlight: inFlight !== undefined } }
    // Give back what this request took (a slot past the limit the windows gave back themselves).
    // A request refused for requests per minute stays counted, as in LiteLLM.
    if (inFlight !== undefined && inFlight <= plan.parallel!) windows.leave(token)
    if (reason !== 'requests') {
      for (let index = 0; index < plan.targets.length; index++) {
        const count = taken.counts[index]
        if (count !== undefined && count <= plan.targets[index]!.rpm!) windows.uncountRequest(taken.windows[index]!)
      }
    }
    return { refusal }
  }

  return {
    authenticate,
    async admit(headers, model) {
      const principal = await authenticate(headers)
      if ('refusal' in principal) return principal
      if (principal.kind !== 'virtual') return {}
      const plan = keyPlan(principal.token, principal.found, now())
      for (const list of plan.modelLists) {
        if (!modelAllowed(model, list.models)) return { refusal: modelNotAllowed(model, list.models, list.owner) }
      }
      return checkLimits(principal.token, principal.found, plan)
    },
    allowedModels(principal, names) {
      if (principal.kind !== 'virtual') return [...names]
      const lists = modelLists(principal.found)
      return names.filter((name) => lists.every((list) => modelAllowed(name, list.models)))
    },
  }
}

/** What {@link KeyAccess.admit} answers for a virtual key. */
type Admission = { ticket: Ticket } | Refusal

/** What a request's checks found and took, by the index of the plan's budget or target. */
interface Taken {
  spends: number[]
  windows: WindowRef[]
  counts: Array<number | undefined>
  tokens: Array<number | undefined>
  inFlight: number | undefined
  /** The answers still to come from the store. */
  waits: Array<Promise<unknown>> | undefined
}

function waitFor(taken: Taken, answer: Promise<unknown>): void {
  ;(taken.waits ??= []).push(answer)
}

/** Counts the request in a target's window and reads its tokens; a promise when the store must answer. */
function countIn(windows: RateWindows, taken: Taken, index: number, target: LimitTarget, window: WindowRef): Promise<unknown> | undefined {
  taken.windows[index] = window
  let count: Promise<unknown> | undefined
  let tokens: Promise<unknown> | undefined
  if (target.rpm !== null) {
    const counted = windows.countRequest(window, target.rpm)
    if (typeof counted === 'number') taken.counts[index] = counted
    else count = counted.then((value) => void (taken.counts[index] = value))
  }
  if (target.tpm !== null) {
    const read = windows.tokens(window)
    if (typeof read === 'number') taken.tokens[index] = read
    else tokens = read.then((value) => void (taken.tokens[index] = value))
  }
  return count !== undefined && tokens !== undefined ? Promise.all([count, tokens]) : (count ?? tokens)
}
