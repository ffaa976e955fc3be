/**
 * The Redis store against real Redis: the contract on the machine's Redis under a unique prefix,
 * sharing between two connections (as two processes have), the prefix on every key, and what
 * happens when Redis is unreachable or goes away mid-run (a throwaway redis-server, killed and
 * started again).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { ServiceUnavailableError } from '../../src/errors'
import { redisStore, type RedisStoreOptions } from '../../src/shared-state/redis-store'
import { freePort, inspector, machineRedisUrl, removePrefix, startThrowawayRedis, uniquePrefix } from '../fakes/redis-server'
import { storeContract } from './store-contract'

const prefix = uniquePrefix('store')
const redis = inspector()
let contractRun = 0
afterAll(async () => {
  await removePrefix(redis, prefix)
  redis.disconnect()
})

// Each contract test gets keys of its own under the file's prefix.
storeContract('redis', () => redisStore({ url: machineRedisUrl, prefix: `${prefix}${contractRun++}:` }))

describe('redisStore on a reachable Redis', () => {
  it('shares counters and windows between two connections, as two processes do', async () => {
    const [first, second] = [redisStore({ url: machineRedisUrl, prefix }), redisStore({ url: machineRedisUrl, prefix })]
    await Promise.all(Array.from({ length: 100 }, (_, index) => (index % 2 === 0 ? first : second).increment('shared-requests')))
    expect(await first.get('shared-requests')).toBe('100')
    await Promise.all(Array.from({ length: 50 }, (_, index) => (index % 2 === 0 ? first : second).addToWindow('shared-latency', 10, 60_000)))
    expect(await second.readWindow('shared-latency', 60_000)).toEqual({ sum: 500, count: 50 })
    expect(await first.windowValues('shared-latency', 60_000)).toHaveLength(50)
    await first.close()
    await second.close()
  })

  it('puts the prefix in front of every key it writes, and llm-onion: when none is given', async () => {
    const store = redisStore({ url: machineRedisUrl, prefix })
    await store.increment('visible')
    await store.addToWindow('visible-window', 1, 60_000)
    expect(await redis.get(`${prefix}visible`)).toBe('1')
    expect(await redis.zcard(`${prefix}window:visible-window`)).toBe(1)
    await store.close()
    const defaults = redisStore({ url: machineRedisUrl })
    const key = prefix.replace(/:$/, '-default-prefix')
    await defaults.set(key, 'x', { ttlMs: 10_000 })
    expect(await redis.get(`llm-onion:${key}`)).toBe('x')
    await defaults.delete(key)
    await defaults.close()
  })

  it('gives windows and counters an expiry, so idle keys leave Redis', async () => {
    const store = redisStore({ url: machineRedisUrl, prefix })
    await store.increment('expiring', 1, { ttlMs: 30_000 })
    await store.addToWindow('expiring-window', 1, 5_000)
    expect(await redis.pttl(`${prefix}expiring`)).toBeGreaterThan(20_000)
    expect(await redis.pttl(`${prefix}window:expiring-window`)).toBeGreaterThan(3_000)
    expect(await redis.pttl(`${prefix}window-sum:expiring-window`)).toBeGreaterThan(3_000)
    await store.close()
  })

  it('connects with host, port and password as LiteLLM configures them', async () => {
    const server = await startThrowawayRedis({ password: 'planted-redis-password' })
    try {
      const store = redisStore({ host: '127.0.0.1', port: server.port, password: 'planted-redis-password' })
      expect(await store.increment('n')).toBe(1)
      expect(store.stats()).toMatchObject({ connected: true, fallbackOperations: 0 })
      await store.close()
    } finally {
      await server.stop()
    }
  })
})

describe('redisStore when Redis is unreachable', () => {
  const quietly = (options: RedisStoreOptions, reports: string[]) => redisStore({ ...options, report: (message) => reports.push(message) })

  it('fails open by default: counts in memory, counts the fallbacks, says so once', async () => {
    const reports: string[] = []
    const store = quietly({ port: await freePort() }, reports)
    expect(await store.increment('n')).toBe(1)
    expect(await store.increment('n')).toBe(2)
    expect(await store.addToWindow('w', 4, 60_000)).toEqual({ sum: 4, count: 1 })
    expect(store.stats()).toMatchObject({ connected: false, fallbackOperations: 3, outages: 1 })
    expect(reports).toHaveLength(1)
    expect(reports[0]).toMatch(/Redis at 127\.0\.0\.1:\d+ is unreachable \(ECONNREFUSED\).*fail-open/)
    await store.close()
  })

  it('fails closed when told: a 503 ServiceUnavailableError that says how to fix it', async () => {
    const reports: string[] = []
    const store = quietly({ port: await freePort(), onUnavailable: 'fail-closed' }, reports)
    const error = await store.increment('n').catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(ServiceUnavailableError)
    expect((error as { status: number }).status).toBe(503)
    expect((error as Error).message).toMatch(/fail-closed\. Start Redis, or set it to fail-open/)
    expect(store.stats()).toMatchObject({ rejectedOperations: 1, fallbackOperations: 0 })
    await store.close()
  })

  it('falls back while Redis is gone mid-run and goes back to Redis when it returns', async () => {
    const server = await startThrowawayRedis()
    const reports: string[] = []
    const store = quietly({ url: server.url }, reports)
    try {
      expect(await store.increment('n')).toBe(1)
      await server.stop()
      // Until the client notices, an operation may still try the dead connection; it falls back either way.
      expect(await store.increment('during-outage')).toBe(1)
      expect(await store.increment('during-outage')).toBe(2)
      expect(store.stats().fallbackOperations).toBe(2)
      await server.start()
      const deadline = Date.now() + 10_000
      while (!store.stats().connected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
      expect(store.stats().connected).toBe(true)
      // Back on Redis: the fresh server has no counter yet (no persistence).
      expect(await store.increment('n')).toBe(1)
      expect(reports.filter((report) => report.includes('unreachable'))).toHaveLength(1)
      expect(reports.filter((report) => report.includes('reachable again'))).toHaveLength(1)
      expect(reports.at(-1)).toMatch(/2 operation\(s\) were counted in this process's memory/)
    } finally {
      await store.close()
      await server.stop()
    }
  })

  it('counts a command slower than commandTimeoutMs as an outage, and goes back to Redis with the next one that gets through', async () => {
    const server = await startThrowawayRedis()
    const reports: string[] = []
    const store = quietly({ url: server.url, commandTimeoutMs: 100 }, reports)
    const admin = inspector(server.url)
    try {
      expect(await store.increment('n')).toBe(1)
      // Redis answers nobody for 400 ms (CLIENT PAUSE), on this throwaway server only.
      await admin.client('PAUSE', 400, 'ALL')
      expect(await store.increment('n')).toBe(1) // from memory
      expect(store.stats().fallbackOperations).toBe(1)
      await new Promise((resolve) => setTimeout(resolve, 450))
      // Redis again. The timed-out increment ran there too once the pause ended (docs/shared-state.md says
      // so: a command that timed out may still arrive), so this is the third.
      expect(await store.increment('n')).toBe(3)
      expect(reports.map((report) => (report.includes('unreachable') ? 'down' : report.includes('reachable again') ? 'back' : report))).toEqual(['down', 'back'])
    } finally {
      admin.disconnect()
      await store.close()
      await server.stop()
    }
  })

  it('planted secret: a password in the URL or the options appears in no report and no error', async () => {
    const secret = 'planted-secret-redis-pw-81723'
    const reports: string[] = []
    const errors: string[] = []
    const down = quietly({ url: `redis://user:${secret}@127.0.0.1:${await freePort()}/0`, onUnavailable: 'fail-closed' }, reports)
    await down.get('x').catch((error: Error) => errors.push(error.message, String(error.stack)))
    await down.close()
    const server = await startThrowawayRedis({ password: 'the-right-password' })
    const wrong = quietly({ port: server.port, password: secret, onUnavailable: 'fail-closed' }, reports)
    await wrong.get('x').catch((error: Error) => errors.push(error.message, String(error.stack)))
    await wrong.close()
    await server.stop()
    expect(reports.length).toBeGreaterThanOrEqual(2)
    expect(errors.length).toBe(4)
    for (const text of [...reports, ...errors]) expect(text).not.toContain(secret)
    expect(down.address).not.toContain(secret)
  })
})
