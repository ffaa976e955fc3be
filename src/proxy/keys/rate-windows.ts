/**
 * Requests and tokens per minute, and requests in flight, counted in the shared store so that every
 * worker and replica counts into one number. The window is LiteLLM's (litellm/proxy/hooks/
 * parallel_request_limiter_v3.py): a fixed window that starts with the first request after the last
 * one ended and lasts `windowMs` (`LITELLM_RATE_LIMIT_WINDOW_SIZE` seconds, default 60). A request is
 * counted by an atomic increment and refused when the count passes the limit, so exactly `limit`
 * requests pass in a window however many processes share it. Tokens are known only after a call: a
 * request is admitted while the window's tokens are under the limit, and its tokens are added when it
 * ends, so the calls in flight when the limit is reached may take the window past it. Tokens are
 * counted through the counter buffer (src/proxy/keys/counter-buffer.ts): another process sees them
 * within its flush and read intervals.
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
 * reads and adds tokens, and holds the slots of requests in flight.
 *
 * @example
 * ```ts
 * const windows = createRateWindows(store, createCounterBuffer(store, { flushMs: 10, maxAgeMs: 100 }), { windowMs: 60_000 })
 * const window = await windows.current('api_key', token)
 * const count = await windows.countRequest(window)
 * ```
 */
export interface RateWindows {
  readonly windowMs: number
  current(scope: LimitScope, id: string): Promise<WindowRef>
  /** Counts one request in the window; resolves to the window's count including it. */
  countRequest(window: WindowRef): Promise<number>
  /** Takes back a request counted in the window (one refused for another reason). */
  uncountRequest(window: WindowRef): Promise<void>
  /** Tokens counted in the window so far (as the counter buffer sees them). */
  tokens(window: WindowRef): Promise<number>
  /** Adds a call's tokens (sent with the counter buffer's next flush). */
  addTokens(window: WindowRef, tokens: number): void
  /** Takes a slot of `token`'s requests in flight; resolves to how many are in flight with it. */
  enter(token: string): Promise<number>
  /** Gives the slot back. */
  leave(token: string): Promise<void>
}

/**
 * How long the in-flight count of a key is kept without being recreated: a process that dies with
 * requests in flight holds their slots until then at most.
 */
export const inFlightLeaseMs = 600_000

/**
 * Rate-limit windows over `store`; tokens go through `counters`.
 *
 * @example
 * ```ts
 * const store = memoryStore()
 * const windows = createRateWindows(store, createCounterBuffer(store, { flushMs: 10, maxAgeMs: 100 }), { windowMs: 60_000 })
 * ```
 */
export function createRateWindows(store: SharedStore, counters: CounterBuffer, options: { windowMs: number; now?: () => number }): RateWindows {
  const { windowMs } = options
  const now = options.now ?? Date.now
  // The window each scope is in, as this process knows it: the same object until it ends.
  const known = new Map<string, WindowRef>()
  const windowOf = (scope: LimitScope, id: string, start: number): WindowRef => {
    const name = `${scope}:${id}:${start}`
    return { scope, id, start, end: start + windowMs, requestsKey: `ratelimit:requests:${name}`, tokensKey: `ratelimit:tokens:${name}` }
  }

  const current = async (scope: LimitScope, id: string): Promise<WindowRef> => {
    const name = `${scope}:${id}`
    const at = now()
    const cached = known.get(name)
    if (cached !== undefined && cached.end > at) return cached
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
  // Counters outlive their window (a late token count still lands in it) and then expire.
  const counterOptions = { ttlMs: windowMs * 2 }

  return {
    windowMs,
    current,
    countRequest: (window) => store.increment(window.requestsKey, 1, counterOptions),
    async uncountRequest(window) {
      await store.increment(window.requestsKey, -1, counterOptions)
    },
    tokens: (window) => counters.read(window.tokensKey),
    addTokens(window, tokens) {
      if (tokens > 0) counters.add(window.tokensKey, tokens, counterOptions.ttlMs)
    },
    enter: (token) => store.increment(`ratelimit:in_flight:${token}`, 1, { ttlMs: inFlightLeaseMs }),
    async leave(token) {
      const left = await store.increment(`ratelimit:in_flight:${token}`, -1, { ttlMs: inFlightLeaseMs })
      // The count expired while requests were in flight: their leaving must not take it below zero.
      if (left < 0) await store.increment(`ratelimit:in_flight:${token}`, -left, { ttlMs: inFlightLeaseMs })
    },
  }
}
