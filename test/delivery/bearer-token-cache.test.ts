import { afterEach, describe, expect, it, vi } from 'vitest'
import { cachedBearer } from '../../src/delivery/bearer-token-cache'
import { httpSink } from '../../src/delivery/http-sink'
import { DeliveryError } from '../../src/delivery/sink'
import { startRecordingServer } from '../fakes/recording-server'

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

  it('is told by httpSink when the service refuses its token (401): the retry goes with a fresh one', async () => {
    // The service revoked the first token before its expiry.
    const service = await startRecordingServer((request) =>
      request.headers.authorization === 'Bearer token-1' ? { status: 401, body: { error: 'token revoked' } } : { status: 200, body: {} },
    )
    let fetches = 0
    const headersFor = cachedBearer(async () => ({ token: `token-${++fetches}`, renewAt: Date.now() + 3_600_000 }))
    const sink = httpSink<{ id: number }>({ name: 'service', url: `${service.url}/ingest`, encode: (items) => ({ items }), headersFor })
    const signal = new AbortController().signal
    try {
      const refused = await sink.send([{ id: 1 }], signal).then(() => undefined, (error: unknown) => error)
      expect(refused).toBeInstanceOf(DeliveryError)
      expect({ status: (refused as DeliveryError).status, retryable: (refused as DeliveryError).retryable }).toEqual({ status: 401, retryable: true })
      await sink.send([{ id: 1 }], signal)
      expect(service.requests.map((request) => request.headers.authorization)).toEqual(['Bearer token-1', 'Bearer token-2'])
    } finally {
      await sink.close?.()
      await service.close()
    }
  })

  it('leaves a 401 final for headers that cannot be fetched anew', async () => {
    const service = await startRecordingServer(() => ({ status: 401, body: { error: 'wrong key' } }))
    const sink = httpSink<{ id: number }>({ name: 'service', url: `${service.url}/ingest`, encode: (items) => ({ items }), headersFor: () => ({ authorization: 'Bearer fixed' }) })
    try {
      const refused = await sink.send([{ id: 1 }], new AbortController().signal).then(() => undefined, (error: unknown) => error)
      expect((refused as DeliveryError).retryable).toBe(false)
    } finally {
      await sink.close?.()
      await service.close()
    }
  })
})
