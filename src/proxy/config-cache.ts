/**
 * LiteLLM's response cache in a proxy config: `litellm_settings.cache: true` puts `cache()` in the
 * stack, and `litellm_settings.cache_params` sets it up as LiteLLM's proxy reads it
 * (https://docs.litellm.ai/docs/proxy/caching_settings): `type` (`local`: this process's memory;
 * `redis`: the shared store, whose connection `host` / `port` / `password` or `REDIS_URL` give,
 * src/proxy/config-shared-state.ts; no type: Redis when one is configured, else memory), `ttl` and
 * `default_in_memory_ttl` / `default_in_redis_ttl` in seconds, `namespace`, `supported_call_types`
 * and `mode` (`default_on` / `default_off`).
 */
import { z } from 'zod'
import type { CacheOptions } from '../../middleware/cache'
import { ConfigError } from './config-error'
import type { SharedStateSettings } from './config-shared-state'

/** The keys of `cache_params` this file reads besides the connection, with the config's text and number parsers. */
export function cacheParamsShape(text: z.ZodType<string, unknown>, number: z.ZodType<number, unknown>) {
  const seconds = number.pipe(z.number().positive('must be more than 0 seconds'))
  return {
    ttl: seconds.optional(),
    default_in_memory_ttl: seconds.optional(),
    default_in_redis_ttl: seconds.optional(),
    namespace: text.optional(),
    supported_call_types: z.array(z.string(), { error: 'must be a list of call types, for example [acompletion, aembedding]' }).optional(),
    mode: text.pipe(z.enum(['default_on', 'default_off'], { error: 'must be default_on (every call) or default_off (only requests with cache: { use-cache: true })' })).optional(),
  }
}

/** `cache_params` as the config schema leaves it. */
export interface CacheParams {
  type?: string
  ttl?: number
  default_in_memory_ttl?: number
  default_in_redis_ttl?: number
  namespace?: string
  supported_call_types?: string[]
  mode?: 'default_on' | 'default_off'
}

/** The proxy's `cache()` layer as the config asks for it, and where it keeps its entries, for the start-up summary. */
export interface CacheSettings {
  options: CacheOptions
  /** `memory` (this process, an LRU) or `redis` (the shared store). */
  where: 'memory' | 'redis'
}

/** LiteLLM's call types and the calls of llm-onion's that answer them. */
const callTypes: Record<string, 'chat' | 'embedding'> = { completion: 'chat', acompletion: 'chat', embedding: 'embedding', aembedding: 'embedding' }

/**
 * The cache layer's settings from `litellm_settings.cache` and `cache_params`, or undefined when the
 * cache is off. Call types llm-onion does not serve are warned about; a cache type it has not is
 * refused, naming the path.
 *
 * @example
 * ```ts
 * readCacheSettings(true, { type: 'local', ttl: 300 }, {}, warnings) // { options: { store: 'memory', ttlSeconds: 300 }, where: 'memory' }
 * ```
 */
export function readCacheSettings(enabled: boolean | undefined, params: CacheParams | undefined, sharedState: SharedStateSettings, warnings: string[]): CacheSettings | undefined {
  if (enabled !== true) return undefined
  const path = 'litellm_settings.cache_params'
  const type = params?.type
  let where: 'memory' | 'redis'
  if (type === 'local') where = 'memory'
  else if (type === 'redis') {
    if (sharedState.redis === undefined) {
      const message = 'is redis, but no Redis is configured: set cache_params.host and port (or url), or REDIS_URL / REDIS_HOST, or use type: local for this process\'s memory'
      throw new ConfigError(`${path}.type ${message}.`, [{ path: `${path}.type`, message }])
    }
    where = 'redis'
  } else if (type === undefined) where = sharedState.redis === undefined ? 'memory' : 'redis'
  else {
    const message = `"${type}" is not supported; llm-onion caches in this process's memory (local) or on Redis (redis)`
    throw new ConfigError(`${path}.type: ${message}.`, [{ path: `${path}.type`, message }])
  }

  const options: CacheOptions = {}
  if (where === 'memory') options.store = 'memory'
  const ttl = (where === 'memory' ? params?.default_in_memory_ttl : params?.default_in_redis_ttl) ?? params?.ttl
  if (ttl !== undefined) options.ttlSeconds = ttl
  if (params?.namespace) options.namespace = params.namespace
  if (params?.mode === 'default_off') options.mode = 'default-off'
  if (params?.supported_call_types !== undefined) {
    const served = new Set<'chat' | 'embedding'>()
    for (const name of params.supported_call_types) {
      const callType = callTypes[name]
      if (callType) served.add(callType)
      else warnings.push(`${path}.supported_call_types "${name}" is not cached by llm-onion: only completion / acompletion (chat, and the Responses and Messages routes) and embedding / aembedding are`)
    }
    if (served.size === 0) {
      warnings.push(`${path}.supported_call_types names no call llm-onion caches, so litellm_settings.cache is off`)
      return undefined
    }
    options.callTypes = [...served]
  }
  return { options, where }
}
