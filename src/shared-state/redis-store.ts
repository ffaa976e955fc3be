/**
 * The shared store on Redis: every process that points at the same Redis (workers, replicas) shares
 * its counters, values and windows. The client (ioredis) is loaded on first use, so importing the
 * package never loads it. When Redis cannot be reached the store fails open by default: it counts in
 * this process's memory, counts how often it did, says so once per outage, and goes back to Redis when
 * Redis is back. Fail-closed instead rejects with a 503 error. It never throws into the process:
 * connection errors are listened to, and the client reconnects by itself.
 */
import { randomBytes } from 'node:crypto'
import type { Redis, RedisOptions } from 'ioredis'
import { z } from 'zod'
import { ServiceUnavailableError, ValidationError } from '../errors'
import { lazySchema } from '../lazy-schema'
import { validate } from '../validate'
import { memoryStore } from './memory-store'
import { storeScripts, type StoreScriptCommands } from './redis-scripts'
import { defaultStorePrefix, type SharedStore, type WindowTotals } from './store'
import { checkKey, checkNumber, checkString, checkTtl, checkWindow, notACounter } from './store-arguments'

/** What the store does while Redis cannot be reached. */
export type RedisFailureMode = 'fail-open' | 'fail-closed'

/** Options of {@link redisStore}; every one has a default. */
export interface RedisStoreOptions {
  /** `redis://[user:password@]host:port[/db]` (`rediss://` for TLS); wins over host/port/password. */
  url?: string
  /** Default `127.0.0.1`. */
  host?: string
  /** Default 6379. */
  port?: number
  username?: string
  password?: string
  /** Database number (default 0). */
  db?: number
  /** Connect with TLS (default false; a `rediss://` URL turns it on). */
  tls?: boolean
  /** Put in front of every key (default `llm-onion:`): one Redis can serve several deployments. */
  prefix?: string
  /** `fail-open` (default): while Redis is down, count in this process's memory; `fail-closed`: reject with a 503 {@link ServiceUnavailableError}. */
  onUnavailable?: RedisFailureMode
  /** A command that takes longer counts as Redis unavailable (default 1,000 ms). */
  commandTimeoutMs?: number
  /** The longest wait for a connection (default 2,000 ms). */
  connectTimeoutMs?: number
  /** Where the once-per-outage notices go (default `console.warn`). They name host and port, never the password. */
  report?: (message: string) => void
}

/** What a Redis store has done so far, for health checks and metrics. */
export interface RedisStoreStats {
  /** Whether the connection is up right now. */
  connected: boolean
  /** Operations served from this process's memory because Redis was down (fail-open). */
  fallbackOperations: number
  /** Operations rejected because Redis was down (fail-closed). */
  rejectedOperations: number
  /** How many times Redis went away after being reachable (or was unreachable at first use). */
  outages: number
}

/** A {@link SharedStore} on Redis, with its counters. */
export interface RedisSharedStore extends SharedStore {
  readonly kind: 'redis'
  /** Where it connects, without credentials (`127.0.0.1:6379`). */
  readonly address: string
  stats(): RedisStoreStats
}

const optionsSchema = lazySchema(() =>
  z
    .object({
      url: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').optional(),
      host: z.string().min(1).optional(),
      port: z.number().int().min(1).max(65_535).optional(),
      username: z.string().optional(),
      password: z.string().optional(),
      db: z.number().int().min(0).optional(),
      tls: z.boolean().optional(),
      prefix: z.string().optional(),
      onUnavailable: z.enum(['fail-open', 'fail-closed']).optional(),
      commandTimeoutMs: z.number().int().positive().optional(),
      connectTimeoutMs: z.number().int().positive().optional(),
      report: z.custom<(message: string) => void>((value) => typeof value === 'function', 'must be a function (message) => void').optional(),
    })
    .strict(),
)

type ScriptedRedis = Redis & StoreScriptCommands

/**
 * A {@link SharedStore} on Redis. Nothing connects until the first operation.
 *
 * @example
 * ```ts
 * import { createClient, redisStore } from 'llm-onion'
 *
 * const store = redisStore({ url: process.env.REDIS_URL, onUnavailable: 'fail-open' })
 * const client = createClient({ store })
 * client.use(async (ctx, next) => {
 *   await next()
 *   await ctx.store.increment('requests') // one count across every worker and replica
 * })
 * // ...
 * await client.close()
 * await store.close()
 * ```
 */
export function redisStore(options: RedisStoreOptions = {}): RedisSharedStore {
  const settings = validate(optionsSchema, options, 'redisStore() options')
  const prefix = settings.prefix ?? defaultStorePrefix
  const failClosed = settings.onUnavailable === 'fail-closed'
  const report = settings.report ?? ((message: string) => console.warn(message))
  const address = addressOf(settings)
  const fallback = memoryStore({ prefix })
  const memberTag = randomBytes(6).toString('base64url')
  let memberCount = 0
  const counts = { fallbackOperations: 0, rejectedOperations: 0, outages: 0 }
  let client: ScriptedRedis | undefined
  let connecting: Promise<void> | undefined
  let down = false
  let downOperations = 0
  let closed = false
  let lastReason: unknown

  const wentDown = (reason: unknown): void => {
    lastReason = reason
    if (down || closed) return
    down = true
    downOperations = 0
    counts.outages++
    const what = failClosed ? 'operations on the shared store fail with 503 (fail-closed)' : "the shared store counts in this process's memory meanwhile (fail-open), so workers and replicas no longer share counts"
    report(`[llm-onion] Redis at ${address} is unreachable (${describeError(reason)}); ${what} until it is back. docs/shared-state.md`)
  }
  const cameBack = (): void => {
    if (!down) return
    down = false
    report(`[llm-onion] Redis at ${address} is reachable again; ${downOperations} operation(s) were ${failClosed ? 'rejected' : "counted in this process's memory"} meanwhile.`)
  }

  const connect = (): Promise<void> =>
    (connecting ??= (async () => {
      const { Redis } = await import('ioredis')
      const [first, second] = connectionArguments(settings)
      const created = (typeof first === 'string' ? new Redis(first, second!) : new Redis(first)) as ScriptedRedis
      // An 'error' event without a listener would crash the process; the client reconnects by itself.
      created.on('error', wentDown)
      created.on('end', () => wentDown(new Error('connection closed')))
      created.on('ready', cameBack)
      client = created
      await created.connect()
    })())

  const run = async <Result>(method: string, key: string, onRedis: (redis: ScriptedRedis) => Promise<Result>, onMemory: () => Promise<Result>): Promise<Result> => {
    if (closed) throw new ServiceUnavailableError(`store.${method}() was called after the Redis store was closed; close it last, after the client that uses it.`, { retryable: false })
    let reason: unknown = down ? lastReason : undefined
    if (client?.status !== 'ready' && !down) {
      try {
        await connect()
      } catch (error) {
        // The 'error' event has given the cause (ECONNREFUSED); this rejection only says the connection closed.
        reason = lastReason ?? error
      }
    }
    if (client?.status === 'ready') {
      try {
        const result = await onRedis(client)
        // A slow command counted as an outage without the connection dropping: this one got through.
        if (down) cameBack()
        return result
      } catch (error) {
        if (isReplyError(error)) throw replyError(error, method, key)
        reason = error
      }
    }
    wentDown(reason ?? lastReason ?? `status ${client?.status ?? 'not connected'}`)
    downOperations++
    if (failClosed) {
      counts.rejectedOperations++
      throw new ServiceUnavailableError(
        `The shared store is unavailable: Redis at ${address} cannot be reached (${describeError(lastReason)}), and the store is fail-closed. Start Redis, or set it to fail-open to count in memory meanwhile (docs/shared-state.md).`,
        { retryable: true },
      )
    }
    counts.fallbackOperations++
    return onMemory()
  }

  const windowKeys = (key: string): [string, string] => [`${prefix}window:${key}`, `${prefix}window-sum:${key}`]
  const totalsOf = ([sum, count]: [string, number]): WindowTotals => ({ sum: count === 0 ? 0 : Number(sum), count: Number(count) })

  return {
    kind: 'redis',
    address,
    stats: () => ({ connected: client?.status === 'ready', ...counts }),
    async increment(key, amount = 1, incrementOptions = {}) {
      checkKey(key, 'increment')
      checkNumber(amount, 'increment', 'amount')
      checkTtl(incrementOptions.ttlMs, 'increment')
      return run(
        'increment', key,
        async (redis) => Number(await redis.llmOnionIncrement(prefix + key, String(amount), String(incrementOptions.ttlMs ?? 0))),
        () => fallback.increment(key, amount, incrementOptions),
      )
    },
    async get(key) {
      checkKey(key, 'get')
      return run('get', key, async (redis) => (await redis.get(prefix + key)) ?? undefined, () => fallback.get(key))
    },
    async set(key, value, setOptions = {}) {
      checkKey(key, 'set')
      checkString(value, 'set', 'value')
      checkTtl(setOptions.ttlMs, 'set')
      return run(
        'set', key,
        async (redis) => {
          const { ttlMs, onlyIfAbsent } = setOptions
          const answer =
            ttlMs === undefined
              ? onlyIfAbsent === true ? await redis.set(prefix + key, value, 'NX') : await redis.set(prefix + key, value)
              : onlyIfAbsent === true ? await redis.set(prefix + key, value, 'PX', ttlMs, 'NX') : await redis.set(prefix + key, value, 'PX', ttlMs)
          return answer === 'OK'
        },
        () => fallback.set(key, value, setOptions),
      )
    },
    async delete(key) {
      checkKey(key, 'delete')
      return run(
        'delete', key,
        async (redis) => {
          await redis.del(prefix + key, ...windowKeys(key))
        },
        () => fallback.delete(key),
      )
    },
    async addToWindow(key, value, windowMs) {
      checkKey(key, 'addToWindow')
      checkWindow(windowMs, 'addToWindow')
      checkNumber(value, 'addToWindow', 'value')
      const id = `${memberTag}.${(memberCount++).toString(36)}`
      return run(
        'addToWindow', key,
        async (redis) => totalsOf(await redis.llmOnionAddToWindow(...windowKeys(key), String(windowMs), String(value), id)),
        () => fallback.addToWindow(key, value, windowMs),
      )
    },
    async readWindow(key, windowMs) {
      checkKey(key, 'readWindow')
      checkWindow(windowMs, 'readWindow')
      return run('readWindow', key, async (redis) => totalsOf(await redis.llmOnionReadWindow(...windowKeys(key), String(windowMs))), () => fallback.readWindow(key, windowMs))
    },
    async windowValues(key, windowMs) {
      checkKey(key, 'windowValues')
      checkWindow(windowMs, 'windowValues')
      return run(
        'windowValues', key,
        async (redis) => (await redis.llmOnionWindowValues(...windowKeys(key), String(windowMs))).map((member) => Number(member.slice(member.lastIndexOf('|') + 1))),
        () => fallback.windowValues(key, windowMs),
      )
    },
    async close() {
      if (closed) return
      closed = true
      await fallback.close()
      const open = client
      if (open === undefined) return
      if (open.status !== 'ready') return open.disconnect()
      // QUIT lets replies in flight arrive; a server that does not answer is cut after a second.
      const cut = setTimeout(() => open.disconnect(), 1_000)
      try {
        await open.quit()
      } catch {
        open.disconnect()
      } finally {
        clearTimeout(cut)
      }
    },
  }
}

/** ioredis' constructor arguments for `settings`. */
function connectionArguments(settings: RedisStoreOptions): [string, RedisOptions] | [RedisOptions, undefined?] {
  const options: RedisOptions = {
    lazyConnect: true,
    // Fail fast while disconnected (the store falls back or rejects) rather than queue commands for later.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    enableAutoPipelining: true,
    commandTimeout: settings.commandTimeoutMs ?? 1_000,
    connectTimeout: settings.connectTimeoutMs ?? 2_000,
    // Reconnect forever, at most every 2 s.
    retryStrategy: (times) => Math.min(times * 100, 2_000),
    scripts: storeScripts,
    ...(settings.username === undefined ? {} : { username: settings.username }),
    ...(settings.password === undefined ? {} : { password: settings.password }),
    ...(settings.db === undefined ? {} : { db: settings.db }),
    ...(settings.tls === true ? { tls: {} } : {}),
  }
  if (settings.url !== undefined) return [settings.url, options]
  return [{ ...options, host: settings.host ?? '127.0.0.1', port: settings.port ?? 6379 }]
}

/** `host:port` of the settings, never the credentials. */
function addressOf(settings: RedisStoreOptions): string {
  if (settings.url !== undefined) {
    try {
      const url = new URL(settings.url)
      return `${url.hostname}:${url.port || '6379'}`
    } catch {
      return 'the configured URL'
    }
  }
  return `${settings.host ?? '127.0.0.1'}:${settings.port ?? 6379}`
}

/** A reason in a few words; ioredis' messages name host and port, never the password. */
function describeError(reason: unknown): string {
  if (reason === undefined) return 'no connection'
  if (typeof reason === 'string') return reason
  const error = reason as { code?: string; message?: string }
  return error.code ?? error.message?.split('\n')[0] ?? String(reason)
}

function isReplyError(error: unknown): boolean {
  return (error as { name?: string } | null)?.name === 'ReplyError'
}

/** A Redis error reply in the store's own terms. */
function replyError(error: unknown, method: string, key: string): Error {
  const message = (error as Error).message
  if (/not a valid float|WRONGTYPE/.test(message) && method === 'increment') return notACounter(key)
  if (/WRONGTYPE/.test(message)) return new ValidationError(`Invalid store.${method}() key '${key}': it holds another kind of value; use another key.`, [{ path: 'key', message: 'holds another kind of value' }])
  return new ServiceUnavailableError(`Redis refused store.${method}(): ${message.split('\n')[0]}`, { retryable: false, cause: error })
}
