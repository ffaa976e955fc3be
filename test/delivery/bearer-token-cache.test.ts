import { afterEach, describe, expect, it, vi } from 'vitest'
import { cachedBearer } from '../../src/delivery/bearer-token-cache'

describe('cachedBearer()', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('fetches once for batches sent at once, and reuses the token until its renewAt', async () => {
    vi.useFakeTimers({ now: 1_000_000 })
    let fetches = 0
    const headersFor = cachedBearer(async () => ({ token: `token-${++fetches}`, renewAt: Date.now() + 60_000 }))
    const first = await Promise.all([headersFor(), headersFor(), headersFor()])
    expect(first).toEqual([{ authorization: 'Bearer token-1' }, { authorization: 'Bearer token-1' }, { authorization: 'Bearer token-1' }])
    vi.advanceTimersByTime(59_999)
    expect(await headersFor()).toEqual({ authorization: 'Bearer token-1' })
    vi.advanceTimersByTime(1)
    expect(await headersFor()).toEqual({ authorization: 'Bearer token-2' })
    expect(fetches).toBe(2)
  })

  it('forgets a failed fetch, so the next batch fetches anew', async () => {
    let fetches = 0
    const headersFor = cachedBearer(async () => {
      fetches++
      if (fetches === 1) throw new Error('login refused')
      return { token: 'second', renewAt: Date.now() + 60_000 }
    })
    await expect(Promise.all([headersFor(), headersFor()])).rejects.toThrow('login refused')
    expect(await headersFor()).toEqual({ authorization: 'Bearer second' })
    expect(fetches).toBe(2)
  })
})
