/**
 * Where the proxy's shared store lives, as a LiteLLM config and environment say it: Redis from
 * `router_settings.redis_url` / `redis_host` + `redis_port` + `redis_password`, else
 * `litellm_settings.cache_params` (`type: redis`, `host`, `port`, `password`), else the variables
 * `REDIS_URL`, else `REDIS_HOST` / `REDIS_PORT` / `REDIS_PASSWORD` (LiteLLM's names); with none of
 * them, memory (one process). llm-onion's own `router_settings.redis_prefix` / `LLM_ONION_REDIS_PREFIX`
 * and `router_settings.redis_failure_mode` / `LLM_ONION_REDIS_FAILURE_MODE` complete it.
 */
import { z } from 'zod'
import type { RedisFailureMode, RedisStoreOptions } from '../shared-state/redis-store'

/** Keys of `router_settings` this file reads. */
export const sharedStateRouterKeys = ['redis_url', 'redis_host', 'redis_port', 'redis_password', 'redis_prefix', 'redis_failure_mode'] as const

const failureModes = ['fail-open', 'fail-closed'] as const

/** The zod shape of those keys, with the config's own text and number parsers (`os.environ/` resolved). */
export function sharedStateShape(text: z.ZodType<string, unknown>, number: z.ZodType<number, unknown>) {
  return {
    redis_url: text.pipe(z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')).optional(),
    redis_host: text.pipe(z.string().min(1, 'must not be empty')).optional(),
    redis_port: number.pipe(z.number().int().min(1).max(65_535)).optional(),
    redis_password: text.optional(),
    redis_prefix: text.optional(),
    redis_failure_mode: text.pipe(z.enum(failureModes, { error: 'must be fail-open (count in memory while Redis is down, the default) or fail-closed (answer 503)' })).optional(),
  }
}

/** `litellm_settings.cache_params`: only its Redis connection keys are read. */
export function cacheParamsSchema(text: z.ZodType<string, unknown>, number: z.ZodType<number, unknown>) {
  return z.looseObject({
    type: text.optional(),
    host: text.optional(),
    port: number.pipe(z.number().int().min(1).max(65_535)).optional(),
    password: text.optional(),
    username: text.optional(),
    url: text.optional(),
    ssl: z.union([z.boolean(), text]).optional(),
  })
}

/** Where the shared store lives: Redis options and where they came from, or memory. */
export interface SharedStateSettings {
  /** Absent: the in-memory store (one process). */
  redis?: RedisStoreOptions
  /** What configured Redis, for the start-up summary (`router_settings.redis_host`, `REDIS_URL`). */
  source?: string
}

interface RouterRedisKeys {
  redis_url?: string
  redis_host?: string
  redis_port?: number
  redis_password?: string
  redis_prefix?: string
  redis_failure_mode?: RedisFailureMode
}

interface CacheParams {
  type?: string
  host?: string
  port?: number
  password?: string
  username?: string
  url?: string
  ssl?: boolean | string
}

/**
 * The shared store's settings from a validated config and the environment.
 *
 * @example
 * ```ts
 * readSharedState({ redis_host: 'redis', redis_port: 6379 }, undefined, {}).redis // { host: 'redis', port: 6379, ... }
 * readSharedState(undefined, undefined, { REDIS_URL: 'redis://cache:6379' }).source // 'REDIS_URL'
 * ```
 */
export function readSharedState(router: RouterRedisKeys | undefined, cacheParams: CacheParams | undefined, environment: Record<string, string | undefined>): SharedStateSettings {
  const common: RedisStoreOptions = {}
  const prefix = router?.redis_prefix ?? nonEmpty(environment.LLM_ONION_REDIS_PREFIX)
  if (prefix !== undefined) common.prefix = prefix
  const mode = router?.redis_failure_mode ?? nonEmpty(environment.LLM_ONION_REDIS_FAILURE_MODE)
  if (mode !== undefined) {
    if (!(failureModes as readonly string[]).includes(mode)) {
      throw new TypeError(`LLM_ONION_REDIS_FAILURE_MODE must be fail-open or fail-closed; it is "${mode}".`)
    }
    common.onUnavailable = mode as RedisFailureMode
  }
  if (router?.redis_url !== undefined) return { redis: { ...common, url: router.redis_url }, source: 'router_settings.redis_url' }
  if (router?.redis_host !== undefined) {
    return { redis: { ...common, host: router.redis_host, ...optional('port', router.redis_port), ...optional('password', nonEmpty(router.redis_password)) }, source: 'router_settings.redis_host' }
  }
  // LiteLLM's cache defaults to Redis when cache_params names no type.
  if (cacheParams !== undefined && (cacheParams.type === undefined || cacheParams.type === 'redis')) {
    const tls = cacheParams.ssl === true || (typeof cacheParams.ssl === 'string' && /^true$/i.test(cacheParams.ssl))
    if (cacheParams.url !== undefined) return { redis: { ...common, url: cacheParams.url }, source: 'litellm_settings.cache_params.url' }
    if (cacheParams.host !== undefined) {
      return {
        redis: { ...common, host: cacheParams.host, ...optional('port', cacheParams.port), ...optional('password', nonEmpty(cacheParams.password)), ...optional('username', nonEmpty(cacheParams.username)), ...(tls ? { tls } : {}) },
        source: 'litellm_settings.cache_params.host',
      }
    }
  }
  const url = nonEmpty(environment.REDIS_URL)
  if (url !== undefined) return { redis: { ...common, url }, source: 'REDIS_URL' }
  const host = nonEmpty(environment.REDIS_HOST)
  if (host !== undefined) {
    const portText = nonEmpty(environment.REDIS_PORT)
    const port = portText === undefined ? undefined : Number(portText)
    if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65_536)) throw new TypeError(`REDIS_PORT must be a port number (1-65535); it is "${portText}".`)
    const tls = /^true$/i.test(environment.REDIS_SSL ?? '')
    return {
      redis: { ...common, host, ...optional('port', port), ...optional('password', nonEmpty(environment.REDIS_PASSWORD)), ...optional('username', nonEmpty(environment.REDIS_USERNAME)), ...(tls ? { tls } : {}) },
      source: 'REDIS_HOST',
    }
  }
  return {}
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}

function optional<Key extends string, Value>(key: Key, value: Value | undefined): { [K in Key]?: Value } {
  return (value === undefined ? {} : { [key]: value }) as { [K in Key]?: Value }
}
