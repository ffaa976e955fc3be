/**
 * Where the proxy's shared store lives, read as LiteLLM reads Redis settings: the config's
 * router_settings first, then litellm_settings.cache_params, then REDIS_URL, then REDIS_HOST /
 * REDIS_PORT / REDIS_PASSWORD; memory when none is there.
 */
import { describe, expect, it } from 'vitest'
import { parseConfig } from 'llm-onion/proxy'

const models = [{ model_name: 'a', litellm_params: { model: 'mock/a' } }]
const sharedState = (config: Record<string, unknown>, environment: Record<string, string> = {}) => parseConfig({ model_list: models, ...config }, { environment }).sharedState

describe('the shared store settings of a config', () => {
  it('is memory when neither the config nor the environment names a Redis', () => {
    expect(sharedState({})).toEqual({})
    expect(sharedState({ litellm_settings: { cache_params: { type: 'local' } } })).toEqual({})
  })

  it("reads router_settings.redis_host / redis_port / redis_password, os.environ/ values included", () => {
    expect(sharedState({ router_settings: { redis_host: 'os.environ/MY_REDIS', redis_port: '6380', redis_password: 'os.environ/MY_REDIS_PASSWORD' } }, { MY_REDIS: 'cache.internal', MY_REDIS_PASSWORD: 'pw' })).toEqual({
      redis: { host: 'cache.internal', port: 6380, password: 'pw' },
      source: 'router_settings.redis_host',
    })
    expect(sharedState({ router_settings: { redis_url: 'redis://cache:6379/2' } })).toEqual({ redis: { url: 'redis://cache:6379/2' }, source: 'router_settings.redis_url' })
  })

  it('reads litellm_settings.cache_params when the router names no Redis', () => {
    expect(sharedState({ litellm_settings: { cache: true, cache_params: { type: 'redis', host: 'cache', port: 6379, password: 'pw', ssl: true } } })).toEqual({
      redis: { host: 'cache', port: 6379, password: 'pw', tls: true },
      source: 'litellm_settings.cache_params.host',
    })
    expect(sharedState({ router_settings: { redis_host: 'router-redis' }, litellm_settings: { cache_params: { type: 'redis', host: 'cache' } } })?.source).toBe('router_settings.redis_host')
  })

  it('reads REDIS_URL, else REDIS_HOST / REDIS_PORT / REDIS_PASSWORD, when the config names none', () => {
    expect(sharedState({}, { REDIS_URL: 'redis://env:6379', REDIS_HOST: 'ignored' })).toEqual({ redis: { url: 'redis://env:6379' }, source: 'REDIS_URL' })
    expect(sharedState({}, { REDIS_HOST: 'env-host', REDIS_PORT: '6390', REDIS_PASSWORD: 'pw' })).toEqual({ redis: { host: 'env-host', port: 6390, password: 'pw' }, source: 'REDIS_HOST' })
    expect(sharedState({ router_settings: { redis_host: 'config-host' } }, { REDIS_URL: 'redis://env:6379' })?.source).toBe('router_settings.redis_host')
  })

  it("takes llm-onion's own prefix and failure mode from router_settings or the environment", () => {
    expect(sharedState({ router_settings: { redis_host: 'h', redis_prefix: 'team-a:', redis_failure_mode: 'fail-closed' } })?.redis).toMatchObject({ prefix: 'team-a:', onUnavailable: 'fail-closed' })
    expect(sharedState({}, { REDIS_HOST: 'h', LLM_ONION_REDIS_PREFIX: 'b:', LLM_ONION_REDIS_FAILURE_MODE: 'fail-open' })?.redis).toMatchObject({ prefix: 'b:', onUnavailable: 'fail-open' })
    expect(() => sharedState({ router_settings: { redis_host: 'h', redis_failure_mode: 'sometimes' } })).toThrow(/router_settings\.redis_failure_mode: must be fail-open/)
    expect(() => sharedState({}, { REDIS_HOST: 'h', REDIS_PORT: 'six' })).toThrow(/REDIS_PORT must be a port number/)
  })

  it('names a wrong key by its path', () => {
    expect(() => sharedState({ router_settings: { redis_url: 'http://cache' } })).toThrow(/router_settings\.redis_url: must start with redis:\/\//)
    expect(() => sharedState({ router_settings: { redis_port: 70_000 } })).toThrow(/router_settings\.redis_port/)
  })
})
