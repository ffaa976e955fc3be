/**
 * The in-process store: the default when no Redis is configured. It is exact and fast, and it is
 * one process's truth only: two workers or two replicas each have their own. Expired keys and
 * forgotten window values are dropped as they are met and by a sweep every few thousand writes, so
 * the memory it holds follows what is live, not what was ever written.
 */
import { z } from 'zod'
import { lazySchema } from '../lazy-schema'
import { validate } from '../validate'
import { defaultStorePrefix, type SharedStore, type WindowTotals } from './store'
import { checkKey, checkNumber, checkString, checkTtl, checkWindow, notACounter } from './store-arguments'

/** Options of {@link memoryStore}. */
export interface MemoryStoreOptions {
  /** Put in front of every key (default `llm-onion:`); only visible to code that lists the store's keys. */
  prefix?: string
  /** The clock, in epoch milliseconds (default `Date.now`); tests pass their own. */
  now?: () => number
}

const optionsSchema = lazySchema(() =>
  z
    .object({
      prefix: z.string().optional(),
      now: z.custom<() => number>((value) => typeof value === 'function', 'must be a function returning epoch milliseconds, like Date.now').optional(),
    })
    .strict(),
)

interface Entry {
  value: string
  expiresAt: number | undefined
}

interface Window {
  /** Parallel arrays, oldest first: when each value was recorded, and the value. */
  times: number[]
  values: number[]
  /** Index of the oldest value still in the window (the ones before it are forgotten). */
  start: number
  sum: number
  windowMs: number
}

/** Writes between two sweeps of expired keys and stale windows. */
const sweepEvery = 4096

/**
 * An in-memory {@link SharedStore}: counters, values with a time to live and sliding windows in
 * this process. The embedded proxy and `createClient()` use one when no store is given.
 *
 * @example
 * ```ts
 * import { memoryStore } from 'llm-onion'
 *
 * const store = memoryStore()
 * await store.increment('requests')                      // 1
 * await store.set('lock', 'me', { ttlMs: 5_000, onlyIfAbsent: true }) // true
 * await store.addToWindow('latency:gpt-4', 420, 60_000)  // { sum: 420, count: 1 }
 * ```
 */
export function memoryStore(options: MemoryStoreOptions = {}): SharedStore {
  const settings = validate(optionsSchema, options, 'memoryStore() options')
  const prefix = settings.prefix ?? defaultStorePrefix
  const now = settings.now ?? Date.now
  const entries = new Map<string, Entry>()
  const windows = new Map<string, Window>()
  let writes = 0

  const live = (key: string, at: number): Entry | undefined => {
    const entry = entries.get(key)
    if (entry === undefined) return undefined
    if (entry.expiresAt !== undefined && entry.expiresAt <= at) {
      entries.delete(key)
      return undefined
    }
    return entry
  }
  const forgetOld = (window: Window, at: number, windowMs: number): void => {
    window.windowMs = windowMs
    const oldest = at - windowMs
    while (window.start < window.times.length && window.times[window.start]! <= oldest) {
      window.sum -= window.values[window.start]!
      window.start++
    }
    if (window.start === window.times.length) {
      window.times.length = window.values.length = window.start = 0
      window.sum = 0
    } else if (window.start > 1024 && window.start * 2 > window.times.length) {
      window.times.splice(0, window.start)
      window.values.splice(0, window.start)
      window.start = 0
    }
  }
  const totals = (window: Window | undefined): WindowTotals => {
    if (window === undefined) return { sum: 0, count: 0 }
    const count = window.times.length - window.start
    // Sums of floats drift as values leave; an empty window is exactly zero.
    return { sum: count === 0 ? 0 : window.sum, count }
  }
  const wrote = (at: number): void => {
    if (++writes % sweepEvery !== 0) return
    for (const [key, entry] of entries) if (entry.expiresAt !== undefined && entry.expiresAt <= at) entries.delete(key)
    for (const [key, window] of windows) {
      forgetOld(window, at, window.windowMs)
      if (window.times.length === 0) windows.delete(key)
    }
  }
  const readWindow = (key: string, windowMs: number): Window | undefined => {
    const window = windows.get(prefix + key)
    if (window !== undefined) forgetOld(window, now(), windowMs)
    return window
  }

  return {
    kind: 'memory',
    async increment(key, amount = 1, incrementOptions = {}) {
      checkKey(key, 'increment')
      checkNumber(amount, 'increment', 'amount')
      checkTtl(incrementOptions.ttlMs, 'increment')
      const at = now()
      const entry = live(prefix + key, at)
      if (entry === undefined) {
        const ttlMs = incrementOptions.ttlMs
        entries.set(prefix + key, { value: String(amount), expiresAt: ttlMs === undefined ? undefined : at + ttlMs })
        wrote(at)
        return amount
      }
      const current = Number(entry.value)
      if (entry.value.trim() === '' || !Number.isFinite(current)) throw notACounter(key, entry.value)
      const total = current + amount
      entry.value = String(total)
      return total
    },
    async get(key) {
      checkKey(key, 'get')
      return live(prefix + key, now())?.value
    },
    async set(key, value, setOptions = {}) {
      checkKey(key, 'set')
      checkString(value, 'set', 'value')
      checkTtl(setOptions.ttlMs, 'set')
      const at = now()
      if (setOptions.onlyIfAbsent === true && live(prefix + key, at) !== undefined) return false
      const ttlMs = setOptions.ttlMs
      entries.set(prefix + key, { value, expiresAt: ttlMs === undefined ? undefined : at + ttlMs })
      wrote(at)
      return true
    },
    async delete(key) {
      checkKey(key, 'delete')
      entries.delete(prefix + key)
      windows.delete(prefix + key)
    },
    async addToWindow(key, value, windowMs) {
      checkKey(key, 'addToWindow')
      checkWindow(windowMs, 'addToWindow')
      checkNumber(value, 'addToWindow', 'value')
      const at = now()
      let window = windows.get(prefix + key)
      if (window === undefined) {
        window = { times: [], values: [], start: 0, sum: 0, windowMs }
        windows.set(prefix + key, window)
      }
      forgetOld(window, at, windowMs)
      window.times.push(at)
      window.values.push(value)
      window.sum += value
      wrote(at)
      return totals(window)
    },
    async readWindow(key, windowMs) {
      checkKey(key, 'readWindow')
      checkWindow(windowMs, 'readWindow')
      return totals(readWindow(key, windowMs))
    },
    async windowValues(key, windowMs) {
      checkKey(key, 'windowValues')
      checkWindow(windowMs, 'windowValues')
      const window = readWindow(key, windowMs)
      return window === undefined ? [] : window.values.slice(window.start)
    },
    async close() {
      entries.clear()
      windows.clear()
    },
  }
}
