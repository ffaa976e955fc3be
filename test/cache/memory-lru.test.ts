/**
 * The cache's memory LRU: bounded by entries and by size, least recently used out first, entries
 * expiring with their time to live.
 */
import { describe, expect, it } from 'vitest'
import { createMemoryLru } from '../../src/cache/memory-lru'

describe('createMemoryLru', () => {
  it('drops the least recently used entry past maxEntries; a read makes an entry recent', () => {
    const lru = createMemoryLru({ maxEntries: 2 })
    lru.set('a', 'one')
    lru.set('b', 'two')
    expect(lru.get('a')).toBe('one')
    lru.set('c', 'three')
    expect([lru.get('a'), lru.get('b'), lru.get('c')]).toEqual(['one', undefined, 'three'])
    expect(lru.stats()).toMatchObject({ entries: 2, evictions: 1 })
  })

  it('holds at most maxSize characters, and never a value larger than that', () => {
    const lru = createMemoryLru({ maxSize: 10 })
    lru.set('a', '12345')
    lru.set('b', '12345')
    lru.set('c', '123')
    expect(lru.get('a')).toBeUndefined()
    expect(lru.stats()).toMatchObject({ entries: 2, size: 8 })
    lru.set('huge', '12345678901')
    expect(lru.get('huge')).toBeUndefined()
    expect(lru.stats().size).toBe(8)
  })

  it('forgets an entry once its time to live has passed, and replaces a key in place', () => {
    let now = 1_000
    const lru = createMemoryLru({ now: () => now })
    lru.set('a', 'one', 100)
    now = 1_099
    expect(lru.get('a')).toBe('one')
    now = 1_100
    expect(lru.get('a')).toBeUndefined()
    lru.set('b', 'two')
    lru.set('b', 'second')
    expect(lru.get('b')).toBe('second')
    expect(lru.stats()).toMatchObject({ entries: 1, size: 6 })
  })
})
