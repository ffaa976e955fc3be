/**
 * The request path's view of keys: a key with its user and team, read from the repository and kept
 * in this process for `ttlMs` (LiteLLM's `general_settings.user_api_key_cache_ttl`, default 60 s), so
 * a request costs no database round trip. A change made through this process (`/key/update`,
 * `/key/delete`, `/key/block`) is seen here at once. With `changes`, it also adds one to a version
 * counter in the shared store, which every process reads through its counter buffer (at most 100 ms
 * old, so no round trip per request): a process that sees the version move re-reads its keys, so a
 * change made on another worker or replica is seen within about 110 ms instead of `ttlMs`. A counter,
 * not Redis pub/sub: it works on either store, needs no subscriber connection per process, costs one
 * read per 100 ms per process, and a process that was disconnected when the change was published
 * still sees it. Keys that are not found are not remembered (a key generated on another replica works
 * at once). When the repository is unreachable, a copy past its time is used rather than none.
 */
import type { CounterBuffer } from './counter-buffer'
import type { KeyRecord, KeyRepository, TeamRecord, UserRecord } from './records'

/** A key with the records its budgets and limits come from. */
export interface KeyContext {
  key: KeyRecord
  user?: UserRecord
  team?: TeamRecord
}

/**
 * Cached lookups of keys with their user and team.
 *
 * @example
 * ```ts
 * const directory = createKeyDirectory(repository, { ttlMs: 60_000 })
 * const found = await directory.lookup(hashKey(presented))
 * ```
 */
export interface KeyDirectory {
  readonly repository: KeyRepository
  /** The key with its user and team; undefined when there is no such key. Throws when the repository is unreachable and nothing is cached. */
  lookup(token: string): Promise<KeyContext | undefined>
  /** Drops this process's copy of a key (after it changed). */
  forgetKey(token: string): void
  /** Drops every cached key of a user or team (after the user or team changed). */
  forgetOwner(owner: { user_id?: string; team_id?: string }): void
}

/** Most keys held; the oldest copy goes first past it. */
const maxEntries = 10_000

/** The store counter every change of a key moves (under the store's prefix). */
export const keysVersionCounter = 'keys:version'

/** Where changes made by other processes are announced: the shared store, through the counter buffer. */
export interface KeyChanges {
  counters: CounterBuffer
}

/**
 * A {@link KeyDirectory} over `repository`.
 *
 * @example
 * ```ts
 * const directory = createKeyDirectory(memoryKeyRepository(), { ttlMs: 60_000 })
 * ```
 */
export function createKeyDirectory(repository: KeyRepository, options: { ttlMs: number; now?: () => number; changes?: KeyChanges }): KeyDirectory {
  const now = options.now ?? Date.now
  const counters = options.changes?.counters
  const cache = new Map<string, { value: KeyContext; expiresAt: number; version: number }>()
  const inFlight = new Map<string, Promise<KeyContext | undefined>>()
  // The version of the keys as this process last read it: a copy read under another version is re-read.
  let version = 0

  const load = async (token: string): Promise<KeyContext | undefined> => {
    const key = await repository.getKey(token)
    if (key === undefined) return undefined
    const [user, team] = await Promise.all([
      key.user_id === null ? undefined : repository.getUser(key.user_id),
      key.team_id === null ? undefined : repository.getTeam(key.team_id),
    ])
    return { key, ...(user ? { user } : {}), ...(team ? { team } : {}) }
  }
  const reload = (token: string, cached: { value: KeyContext } | undefined): Promise<KeyContext | undefined> => {
    let pending = inFlight.get(token)
    if (pending !== undefined) return pending
    const loadedUnder = version
    pending = load(token).then(
      (value) => {
        inFlight.delete(token)
        cache.delete(token)
        if (value === undefined) return undefined
        if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!)
        cache.set(token, { value, expiresAt: now() + options.ttlMs, version: loadedUnder })
        return value
      },
      (error: unknown) => {
        inFlight.delete(token)
        // Unreachable: a copy past its time still says what the key may do.
        if (cached !== undefined) return cached.value
        throw error
      },
    )
    inFlight.set(token, pending)
    return pending
  }
  const lookup = (token: string): Promise<KeyContext | undefined> => {
    const cached = cache.get(token)
    if (cached !== undefined && cached.expiresAt > now() && cached.version === version) return Promise.resolve(cached.value)
    return reload(token, cached)
  }
  /** Reads the version (a round trip once per 100 ms at most), then looks up; a store that cannot answer leaves the version as it was. */
  const readVersion = async (token: string): Promise<KeyContext | undefined> => {
    try {
      version = await counters!.read(keysVersionCounter)
    } catch {
      // The time to live still bounds how long a changed key is used.
    }
    return lookup(token)
  }

  return {
    repository,
    lookup(token) {
      if (counters === undefined) return lookup(token)
      const seen = counters.peek(keysVersionCounter)
      if (seen === undefined) return readVersion(token)
      version = seen
      return lookup(token)
    },
    forgetKey(token) {
      cache.delete(token)
      counters?.add(keysVersionCounter, 1)
    },
    forgetOwner(owner) {
      for (const [token, entry] of cache) {
        if ((owner.user_id !== undefined && entry.value.key.user_id === owner.user_id) || (owner.team_id !== undefined && entry.value.key.team_id === owner.team_id)) cache.delete(token)
      }
    },
  }
}
