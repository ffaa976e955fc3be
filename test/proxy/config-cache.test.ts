/**
 * LiteLLM's `litellm_settings.cache` and `cache_params` in a proxy config, mapped onto `cache()`:
 * where it keeps entries (type local, redis, or by what is configured), ttl, namespace,
 * supported_call_types and mode; a type llm-onion has not is refused, naming the path.
 */
import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig } from 'llm-onion/proxy'

const models = [{ model_name: 'a', litellm_params: { model: 'mock/a' } }]
const parsed = (settings: Record<string, unknown>, environment: Record<string, string> = {}) => parseConfig({ model_list: models, litellm_settings: settings }, { environment })

describe('the response cache of a proxy config', () => {
  it('is off without cache: true, whatever cache_params says', () => {
    expect(parsed({}).cache).toBeUndefined()
    expect(parsed({ cache: false, cache_params: { type: 'local' } }).cache).toBeUndefined()
    expect(parsed({ cache: true }).warnings).toEqual([])
  })

  it('keeps entries in memory for type local, and with no type while no Redis is configured', () => {
    expect(parsed({ cache: true }).cache).toEqual({ options: { store: 'memory' }, where: 'memory' })
    expect(parsed({ cache: true, cache_params: { type: 'local' } }, { REDIS_URL: 'redis://env:6379' }).cache).toEqual({ options: { store: 'memory' }, where: 'memory' })
  })

  it('keeps entries on the shared store for type redis, and with no type when Redis is configured', () => {
    expect(parsed({ cache: true, cache_params: { type: 'redis', host: 'cache', port: 6379 } }).cache).toEqual({ options: {}, where: 'redis' })
    expect(parsed({ cache: true }, { REDIS_URL: 'redis://env:6379' }).cache).toEqual({ options: {}, where: 'redis' })
  })

  it('maps ttl (the type\'s default_in_*_ttl winning), namespace, supported_call_types and mode', () => {
    const config = parsed({
      cache: true,
      cache_params: { type: 'local', ttl: 60, default_in_memory_ttl: 'os.environ/MEMORY_TTL', default_in_redis_ttl: 900, namespace: 'team-a', supported_call_types: ['acompletion', 'atranscription'], mode: 'default_off' },
    }, { MEMORY_TTL: '120' })
    expect(config.cache).toEqual({ options: { store: 'memory', ttlSeconds: 120, namespace: 'team-a', callTypes: ['chat'], mode: 'default-off' }, where: 'memory' })
    expect(config.warnings).toEqual([
      'litellm_settings.cache_params.supported_call_types "atranscription" is not cached by llm-onion: only completion / acompletion (chat, and the Responses and Messages routes) and embedding / aembedding are',
    ])
    expect(parsed({ cache: true, cache_params: { type: 'redis', host: 'h', ttl: 60, default_in_memory_ttl: 5 } }).cache?.options.ttlSeconds).toBe(60)
  })

  it('turns the cache off, saying so, when supported_call_types names nothing it caches', () => {
    const config = parsed({ cache: true, cache_params: { supported_call_types: ['atranscription'] } })
    expect(config.cache).toBeUndefined()
    expect(config.warnings).toContain('litellm_settings.cache_params.supported_call_types names no call llm-onion caches, so litellm_settings.cache is off')
  })

  it('refuses a cache type it has not, type redis without a Redis, and wrong values, naming the path', () => {
    expect(() => parsed({ cache: true, cache_params: { type: 's3', s3_bucket_name: 'b' } })).toThrow('litellm_settings.cache_params.type: "s3" is not supported; llm-onion caches in this process\'s memory (local) or on Redis (redis).')
    expect(() => parsed({ cache: true, cache_params: { type: 'redis' } })).toThrow(/litellm_settings\.cache_params\.type is redis, but no Redis is configured/)
    expect(() => parsed({ cache: 'yes please' })).toThrow(ConfigError)
    expect(() => parsed({ cache: true, cache_params: { ttl: -5 } })).toThrow(/litellm_settings\.cache_params\.ttl: must be more than 0 seconds/)
    expect(() => parsed({ cache: true, cache_params: { mode: 'sometimes' } })).toThrow(/litellm_settings\.cache_params\.mode: must be default_on/)
  })
})
