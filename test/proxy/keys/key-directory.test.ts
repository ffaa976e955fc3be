/**
 * The key directory as two processes see one repository (PostgreSQL in production, one in-memory
 * repository here) and one shared store, each with its own clock-driven counter buffer: a key is read
 * once and kept, and a change made through one process reaches the other within the counter buffer's
 * flush and read intervals, not after the cache's time to live.
 */
import { describe, expect, it } from 'vitest'
import { memoryStore } from 'llm-onion'
import { createCounterBuffer } from '../../../src/proxy/keys/counter-buffer'
import { createKeyDirectory, keysVersionCounter } from '../../../src/proxy/keys/key-directory'
import { memoryKeyRepository } from '../../../src/proxy/keys/memory-repository'
import type { KeyRecord, KeyRepository } from '../../../src/proxy/keys/records'

const at = '2026-01-15T12:00:00.000Z'
const keyRecord = (token: string): KeyRecord => ({
  token, key_name: 'sk-...test', key_alias: null, user_id: null, team_id: null, models: [], max_budget: null, budget_duration: null,
  tpm_limit: null, rpm_limit: null, max_parallel_requests: null, metadata: {}, expires: null, blocked: false, created_at: at, updated_at: at,
})

/** Two processes: each a counter buffer and a directory (a one-hour time to live) over the shared repository and store. */
function twoProcesses() {
  const time = { now: Date.parse(at) }
  const now = () => time.now
  const store = memoryStore({ now })
  const repository = memoryKeyRepository()
  let reads = 0
  const counted: KeyRepository = { ...repository, getKey: (token) => (reads++, repository.getKey(token)) }
  const process = () => {
    const counters = createCounterBuffer(store, { flushMs: 10, maxAgeMs: 100, now })
    return { counters, directory: createKeyDirectory(counted, { ttlMs: 3_600_000, now, changes: { counters } }) }
  }
  return { time, store, repository, one: process(), two: process(), reads: () => reads }
}

describe('the key directory', () => {
  it('reads a key once and answers from its copy while nothing changed', async () => {
    const { time, repository, one, reads } = twoProcesses()
    await repository.saveKey(keyRecord('hash-a'))
    expect((await one.directory.lookup('hash-a'))?.key.token).toBe('hash-a')
    time.now += 500
    await one.directory.lookup('hash-a')
    await one.directory.lookup('hash-a')
    expect(reads()).toBe(1)
  })

  it('sees a key blocked through another process within the flush and read intervals, not after its time to live', async () => {
    const { time, store, repository, one, two } = twoProcesses()
    await repository.saveKey(keyRecord('hash-b'))
    expect((await two.directory.lookup('hash-b'))?.key.blocked).toBe(false)
    // Process one blocks it, as /key/block does: saves it, then forgets it.
    await repository.saveKey({ ...keyRecord('hash-b'), blocked: true })
    one.directory.forgetKey('hash-b')
    await one.counters.flush()
    expect(await store.get(keysVersionCounter)).toBe('1')
    // Two's reading of the version is under 100 ms old: its copy stands until then.
    expect((await two.directory.lookup('hash-b'))?.key.blocked).toBe(false)
    time.now += 100
    expect((await two.directory.lookup('hash-b'))?.key.blocked).toBe(true)
  })

  it('sees a key deleted through another process', async () => {
    const { time, repository, one, two } = twoProcesses()
    await repository.saveKey(keyRecord('hash-c'))
    await two.directory.lookup('hash-c')
    await repository.deleteKeys(['hash-c'])
    one.directory.forgetKey('hash-c')
    await one.counters.flush()
    time.now += 100
    expect(await two.directory.lookup('hash-c')).toBeUndefined()
  })

  it('keeps answering from its copies while the store cannot be read (fail-closed Redis down)', async () => {
    const repository = memoryKeyRepository()
    await repository.saveKey(keyRecord('hash-d'))
    const store = memoryStore()
    const down = { ...store, get: () => Promise.reject(new Error('Redis is down')) }
    const directory = createKeyDirectory(repository, { ttlMs: 3_600_000, changes: { counters: createCounterBuffer(down, { flushMs: 10, maxAgeMs: 100 }) } })
    expect((await directory.lookup('hash-d'))?.key.token).toBe('hash-d')
    expect((await directory.lookup('hash-d'))?.key.token).toBe('hash-d')
  })
})
