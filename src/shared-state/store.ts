/**
 * The shared store: the one small API callbacks, the router, keys, budgets, rate limits and alerts
 * count with, so that N worker processes and N replicas of the proxy see one truth. Two
 * implementations: `memoryStore()` (one process, the default, no setup) and `redisStore()` (every
 * process that points at the same Redis shares it). docs/shared-state.md describes both.
 *
 * Keys are plain strings chosen by the caller; each implementation puts its `prefix` (default
 * `llm-onion:`) in front, so several deployments can share one Redis. Counters are numbers (floats
 * allowed: spend in USD), windows are sliding: a value recorded at `t` counts until `t + windowMs`.
 */

/** A sliding window's totals: the sum of its values and how many there are. */
export interface WindowTotals {
  sum: number
  count: number
}

/**
 * Counters with expiry, values with a time to live and sliding-window sums, shared by every process
 * that uses the same store. Every method is atomic on its key across processes.
 *
 * A sliding window's key is read with one `windowMs`: recording or reading it forgets the values
 * older than that window, so use one window size per key (`latency:gpt-4:60s`, not one key for two
 * sizes).
 *
 * @example
 * ```ts
 * import { createClient, memoryStore } from 'llm-onion'
 *
 * const client = createClient({ store: memoryStore() })
 * client.use(async (ctx, next) => {
 *   await next()
 *   const total = await ctx.store.increment('requests')               // across every process sharing the store
 *   await ctx.store.addToWindow(`latency:${ctx.model}`, ctx.timing.end! - ctx.timing.start, 60_000)
 * })
 * ```
 */
export interface SharedStore {
  readonly kind: 'memory' | 'redis'
  /** Adds `amount` (default 1) to a counter, created at 0 with expiry `ttlMs` when new; resolves to the new total. Atomic across processes. */
  increment(key: string, amount?: number, options?: { ttlMs?: number }): Promise<number>
  get(key: string): Promise<string | undefined>
  /** Resolves false when `onlyIfAbsent` and the key exists (SET NX). */
  set(key: string, value: string, options?: { ttlMs?: number; onlyIfAbsent?: boolean }): Promise<boolean>
  delete(key: string): Promise<void>
  /** Records `value` now in a sliding window of `windowMs`; resolves to the window's totals including it. */
  addToWindow(key: string, value: number, windowMs: number): Promise<WindowTotals>
  readWindow(key: string, windowMs: number): Promise<WindowTotals>
  /** The window's values (for percentiles), oldest first. */
  windowValues(key: string, windowMs: number): Promise<number[]>
  close(): Promise<void>
}

/** The prefix every store puts in front of its keys unless told otherwise. */
export const defaultStorePrefix = 'llm-onion:'
