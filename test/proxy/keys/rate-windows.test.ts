/**
 * The rate-limit windows and the budget periods on an in-memory store with a clock of the test's
 * own: a window lets exactly `limit` requests through and starts again with the first request after
 * it ended; tokens add up per window; the slots in flight go back; budget periods follow
 * `budget_duration` from the record's creation, months on the calendar.
 */
import { describe, expect, it } from 'vitest'
import { memoryStore } from 'llm-onion'
import { addDuration, parseDuration, periodAt } from '../../../src/proxy/keys/duration'
import { createCounterBuffer } from '../../../src/proxy/keys/counter-buffer'
import { keyPlan } from '../../../src/proxy/keys/key-plan'
import { createRateWindows } from '../../../src/proxy/keys/rate-windows'
import { budgetPeriod, readSpend, recordSpend, spendCounter } from '../../../src/proxy/keys/spend-ledger'

/** Rate windows with a counter buffer of their own over `store`. */
function windowsOn(store: ReturnType<typeof memoryStore>, now?: () => number) {
  return createRateWindows(store, createCounterBuffer(store, { flushMs: 10, maxAgeMs: 100, now }), { windowMs: 60_000, now })
}

function clock(start = Date.UTC(2026, 0, 15, 12)) {
  const time = { now: start }
  return { time, now: () => time.now }
}

describe('rate windows', () => {
  it('lets exactly the limit through in a window, and starts a new window with the first request after it ended', async () => {
    const { time, now } = clock()
    const store = memoryStore({ now })
    const windows = windowsOn(store, now)
    const counts: number[] = []
    for (let request = 0; request < 8; request++) {
      time.now += 1_000
      counts.push(await windows.countRequest(await windows.current('api_key', 'hash-a'), 5))
    }
    expect(counts.filter((count) => count <= 5)).toHaveLength(5)
    // The window began with the first request and lasts 60 s from it.
    const first = await windows.current('api_key', 'hash-a')
    expect(first.start).toBe(Date.UTC(2026, 0, 15, 12) + 1_000)
    time.now = first.end + 5_000
    const next = await windows.current('api_key', 'hash-a')
    expect(next.start).toBe(time.now)
    expect(await windows.countRequest(next, 5)).toBe(1)
  })

  it('shares one window between two processes that use the same store', async () => {
    const { time, now } = clock()
    const store = memoryStore({ now })
    const one = windowsOn(store, now)
    const two = windowsOn(store, now)
    await one.countRequest(await one.current('team', 'search'), 5)
    time.now += 10_000
    const seen = await two.current('team', 'search')
    expect(seen.start).toBe(time.now - 10_000)
    expect(await two.countRequest(seen, 5)).toBe(2)
  })

  it('leases counts for large limits and never lets more than the limit through across processes', async () => {
    const { now } = clock()
    const store = memoryStore({ now })
    let passed = 0
    let increments = 0
    const counting = { ...store, increment: (key: string, amount?: number, options?: { ttlMs?: number }) => (increments++, store.increment(key, amount, options)) }
    const leased = [0, 1, 2].map(() => windowsOn(counting, now))
    const leasedWindows = await Promise.all(leased.map((each) => each.current('api_key', 'hash-busy')))
    for (let request = 0; request < 3_000; request++) {
      const index = request % 3
      if ((await leased[index]!.countRequest(leasedWindows[index]!, 1_000)) <= 1_000) passed++
    }
    // At most the limit, at most 3% short of it (1% per process), in far fewer round trips than requests.
    expect(passed).toBeLessThanOrEqual(1_000)
    expect(passed).toBeGreaterThanOrEqual(970)
    expect(increments).toBeLessThan(3_000 / 5)
  })

  it('adds tokens per window and forgets them in the next', async () => {
    const { time, now } = clock()
    const windows = windowsOn(memoryStore({ now }), now)
    const window = await windows.current('user', 'ana')
    windows.addTokens(window, 120)
    windows.addTokens(window, 30)
    expect(await windows.tokens(window)).toBe(150)
    time.now = window.end + 1
    expect(await windows.tokens(await windows.current('user', 'ana'))).toBe(0)
  })

  it('never lets more than the limit in flight across processes, and holds a slot given back for its process\'s next request', async () => {
    const store = memoryStore()
    let increments = 0
    const counting = { ...store, increment: (key: string, amount?: number, options?: { ttlMs?: number }) => (increments++, store.increment(key, amount, options)) }
    const one = windowsOn(counting)
    const two = windowsOn(counting)
    expect(await one.enter('hash-b', 2)).toBe(1)
    expect(await one.enter('hash-b', 2)).toBe(2)
    // Past the limit: refused, and the slot already given back.
    expect(await two.enter('hash-b', 2)).toBe(3)
    expect(await store.get('ratelimit:in_flight:hash-b')).toBe('2')
    one.leave('hash-b')
    // One's slot is held for one: two is still refused, one takes it again without a round trip.
    expect(await two.enter('hash-b', 2)).toBeGreaterThan(2)
    const before = increments
    expect(await one.enter('hash-b', 2)).toBeLessThanOrEqual(2)
    expect(increments).toBe(before)
    one.leave('hash-b')
    one.leave('hash-b')
    one.leave('hash-b') // one more than it took: ignored
    await one.release()
    expect(await store.get('ratelimit:in_flight:hash-b')).toBe('0')
    expect(await two.enter('hash-b', 2)).toBe(1)
    expect(await two.enter('hash-b', 2)).toBe(2)
  })

  it('returns a held slot to the store once it waited a whole interval, so another process gets it', async () => {
    const store = memoryStore()
    const one = createRateWindows(store, createCounterBuffer(store, { flushMs: 10, maxAgeMs: 100 }), { windowMs: 60_000, holdMs: 5 })
    const two = windowsOn(store)
    expect(await one.enter('hash-d', 1)).toBe(1)
    one.leave('hash-d')
    expect(await two.enter('hash-d', 1)).toBe(2)
    // Two intervals of 5 ms at most; the wait is ten times that.
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(await store.get('ratelimit:in_flight:hash-d')).toBe('0')
    expect(await two.enter('hash-d', 1)).toBe(1)
  })

  it('takes a held slot only while its own calls in flight are under the limit (a limit lowered meanwhile)', async () => {
    const store = memoryStore()
    const windows = windowsOn(store)
    for (let call = 0; call < 3; call++) await windows.enter('hash-e', 3)
    for (let call = 0; call < 3; call++) windows.leave('hash-e')
    expect(await windows.enter('hash-e', 1)).toBe(1)
    expect(await windows.enter('hash-e', 1)).toBeGreaterThan(1)
  })

  it('never counts below zero: a count that expired while calls were in flight', async () => {
    const store = memoryStore()
    const windows = windowsOn(store)
    expect(await windows.enter('hash-f', 5)).toBe(1)
    await store.delete('ratelimit:in_flight:hash-f')
    windows.leave('hash-f')
    await windows.release()
    expect(await store.get('ratelimit:in_flight:hash-f')).toBe('0')
    expect(await windowsOn(store).enter('hash-f', 5)).toBe(1)
  })

  it('keeps held slots the store would not take back, uses them, and gives them back later', async () => {
    const store = memoryStore()
    let refuse = false
    const flaky = { ...store, increment: (key: string, amount?: number, options?: { ttlMs?: number }) => (refuse ? Promise.reject(new Error('Redis is down')) : store.increment(key, amount, options)) }
    const errors: unknown[] = []
    const windows = createRateWindows(flaky, createCounterBuffer(flaky, { flushMs: 10, maxAgeMs: 100 }), { windowMs: 60_000, onError: (error) => errors.push(error) })
    expect(await windows.enter('hash-g', 1)).toBe(1)
    windows.leave('hash-g')
    refuse = true
    await windows.release()
    expect(errors).toHaveLength(1)
    // Still counted in the store, so still this process's to use.
    expect(await windows.enter('hash-g', 1)).toBe(1)
    windows.leave('hash-g')
    refuse = false
    await windows.release()
    expect(await store.get('ratelimit:in_flight:hash-g')).toBe('0')
  })
})

describe('budget periods', () => {
  it('reads LiteLLM durations and refuses what is not one', () => {
    expect(parseDuration('30s')).toEqual({ count: 30, unit: 's' })
    expect(parseDuration('30d')).toEqual({ count: 30, unit: 'd' })
    expect(parseDuration('1mo')).toEqual({ count: 1, unit: 'mo' })
    expect(parseDuration('daily')).toEqual({ count: 24, unit: 'h' })
    expect(parseDuration('45')).toEqual({ count: 45, unit: 's' })
    expect(parseDuration('soon')).toBeUndefined()
    expect(parseDuration('0d')).toBeUndefined()
  })

  it('counts periods from the anchor, months on the calendar with the day clamped', () => {
    const anchor = Date.UTC(2026, 0, 31)
    expect(addDuration(anchor, { count: 1, unit: 'mo' })).toBe(Date.UTC(2026, 1, 28))
    expect(periodAt(anchor, { count: 1, unit: 'mo' }, Date.UTC(2026, 1, 27))).toMatchObject({ index: 0, end: Date.UTC(2026, 1, 28) })
    expect(periodAt(anchor, { count: 1, unit: 'mo' }, Date.UTC(2026, 2, 5))).toMatchObject({ index: 1, start: Date.UTC(2026, 1, 28) })
    expect(periodAt(0, { count: 1, unit: 'h' }, 5_400_000)).toEqual({ index: 1, start: 3_600_000, end: 7_200_000 })
    expect(periodAt(0, undefined, 10 ** 12)).toEqual({ index: 0, start: 0, end: Number.POSITIVE_INFINITY })
  })

  it('keeps spend per budget period: a new period starts at zero', async () => {
    const { time, now } = clock(Date.UTC(2026, 0, 1))
    const counters = createCounterBuffer(memoryStore({ now }), { flushMs: 10, maxAgeMs: 100, now })
    const key = { created_at: new Date(time.now).toISOString(), budget_duration: '1h', max_budget: 1 }
    const attribution = { key: { token: 'hash-c', record: key }, endUser: 'customer-9', tags: ['checkout', 'checkout'], model: 'gpt-4o' }
    recordSpend(counters, attribution, 0.25, now())
    recordSpend(counters, attribution, 0.5, now())
    const counter = () => spendCounter('key', 'hash-c', budgetPeriod(key, now()).index)
    expect(await readSpend(counters, counter())).toBe(0.75)
    // Tags counted once per call, end user and model since the start.
    expect(await readSpend(counters, spendCounter('tag', 'checkout'))).toBe(0.75)
    expect(await readSpend(counters, spendCounter('end_user', 'customer-9'))).toBe(0.75)
    time.now += 3_600_000
    expect(await readSpend(counters, counter())).toBe(0)
    expect(await readSpend(counters, spendCounter('model', 'gpt-4o'))).toBe(0.75)
  })
})

describe('a key\'s plan', () => {
  const record = (budgetDuration: string | null, createdAt: number) => ({ created_at: new Date(createdAt).toISOString(), updated_at: new Date(createdAt).toISOString(), budget_duration: budgetDuration, max_budget: 1, tpm_limit: null, rpm_limit: 10, metadata: {}, models: [] })

  it('is worked out once for the records a process holds, and again when a period of the key, its user or its team ends', () => {
    const start = Date.UTC(2026, 0, 1)
    const key = { ...record('1d', start), token: 'hash-h', key_name: 'sk-...h', key_alias: null, user_id: 'ana', team_id: null, max_parallel_requests: null, expires: null, blocked: false }
    const user = { ...record('1h', start + 60_000), user_id: 'ana', user_alias: null, user_email: null }
    const found = { key, user }
    const first = keyPlan('hash-h', found, start + 120_000)
    expect(keyPlan('hash-h', found, start + 3_000_000)).toBe(first)
    // A key without a team is held to its own budget and its user's.
    expect(first.budgets.map((budget) => [budget.owner, budget.counter])).toEqual([['key', 'spend:key:hash-h:0'], ['user', 'spend:user:ana:0']])
    expect(first.spendCounters.map((each) => each.counter)).toEqual(['spend:key:hash-h:0', 'spend:user:ana:0'])
    expect(first.targets).toEqual([{ scope: 'api_key', id: 'hash-h', rpm: 10, tpm: null }, { scope: 'user', id: 'ana', rpm: 10, tpm: null }])
    // The user's hour ends before the key's day: the user's counter moves on, the key's stays.
    const next = keyPlan('hash-h', found, start + 60_000 + 3_600_000)
    expect(next).not.toBe(first)
    expect(next.spendCounters.map((each) => each.counter)).toEqual(['spend:key:hash-h:0', 'spend:user:ana:1'])
  })
})

describe('the counter buffer', () => {
  it('shows a process its own additions at once and another process within the flush and read intervals', async () => {
    const { time, now } = clock()
    const store = memoryStore({ now })
    const one = createCounterBuffer(store, { flushMs: 10, maxAgeMs: 100, now })
    const two = createCounterBuffer(store, { flushMs: 10, maxAgeMs: 100, now })
    expect(await two.read('spend:key:h:0')).toBe(0)
    one.add('spend:key:h:0', 0.25)
    one.add('spend:key:h:0', 0.5)
    expect(await one.read('spend:key:h:0')).toBe(0.75)
    // Not sent yet, and two's reading is fresh: two does not see it.
    expect(await two.read('spend:key:h:0')).toBe(0)
    await one.flush()
    expect(await store.get('spend:key:h:0')).toBe('0.75')
    time.now += 100
    expect(await two.read('spend:key:h:0')).toBe(0.75)
    two.add('spend:key:h:0', 1)
    await two.flush()
    time.now += 100
    expect(await one.read('spend:key:h:0')).toBe(1.75)
  })

  it('answers a total it read under maxAgeMs ago without the store (peek), and nothing once it is older', async () => {
    const { time, now } = clock()
    const store = memoryStore({ now })
    const counters = createCounterBuffer(store, { flushMs: 10, maxAgeMs: 100, now })
    await store.increment('spend:key:p:0', 2)
    expect(counters.peek('spend:key:p:0')).toBeUndefined()
    expect(await counters.read('spend:key:p:0')).toBe(2)
    counters.add('spend:key:p:0', 0.5)
    expect(counters.peek('spend:key:p:0')).toBe(2.5)
    time.now += 100
    expect(counters.peek('spend:key:p:0')).toBeUndefined()
  })

  it('asks the store once for a stale total however many requests read it meanwhile', async () => {
    const store = memoryStore()
    let gets = 0
    const counting = { ...store, get: (key: string) => (gets++, store.get(key)) }
    await store.increment('spend:key:q:0', 3)
    const counters = createCounterBuffer(counting, { flushMs: 10, maxAgeMs: 100 })
    expect(await Promise.all(Array.from({ length: 20 }, () => counters.read('spend:key:q:0')))).toEqual(Array(20).fill(3))
    expect(gets).toBe(1)
  })

  it('keeps what a store refused and sends it with the next flush', async () => {
    const store = memoryStore()
    let refuse = true
    const flaky = { ...store, increment: (key: string, amount?: number, options?: { ttlMs?: number }) => (refuse ? Promise.reject(new Error('Redis is down')) : store.increment(key, amount, options)) }
    const errors: unknown[] = []
    const counters = createCounterBuffer(flaky, { flushMs: 10, maxAgeMs: 100, onError: (error) => errors.push(error) })
    counters.add('spend:model:m', 2)
    await counters.flush()
    expect(errors).toHaveLength(1)
    expect(await counters.read('spend:model:m')).toBe(2)
    refuse = false
    await counters.flush()
    expect(await store.get('spend:model:m')).toBe('2')
  })
})
