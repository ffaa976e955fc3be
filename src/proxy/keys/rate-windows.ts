/**
 * Requests and tokens per minute, and requests in flight, counted in the shared store so that every
 * worker and replica counts into one number. The window is LiteLLM's (litellm/proxy/hooks/
 * parallel_request_limiter_v3.py): a fixed window that starts with the first request after the last
 * one ended and lasts `windowMs` (`LITELLM_RATE_LIMIT_WINDOW_SIZE` seconds, default 60). Requests are
 * counted by atomic increments and refused past the limit, so at most `limit` requests pass in a
 * window however many processes share it. Under 200 requests per window every request is one
 * increment, and exactly `limit` pass. Above, a process busy with a key takes its counts in leases (an
 * increment by up to 1% of the limit) and hands them out itself, saving the round trip per request;
 * counts a process leased and did not use when the window ends are lost, so with N busy processes up
 * to N% fewer than `limit` may pass. Tokens are known only after a call: a
 * request is admitted while the window's tokens are under the limit, and its tokens are added when it
 * ends, so the calls in flight when the limit is reached may take the window past it. Tokens are
 * counted through the counter buffer (src/proxy/keys/counter-buffer.ts): another process sees them
 * within its flush and read intervals.
 *
 * Requests in flight are counted per key in the store, one atomic increment per slot taken, so that
 * never more than the limit are in flight across processes. A slot a call gives back is held by its
 * process for the next request of the key, which takes it without a round trip; slots not taken for
 * a whole `holdMs` interval go back to the store, so another process can have a freed slot within
 * two intervals (20 ms by default). A process takes a held slot only while its own calls in flight
 * are under the limit.
 *
 * What this process already knows is answered synchronously (a known window, a leased count, a held
 * slot, a fresh token count): the request path awaits only what needs the store.
 */
import type { SharedStore } from '../../shared-state/store'
import type { CounterBuffer } from './counter-buffer'

/** Whose limit: a key (by its hash), an internal user or a team. */
export type LimitScope = 'api_key' | 'user' | 'team'

/** One scope's limits for a request. */
export interface LimitTarget {
  scope: LimitScope
  id: string
  rpm: number | null
  tpm: number | null
}

/** A window as counted for one scope: where its counters live and when it ends. */
export interface WindowRef {
  readonly scope: LimitScope
  readonly id: string
  readonly start: number
  readonly end: number
  /** The store keys of its request and token counts. */
  readonly requestsKey: string
  readonly tokensKey: string
}

/**
 * The rate-limit windows of one store: finds the current window of a scope (remembering its start
 * in this process until it ends, so the common case costs no extra round trip), counts requests,
 * reads and adds tokens, and holds the slots of requests in flight. A method answers with a plain
 * value when this process knows the answer, and with a promise when it must ask the store.
 *
 * @example
 * ```ts
 * const windows = createRateWindows(store, createCounterBuffer(store, { flushMs: 10, maxAgeMs: 100 }), { windowMs: 60_000 })
 * const window = await windows.current('api_key', token)
 * const count = await windows.countRequest(window, 60)
 * ```
 */
export interface RateWindows {
  readonly windowMs: number
  current(scope: LimitScope, id: string): WindowRef | Promise<WindowRef>
  /** Counts one request in the window; its place in the window's count (over `limit`: refuse it). */
  countRequest(window: WindowRef, limit: number): number | Promise<number>
  /** Takes back a request counted in the window (one refused for another reason): this process may hand its count out again. */
  uncountRequest(window: WindowRef): void
  /** Tokens counted in the window so far (as the counter buffer sees them). */
  tokens(window: WindowRef): number | Promise<number>
  /** Adds a call's tokens (sent with the counter buffer's next flush). */
  addTokens(window: WindowRef, tokens: number): void
  /**
   * Takes a slot of `token`'s requests in flight: how many are in flight with it, never over `limit`
   * when it is let in (a held slot: this process's own count). Over `limit`, the slot is already given
   * back: refuse the request and do not call {@link RateWindows.leave}.
   */
  enter(token: string, limit: number): number | Promise<number>
  /** Gives a slot taken within the limit back: held for this process's next request, then returned to the store. */
  leave(token: string): void
  /** Returns every held slot to the store now (at shutdown). */
  release(): Promise<void>
}

/**
 * How long the in-flight count of a key is kept without being recreated: a process that dies with
 * requests in flight holds their slots until then at most.
 */
export const inFlightLeaseMs = 600_000

/** What {@link createRateWindows} takes besides the store and the counters. */
export interface RateWindowsOptions {
  windowMs: number
  /** How long a slot given back may wait in this process for its next request before it returns to the store (default 10 ms). */
  holdMs?: number
  now?: () => number
  /** Called when held slots could not be returned to the store (they are kept and tried again). */
  onError?: (error: unknown) => void
}

/**
 * Rate-limit windows over `store`; tokens go through `counters`.
 *
 * @example
 * ```ts
 * const store = memoryStore()
 * const windows = createRateWindows(store, createCounterBuffer(store, { flushMs: 10, maxAgeMs: 100 }), { windowMs: 60_000 })
 * ```
 */
export function createRateWindows(store: SharedStore, counters: CounterBuffer, options: RateWindowsOptions): RateWindows {
  const { windowMs } = options
  const now = options.now ?? Date.now
  // The window each scope is in, as this process knows it: the same object until it ends.
  const known = new Map<string, WindowRef>()
  const windowOf = (scope: LimitScope, id: string, start: number): WindowRef => {
    const name = `${scope}:${id}:${start}`
    return { scope, id, start, end: start + windowMs, requestsKey: `ratelimit:requests:${name}`, tokensKey: `ratelimit:tokens:${name}` }
  }

  const findWindow = async (scope: LimitScope, id: string, name: string, at: number): Promise<WindowRef> => {
    const key = `ratelimit:window:${name}`
    let start = Number(await store.get(key))
    if (!Number.isFinite(start) || start <= 0 || start + windowMs <= at) {
      // The first request of a new window sets its start; the processes that lose the race read it.
      const won = await store.set(key, String(at), { ttlMs: windowMs, onlyIfAbsent: true })
      start = won ? at : Number(await store.get(key))
      if (!Number.isFinite(start) || start <= 0) start = at
    }
    if (known.size > 100_000) known.clear()
    const window = windowOf(scope, id, start)
    known.set(name, window)
    return window
  }
  // The requests that find a window ended at once wait for one answer from the store.
  const finding = new Map<string, Promise<WindowRef>>()
  const current = (scope: LimitScope, id: string): WindowRef | Promise<WindowRef> => {
    const name = `${scope}:${id}`
    const at = now()
    const cached = known.get(name)
    if (cached !== undefined && cached.end > at) return cached
    let found = finding.get(name)
    if (found === undefined) {
      found = findWindow(scope, id, name, at).finally(() => finding.delete(name))
      finding.set(name, found)
    }
    return found
  }
  // Counters outlive their window (a late token count still lands in it) and then expire.
  const counterOptions = { ttlMs: windowMs * 2 }
  const leases = new WeakMap<WindowRef, Lease>()

  const leaseMore = async (window: WindowRef, limit: number, lease: Lease): Promise<number> => {
    // Leases grow while this process keeps coming back within 100 ms, up to 1% of the limit.
    const at = now()
    lease.size = at - lease.leasedAt < 100 ? Math.min(lease.size * 2, Math.max(1, Math.floor(limit / 100))) : 1
    lease.leasedAt = at
    const size = lease.size
    const total = await store.increment(window.requestsKey, size, counterOptions)
    const first = total - size
    if (first >= limit) return (lease.over = total)
    // Leases taken by requests at once add up; a count handed out here is never over the limit.
    lease.remaining += Math.min(total, limit) - first - 1
    lease.next = Math.max(lease.next, first + 1)
    return first + 1
  }
  const countRequest = (window: WindowRef, limit: number): number | Promise<number> => {
    let lease = leases.get(window)
    if (lease === undefined) leases.set(window, (lease = { next: 0, remaining: 0, size: 1, leasedAt: 0, over: 0 }))
    // The window is known to be full: refused here, without a round trip (counts only grow in a window).
    if (lease.over > 0 && lease.remaining === 0) return lease.over
    if (lease.remaining > 0) {
      lease.remaining--
      return Math.min(limit, ++lease.next)
    }
    return leaseMore(window, limit, lease)
  }

  const slots = createHeldSlots(store, options.holdMs ?? 10, options.onError)
  return {
    windowMs,
    current,
    countRequest,
    uncountRequest(window) {
      const lease = leases.get(window)
      if (lease !== undefined) lease.remaining++
    },
    tokens: (window) => counters.peek(window.tokensKey) ?? counters.read(window.tokensKey),
    addTokens(window, tokens) {
      if (tokens > 0) counters.add(window.tokensKey, tokens, counterOptions.ttlMs)
    },
    enter: slots.enter,
    leave: slots.leave,
    release: slots.release,
  }
}

/** The counts of a window this process leased and has not handed out yet. */
interface Lease {
  /** The highest place handed out (what a request is told, never over the limit while counts remain). */
  next: number
  remaining: number
  size: number
  leasedAt: number
  /** The window's count when this process found it past the limit (0 until then). */
  over: number
}

/** One key's slots in flight as this process holds them. */
interface KeySlots {
  /** Taken by calls of this process that have not ended. */
  inUse: number
  /** Given back by calls, still counted in the store, waiting for this process's next request. */
  held: number
  /** The fewest held since the last return to the store: those were not needed for a whole interval. */
  fewestHeld: number
}

/** The slots of requests in flight, counted in the store and held a while by the process that had them. */
function createHeldSlots(store: SharedStore, holdMs: number, onError: ((error: unknown) => void) | undefined) {
  const keys = new Map<string, KeySlots>()
  const storeKey = (token: string) => `ratelimit:in_flight:${token}`
  const ttl = { ttlMs: inFlightLeaseMs }
  let timer: NodeJS.Timeout | undefined

  const slotsOf = (token: string): KeySlots => {
    let own = keys.get(token)
    if (own === undefined) keys.set(token, (own = { inUse: 0, held: 0, fewestHeld: 0 }))
    return own
  }
  /** Subtracts `count` slots from the store's count, never taking it below zero (a count that expired with calls in flight). */
  const giveBack = async (token: string, count: number): Promise<void> => {
    const left = await store.increment(storeKey(token), -count, ttl)
    if (left < 0) await store.increment(storeKey(token), -left, ttl)
  }
  const takeFromStore = async (token: string, limit: number): Promise<number> => {
    const total = await store.increment(storeKey(token), 1, ttl)
    if (total > limit) {
      giveBack(token, 1).catch((error: unknown) => onError?.(error))
      return total
    }
    slotsOf(token).inUse++
    return total
  }
  /** Returns the slots held for a whole interval (or all of them, `everything`); those the store refused are held again. */
  const returnHeld = (everything: boolean): Promise<void> => {
    const returns: Array<Promise<void>> = []
    for (const [token, own] of keys) {
      const count = everything ? own.held : Math.min(own.held, own.fewestHeld)
      own.held -= count
      own.fewestHeld = own.held
      if (count > 0) {
        returns.push(
          giveBack(token, count).catch((error: unknown) => {
            // Still counted in the store: this process may use them, and tries again.
            slotsOf(token).held += count
            onError?.(error)
            schedule()
          }),
        )
      }
      if (own.inUse === 0 && own.held === 0) keys.delete(token)
    }
    timer = undefined
    for (const own of keys.values()) if (own.held > 0) schedule()
    return Promise.all(returns).then(() => undefined)
  }
  const schedule = () => {
    if (timer !== undefined) return
    timer = setTimeout(() => void returnHeld(false), holdMs)
    timer.unref()
  }

  return {
    enter(token: string, limit: number): number | Promise<number> {
      const own = keys.get(token)
      if (own !== undefined && own.held > 0 && own.inUse < limit) {
        own.held--
        if (own.held < own.fewestHeld) own.fewestHeld = own.held
        return ++own.inUse
      }
      return takeFromStore(token, limit)
    },
    leave(token: string): void {
      const own = keys.get(token)
      if (own === undefined || own.inUse === 0) return
      own.inUse--
      own.held++
      schedule()
    },
    release(): Promise<void> {
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
      return returnHeld(true)
    },
  }
}
