/**
 * The cache's default home: a least-recently-used map in this process, bounded by a number of
 * entries and by their total size, each entry with its own time to live. Values are the stored
 * JSON text, so a hit hands out a fresh copy the caller may change, and the size bound counts what
 * is really held. A `Map` keeps insertion order; reading an entry moves it to the end, so the
 * first key is always the least recently used one, and eviction takes from the front.
 */

/** Options of {@link createMemoryLru}; every one has a default. */
export interface MemoryLruOptions {
  /** Most entries held (default 1,000). */
  maxEntries?: number
  /** Most characters of stored text held, all entries together (default 64 MiB worth, 67,108,864). */
  maxSize?: number
  /** The clock, in epoch milliseconds (default `Date.now`); tests pass their own. */
  now?: () => number
}

/** What the LRU holds right now, and what it had to drop. */
export interface MemoryLruStats {
  entries: number
  size: number
  /** Entries dropped to stay within `maxEntries` or `maxSize`. */
  evictions: number
}

/** A bounded in-memory map of text values with a time to live each. */
export interface MemoryLru {
  get(key: string): string | undefined
  /** Stores `value` for `ttlMs` (undefined: until evicted). A value larger than `maxSize` is not stored. */
  set(key: string, value: string, ttlMs?: number): void
  delete(key: string): void
  clear(): void
  stats(): MemoryLruStats
}

interface Entry {
  value: string
  expiresAt: number
}

/**
 * A least-recently-used map bounded by entries and by total size.
 *
 * @example
 * ```ts
 * const lru = createMemoryLru({ maxEntries: 2 })
 * lru.set('a', 'one', 60_000)
 * lru.set('b', 'two', 60_000)
 * lru.get('a')                 // 'one' (now the most recently used)
 * lru.set('c', 'three', 60_000) // evicts 'b'
 * ```
 */
export function createMemoryLru(options: MemoryLruOptions = {}): MemoryLru {
  const maxEntries = options.maxEntries ?? 1_000
  const maxSize = options.maxSize ?? 64 * 1024 * 1024
  const now = options.now ?? (() => Date.now())
  const entries = new Map<string, Entry>()
  let size = 0
  let evictions = 0

  const remove = (key: string, entry: Entry) => {
    entries.delete(key)
    size -= entry.value.length
  }

  return {
    get(key) {
      const entry = entries.get(key)
      if (entry === undefined) return undefined
      if (entry.expiresAt <= now()) {
        remove(key, entry)
        return undefined
      }
      // Most recently used last: delete and set again moves it to the end of the Map's order.
      entries.delete(key)
      entries.set(key, entry)
      return entry.value
    },
    set(key, value, ttlMs) {
      const existing = entries.get(key)
      if (existing !== undefined) remove(key, existing)
      if (value.length > maxSize) return
      entries.set(key, { value, expiresAt: ttlMs === undefined ? Infinity : now() + ttlMs })
      size += value.length
      // The least recently used go first (an expired entry is dropped when it is read, or when its turn comes).
      for (const [oldKey, oldEntry] of entries) {
        if (entries.size <= maxEntries && size <= maxSize) break
        remove(oldKey, oldEntry)
        evictions++
      }
    },
    delete(key) {
      const entry = entries.get(key)
      if (entry !== undefined) remove(key, entry)
    },
    clear() {
      entries.clear()
      size = 0
    },
    stats: () => ({ entries: entries.size, size, evictions }),
  }
}
