/**
 * A call's cancellation is created lazily (src/call-abort.ts): these check that waiting for an abort
 * before anything created the controller still hears it, whichever way the call is cancelled.
 */
import { describe, expect, it, vi } from 'vitest'
import { CallAbort } from '../src/call-abort'
import { AbortError, isAbortError } from '../src/errors'

describe('CallAbort', () => {
  it('hears an abort of the controller created after the listener was added, with the reason on the signal', () => {
    const cancellation = new CallAbort()
    const listener = vi.fn()
    cancellation.onAbort(listener)
    expect(cancellation.aborted).toBe(false)
    const reason = new AbortError('gone')
    cancellation.controller.abort(reason)
    expect(listener).toHaveBeenCalledTimes(1)
    expect(cancellation.aborted).toBe(true)
    expect(cancellation.signal.reason).toBe(reason)
  })

  it('stops listening before and after the controller exists', () => {
    const before = new CallAbort()
    const early = vi.fn()
    before.onAbort(early)()
    before.controller.abort()
    expect(early).not.toHaveBeenCalled()

    const after = new CallAbort()
    const late = vi.fn()
    const stop = after.onAbort(late)
    void after.signal // creates the controller, which takes over the waiting listener
    stop()
    after.controller.abort()
    expect(late).not.toHaveBeenCalled()
  })

  it('follows the caller’s signal, already aborted or aborted later, until released', () => {
    const aborted = new AbortController()
    aborted.abort()
    const cancelledFirst = new CallAbort(aborted.signal)
    expect(cancelledFirst.aborted).toBe(true)
    expect(isAbortError(cancelledFirst.signal.reason)).toBe(true)

    const caller = new AbortController()
    const cancellation = new CallAbort(caller.signal)
    const listener = vi.fn()
    cancellation.onAbort(listener)
    caller.abort()
    expect(listener).toHaveBeenCalledTimes(1)
    expect(isAbortError(cancellation.signal.reason)).toBe(true)

    const reused = new AbortController()
    const released = new CallAbort(reused.signal)
    released.release()
    reused.abort()
    expect(released.aborted).toBe(false)
  })

  it('waits on the narrower signal a layer set, and goes back to its own once the layer restores it', () => {
    const cancellation = new CallAbort()
    const own = cancellation.signal
    const narrower = new AbortController()
    cancellation.signal = narrower.signal
    const listener = vi.fn()
    cancellation.onAbort(listener)
    narrower.abort(new Error('deadline'))
    expect(listener).toHaveBeenCalledTimes(1)
    expect(cancellation.aborted).toBe(true)
    cancellation.signal = own
    expect(cancellation.signal).toBe(own)
    expect(cancellation.aborted).toBe(false)
  })
})
