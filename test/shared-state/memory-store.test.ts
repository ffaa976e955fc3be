import { describe, expect, it } from 'vitest'
import { memoryStore } from '../../src/shared-state/memory-store'
import { storeContract } from './store-contract'

storeContract('memory', () => memoryStore())

describe('memoryStore', () => {
  it('is one process\'s truth: two stores count apart', async () => {
    const [first, second] = [memoryStore(), memoryStore()]
    await first.increment('requests')
    expect(await second.increment('requests')).toBe(1)
  })

  it('follows the clock it is given', async () => {
    let now = 1_000_000
    const store = memoryStore({ now: () => now })
    await store.increment('n', 1, { ttlMs: 1_000 })
    await store.addToWindow('w', 2, 1_000)
    now += 999
    expect(await store.get('n')).toBe('1')
    expect(await store.readWindow('w', 1_000)).toEqual({ sum: 2, count: 1 })
    now += 1
    expect(await store.get('n')).toBeUndefined()
    expect(await store.readWindow('w', 1_000)).toEqual({ sum: 0, count: 0 })
  })

  it('rejects unknown options, naming them', () => {
    expect(() => memoryStore({ prefx: 'a' } as never)).toThrow(/memoryStore\(\) options/)
  })
})
