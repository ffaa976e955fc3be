/**
 * Two replicas of `llm-onion serve` (and one with `--workers 2`) behind one key: all share the machine's Redis (a prefix of this
 * file's own, removed after) and PostgreSQL (a database of this file's own, dropped after), and are
 * driven with the official `openai` SDK. One rpm limit and one budget hold across both, the spend
 * rows equal the calls made, and a Redis that goes away mid-run degrades as configured (fail-open
 * keeps serving, fail-closed answers 503) without crashing a replica or losing a spend row.
 */
import { randomBytes } from 'node:crypto'
import OpenAI from 'openai'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inspector, machineRedisUrl, removePrefix, startThrowawayRedis, uniquePrefix, type ThrowawayRedis } from '../../fakes/redis-server'
import { spawnProxy, type SpawnedProxy } from '../fixtures/spawn-proxy'
import { counterIntervals } from '../../../src/proxy/keys/key-system'
import { ask, costOf, generateKey, manage, sdk, thrownBy } from './fixtures/key-client'

const database = `llm_onion_replicas_${randomBytes(4).toString('hex')}`
const masterKey = 'sk-master-replicas-4e5f6a7b8c'
const prefix = uniquePrefix('keys-replicas')
const admin = new pg.Client({ connectionString: 'postgresql://postgres@127.0.0.1:5432/postgres' })
let reader: pg.Client
const started: SpawnedProxy[] = []
let throwaway: ThrowawayRedis | undefined

const baseEnv = () => ({
  KEYS_MASTER_KEY: masterKey,
  LITELLM_RATE_LIMIT_WINDOW_SIZE: '600',
  DATABASE_URL: `postgresql://postgres@127.0.0.1:5432/${database}`,
  REDIS_HOST: '',
})
async function replica(env: Record<string, string>, args: string[] = []): Promise<SpawnedProxy> {
  const proxy = await spawnProxy(['--config', 'test/proxy/keys/fixtures/keys.yaml', ...args], { ...baseEnv(), ...env })
  started.push(proxy)
  return proxy
}
async function rowCount(token: string): Promise<number> {
  try {
    return Number((await reader.query('SELECT count(*) AS n FROM public.llm_onion_spend_logs WHERE api_key = $1', [token])).rows[0].n)
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') return 0
    throw error
  }
}
/**
 * Waits until the shared store holds the key's spend, then as long as a replica may answer from the
 * total it read before (`counterIntervals.maxAgeMs`, docs/proxy.md "Budgets"); fails after `ms`.
 */
async function spendInRedis(token: string, atLeast: number, ms = 5_000): Promise<void> {
  const redis = inspector()
  try {
    const deadline = Date.now() + ms
    while (!(Number(await redis.get(`${prefix}spend:key:${token}:0`)) >= atLeast)) {
      if (Date.now() > deadline) throw new Error(`the key's spend did not reach Redis within ${ms} ms`)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  } finally {
    redis.disconnect()
  }
  await new Promise((resolve) => setTimeout(resolve, counterIntervals.maxAgeMs))
}
/** The key's row count once it is `count`, or what it is after `ms` (the assertion then says). */
async function rowsReach(token: string, count: number, ms = 20_000): Promise<number> {
  const deadline = Date.now() + ms
  let rows = await rowCount(token)
  while (rows < count && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    rows = await rowCount(token)
  }
  return rows
}

beforeAll(async () => {
  await admin.connect()
  await admin.query(`CREATE DATABASE ${database}`)
  reader = new pg.Client({ connectionString: `postgresql://postgres@127.0.0.1:5432/${database}` })
  await reader.connect()
})

afterAll(async () => {
  await Promise.all(started.map((proxy) => proxy.stop()))
  await throwaway?.stop()
  const redis = inspector()
  await removePrefix(redis, prefix)
  redis.disconnect()
  await reader?.end()
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
  await admin.end()
})

describe('two replicas sharing Redis and PostgreSQL', () => {
  let one: SpawnedProxy
  let two: SpawnedProxy
  beforeAll(async () => {
    ;[one, two] = await Promise.all([replica({ REDIS_URL: machineRedisUrl, LLM_ONION_REDIS_PREFIX: prefix }), replica({ REDIS_URL: machineRedisUrl, LLM_ONION_REDIS_PREFIX: prefix })])
  }, 60_000)

  it('enforce one rpm limit together: exactly the limit passes across both', async () => {
    const { key, token } = await generateKey(one.url, masterKey, { rpm_limit: 6 })
    const clients = [sdk(one.url, key), sdk(two.url, key)]
    const outcomes = await Promise.allSettled(Array.from({ length: 12 }, (_, index) => clients[index % 2]!.chat.completions.create({ model: 'gpt-test', messages: ask(`shared ${index}`) })))
    const passed = outcomes.filter((outcome) => outcome.status === 'fulfilled').length
    expect(passed).toBe(6)
    for (const outcome of outcomes) if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(OpenAI.RateLimitError)
    // Both replicas served some of them, and wrote a row for each call that passed.
    expect(await rowsReach(token, passed)).toBe(passed)
  })

  it('enforce one budget together: spend made on one replica is refused on the other, and both report it', async () => {
    const { key, token } = await generateKey(two.url, masterKey, { max_budget: 0.00002 })
    const first = await sdk(one.url, key).chat.completions.create({ model: 'gpt-test', messages: ask('a question long enough to cost more than the budget') })
    const cost = costOf('gpt-test', first.usage)
    expect(cost).toBeGreaterThan(0.00002)
    await spendInRedis(token, cost * 0.999)
    const refused = await thrownBy(sdk(two.url, key).chat.completions.create({ model: 'gpt-test', messages: ask('hi') }))
    expect(refused).toMatchObject({ status: 400, type: 'budget_exceeded', code: '400' })
    for (const proxy of [one, two]) expect((await manage(proxy.url, masterKey, `/key/info?key=${token}`)).body.info.spend).toBeCloseTo(cost, 12)
    expect(await rowsReach(token, 1)).toBe(1)
  })

  it('keep no key in Redis: its hash names the counters', async () => {
    const { key, token } = await generateKey(one.url, masterKey, { rpm_limit: 100, max_budget: 10, max_parallel_requests: 10 })
    await sdk(two.url, key).chat.completions.create({ model: 'gpt-test', messages: ask('counted') })
    const redis = inspector()
    try {
      const names: string[] = []
      let cursor = '0'
      do {
        const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500)
        names.push(...found)
        cursor = next
      } while (cursor !== '0')
      expect(names.some((name) => name.includes(token))).toBe(true)
      const values = await Promise.all(names.map(async (name) => `${name} ${(await redis.type(name)) === 'string' ? await redis.get(name) : ''}`))
      for (const secret of [key, masterKey]) expect(values.join('\n')).not.toContain(secret)
    } finally {
      redis.disconnect()
    }
  })

  it('write one spend row per call made, whichever replica served it', async () => {
    const { key, token } = await generateKey(one.url, masterKey)
    let calls = 0
    for (let index = 0; index < 10; index++) {
      await sdk((index % 3 === 0 ? two : one).url, key).chat.completions.create({ model: 'gpt-test', messages: ask(`row ${index}`) })
      calls++
    }
    expect(await rowsReach(token, calls)).toBe(calls)
    // Nothing more arrives later.
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    expect(await rowCount(token)).toBe(calls)
  })
})

describe('serve --workers 2 on Redis and PostgreSQL', () => {
  it('enforces one rpm limit and one budget across its workers', async () => {
    const workers = await replica({ REDIS_URL: machineRedisUrl, LLM_ONION_REDIS_PREFIX: prefix }, ['--workers', '2'])
    const limited = await generateKey(workers.url, masterKey, { rpm_limit: 5 })
    // Separate connections, so the kernel spreads them over both workers.
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, (_, index) => sdk(workers.url, limited.key).chat.completions.create({ model: 'gpt-test', messages: ask(`worker ${index}`) })))
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(5)
    const budgeted = await generateKey(workers.url, masterKey, { max_budget: 0.00002 })
    await sdk(workers.url, budgeted.key).chat.completions.create({ model: 'gpt-test', messages: ask('a question long enough to cost more than the budget') })
    await spendInRedis(budgeted.token, 0.00002)
    for (let index = 0; index < 4; index++) {
      expect(await thrownBy(sdk(workers.url, budgeted.key).chat.completions.create({ model: 'gpt-test', messages: ask('hi') }))).toMatchObject({ status: 400, type: 'budget_exceeded' })
    }
    expect(await rowsReach(limited.token, 5)).toBe(5)
  }, 60_000)
})

describe('Redis going away mid-run', () => {
  it('keeps a fail-open replica serving and makes a fail-closed one answer 503, without crashing either or losing a spend row', async () => {
    throwaway = await startThrowawayRedis()
    const [open, closed] = await Promise.all([
      replica({ REDIS_URL: throwaway.url, LLM_ONION_REDIS_FAILURE_MODE: 'fail-open' }),
      replica({ REDIS_URL: throwaway.url, LLM_ONION_REDIS_FAILURE_MODE: 'fail-closed' }),
    ])
    const { key, token } = await generateKey(open.url, masterKey, { rpm_limit: 1_000, max_budget: 100 })
    let served = 0
    for (const proxy of [open, closed]) {
      await sdk(proxy.url, key).chat.completions.create({ model: 'gpt-test', messages: ask('before') })
      served++
    }
    await throwaway.stop()
    for (let index = 0; index < 3; index++) {
      await sdk(open.url, key).chat.completions.create({ model: 'gpt-test', messages: ask(`during ${index}`) })
      served++
    }
    const refused = await thrownBy(sdk(closed.url, key).chat.completions.create({ model: 'gpt-test', messages: ask('during') }))
    expect(refused.status).toBe(503)
    expect(refused.message).toContain('redis_failure_mode')
    await throwaway.start()
    // Back: both serve again (the client reconnects by itself).
    const deadline = Date.now() + 15_000
    for (;;) {
      try {
        await sdk(closed.url, key).chat.completions.create({ model: 'gpt-test', messages: ask('after') })
        served++
        break
      } catch (error) {
        if ((error as { status?: number }).status !== 503 || Date.now() > deadline) throw error
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
    }
    await sdk(open.url, key).chat.completions.create({ model: 'gpt-test', messages: ask('after') })
    served++
    expect(open.child.exitCode).toBeNull()
    expect(closed.child.exitCode).toBeNull()
    expect(await rowsReach(token, served)).toBe(served)
  }, 60_000)
})
