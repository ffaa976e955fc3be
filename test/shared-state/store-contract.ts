/**
 * The behaviour every shared store proves, memory and Redis alike: the same calls give the same
 * answers. Each implementation's test file runs it with its own factory.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { isValidationError } from '../../src/errors'
import type { SharedStore } from '../../src/shared-state/store'

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Registers the contract's tests; `makeStore` gives a fresh, empty store for each test. */
export function storeContract(name: string, makeStore: () => SharedStore): void {
  describe(`${name} store contract`, () => {
    const opened: SharedStore[] = []
    const fresh = () => {
      const store = makeStore()
      opened.push(store)
      return store
    }
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close()
    })

    it('counts from zero, by one unless told, and resolves to the new total', async () => {
      const store = fresh()
      expect(await store.increment('requests')).toBe(1)
      expect(await store.increment('requests')).toBe(2)
      expect(await store.increment('requests', 5)).toBe(7)
      expect(await store.increment('requests', -2)).toBe(5)
      expect(await store.get('requests')).toBe('5')
    })

    it('adds fractions (spend in USD)', async () => {
      const store = fresh()
      await store.increment('spend', 0.1)
      expect(await store.increment('spend', 0.2)).toBeCloseTo(0.3, 12)
    })

    it('counts every one of many increments made at once', async () => {
      const store = fresh()
      const totals = await Promise.all(Array.from({ length: 200 }, () => store.increment('burst')))
      expect(Math.max(...totals)).toBe(200)
      expect(new Set(totals).size).toBe(200)
    })

    it('forgets a counter after its ttl, and sets the ttl only when the counter is new', async () => {
      const store = fresh()
      await store.increment('minute', 1, { ttlMs: 150 })
      await pause(60)
      // A later ttl does not push the expiry back.
      expect(await store.increment('minute', 1, { ttlMs: 60_000 })).toBe(2)
      await pause(150)
      expect(await store.get('minute')).toBeUndefined()
      expect(await store.increment('minute', 1, { ttlMs: 60_000 })).toBe(1)
    })

    it('refuses to count on a key that holds text, naming the key', async () => {
      const store = fresh()
      await store.set('label', 'hello')
      const error = await store.increment('label').catch((caught: unknown) => caught)
      expect(isValidationError(error)).toBe(true)
      expect((error as Error).message).toContain("'label'")
    })

    it('sets and gets values, deletes them, and answers undefined for a missing key', async () => {
      const store = fresh()
      expect(await store.get('missing')).toBeUndefined()
      expect(await store.set('greeting', 'hello')).toBe(true)
      expect(await store.get('greeting')).toBe('hello')
      expect(await store.set('greeting', 'again')).toBe(true)
      expect(await store.get('greeting')).toBe('again')
      await store.delete('greeting')
      expect(await store.get('greeting')).toBeUndefined()
      await store.delete('never-set')
    })

    it('sets only if absent when asked (SET NX), and forgets a value after its ttl', async () => {
      const store = fresh()
      expect(await store.set('lock', 'first', { onlyIfAbsent: true, ttlMs: 120 })).toBe(true)
      expect(await store.set('lock', 'second', { onlyIfAbsent: true })).toBe(false)
      expect(await store.get('lock')).toBe('first')
      await pause(180)
      expect(await store.get('lock')).toBeUndefined()
      expect(await store.set('lock', 'second', { onlyIfAbsent: true })).toBe(true)
      expect(await store.get('lock')).toBe('second')
    })

    it('sums a sliding window, including the value just recorded', async () => {
      const store = fresh()
      expect(await store.readWindow('latency', 60_000)).toEqual({ sum: 0, count: 0 })
      expect(await store.addToWindow('latency', 120, 60_000)).toEqual({ sum: 120, count: 1 })
      expect(await store.addToWindow('latency', 80, 60_000)).toEqual({ sum: 200, count: 2 })
      expect(await store.addToWindow('latency', 0.5, 60_000)).toEqual({ sum: 200.5, count: 3 })
      expect(await store.readWindow('latency', 60_000)).toEqual({ sum: 200.5, count: 3 })
      expect(await store.windowValues('latency', 60_000)).toEqual([120, 80, 0.5])
      expect(await store.windowValues('other', 60_000)).toEqual([])
    })

    it('forgets window values older than the window', async () => {
      const store = fresh()
      await store.addToWindow('errors', 1, 200)
      await store.addToWindow('errors', 1, 200)
      await pause(120)
      expect(await store.addToWindow('errors', 5, 200)).toEqual({ sum: 7, count: 3 })
      await pause(130)
      // The first two are older than 200 ms now; the third is not.
      expect(await store.readWindow('errors', 200)).toEqual({ sum: 5, count: 1 })
      expect(await store.windowValues('errors', 200)).toEqual([5])
      await pause(120)
      expect(await store.readWindow('errors', 200)).toEqual({ sum: 0, count: 0 })
    })

    it('keeps windows apart from values of the same name, and delete removes both', async () => {
      const store = fresh()
      await store.set('shared-name', 'text')
      await store.addToWindow('shared-name', 3, 60_000)
      expect(await store.get('shared-name')).toBe('text')
      await store.delete('shared-name')
      expect(await store.get('shared-name')).toBeUndefined()
      expect(await store.readWindow('shared-name', 60_000)).toEqual({ sum: 0, count: 0 })
    })

    it('rejects wrong arguments with a ValidationError naming the field', async () => {
      const store = fresh()
      const wrong = async (call: () => Promise<unknown>) => call().then(() => undefined, (error: unknown) => error as { path?: string })
      expect((await wrong(() => store.increment('')))?.path).toBe('key')
      expect((await wrong(() => store.increment('n', Number.NaN)))?.path).toBe('amount')
      expect((await wrong(() => store.increment('n', 1, { ttlMs: -5 })))?.path).toBe('options.ttlMs')
      expect((await wrong(() => store.set('n', 5 as unknown as string)))?.path).toBe('value')
      expect((await wrong(() => store.addToWindow('n', 1, 0)))?.path).toBe('windowMs')
      expect((await wrong(() => store.addToWindow('n', Number.POSITIVE_INFINITY, 1000)))?.path).toBe('value')
      expect((await wrong(() => store.readWindow('n', 1.5)))?.path).toBe('windowMs')
    })
  })
}
