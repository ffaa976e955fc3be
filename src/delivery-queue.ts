/**
 * The one delivery queue a client shares between all its exporters: bounded, batched per sink by
 * count and by time, retried with backoff and jitter (p-retry), counting what it drops and why.
 * A call only ever enqueues; nothing here throws into a call or holds it. Work a call would otherwise
 * pay for (an exporter's mapping, a send its item makes due) runs at the next turn of the event loop,
 * one `setImmediate` per queue per turn, or at once when `flush()`, `close()` or `stats()` needs it.
 */
import { setMaxListeners } from 'node:events'
import {
  validateDeliveryQueueOptions,
  type DeliveryQueue,
  type DeliveryQueueOptions,
  type DeliverySettings,
  type DropReason,
  type SinkStats,
} from './delivery-queue-options'
import { createDeliveryCounters } from './delivery-counters'
import { DeliveryError, sendWithRetries, type Dropped, type Sink } from './sink'

export { DeliveryError } from './sink'
export type { Sink } from './sink'
export { validateDeliveryQueueOptions } from './delivery-queue-options'
export type { DeliveryQueue, DeliveryQueueOptions, DeliveryStats, DropInfo, DropReason, SinkStats } from './delivery-queue-options'

interface Entry {
  item: unknown
  seq: number
}

interface SinkState {
  sink: Sink<unknown>
  maxBatchSize: number
  concurrency: number
  buffer: Entry[]
  head: number
  /** Items at the front of the buffer that must go now, full batch or not (timer fired, flush). */
  due: number
  inFlight: number
  timer?: NodeJS.Timeout
  stats: SinkStats
}

/** An item handed over by enqueueMapped(): `map(source)` gives the sink's items. */
interface Unmapped {
  sink: Sink<unknown>
  source: unknown
  map: (source: unknown) => unknown
  onError: (error: unknown) => void
}

interface FlushWaiter {
  mark: number
  remaining: number
  resolve: () => void
}

/**
 * Creates a delivery queue. A client makes one lazily (`ctx.services.queue`) from its `queue` option;
 * exporters enqueue to it and never wait.
 *
 * @example
 * ```ts
 * const queue = createDeliveryQueue({ maxSize: 1000, flushIntervalMs: 200, onDrop: (info) => console.warn(info) })
 * queue.enqueue(httpSink({ name: 'my-db', url, encode: (rows) => ({ rows }) }), { id: 1 })
 * await queue.close()
 * console.log(queue.stats().delivered)
 * ```
 */
export function createDeliveryQueue(options: DeliveryQueueOptions = {}): DeliveryQueue {
  const settings: DeliverySettings = validateDeliveryQueueOptions(options)
  const states = new Map<Sink<unknown>, SinkState>()
  const waiters: FlushWaiter[] = []
  const controller = new AbortController()
  // Every send in flight and every retry wait listens to this one signal: many at once is normal.
  setMaxListeners(0, controller.signal)
  const counters = createDeliveryCounters(settings.onDrop)
  const totals = counters.totals
  let seq = 0
  let closed = false
  /** Items handed over by enqueueMapped(), mapped at the next turn of the event loop. */
  let unmapped: Unmapped[] = []
  /** Sinks whose buffer filled a batch, sent from the next turns of the event loop. */
  const ready = new Set<SinkState>()
  let immediate: NodeJS.Immediate | undefined

  /** One background step per turn of the event loop, whatever the number of calls in it. */
  function schedule(): void {
    immediate ??= setImmediate(runDeferred)
  }

  function runDeferred(): void {
    immediate = undefined
    mapPending()
    // One sink per turn: encoding a batch holds the event loop, and sinks that fill (or time out)
    // together must not add up to one long pause for the calls arriving meanwhile.
    const next = ready.values().next()
    if (next.done) return
    ready.delete(next.value)
    pump(next.value)
    if (ready.size > 0) schedule()
  }

  function makeReady(state: SinkState): void {
    ready.add(state)
    schedule()
  }

  /** Maps every item handed over so far; `flush()`, `close()` and `stats()` call it so they see every item. */
  function mapPending(): void {
    if (unmapped.length === 0) return
    const work = unmapped
    unmapped = []
    for (const entry of work) {
      let items: unknown
      try {
        items = entry.map(entry.source)
      } catch (error) {
        try {
          entry.onError(error)
        } catch {
          // An error handler that throws must not stop the other items.
        }
        continue
      }
      if (items === undefined) continue
      if (Array.isArray(items)) for (const item of items) accept(entry.sink, item)
      else accept(entry.sink, items)
    }
  }

  /** Buffers `item` for `sink`, or drops it when the queue is full; a full batch is sent in the background. */
  function accept(sink: Sink<unknown>, item: unknown): void {
    const state = stateOf(sink)
    state.stats.enqueued++
    totals.enqueued++
    if (totals.held >= settings.maxSize) {
      counters.drop(sink.name, state.stats, 'queue_full', 1)
      return
    }
    state.buffer.push({ item, seq: ++seq })
    state.stats.pending++
    totals.held++
    if (buffered(state) >= state.maxBatchSize) {
      // Never send on the caller's stack: the send (encoding, the request) happens at the next turn.
      if (state.inFlight < state.concurrency) makeReady(state)
    } else if (!state.timer && state.inFlight < state.concurrency) startTimer(state)
  }

  function stateOf(sink: Sink<unknown>): SinkState {
    let state = states.get(sink)
    if (state) return state
    state = {
      sink,
      maxBatchSize: Math.max(1, Math.floor(sink.maxBatchSize ?? settings.maxBatchSize)),
      concurrency: Math.max(1, Math.floor(sink.maxConcurrency ?? settings.concurrency)),
      buffer: [],
      head: 0,
      due: 0,
      inFlight: 0,
      stats: counters.sink(sink.name),
    }
    states.set(sink, state)
    return state
  }

  const buffered = (state: SinkState) => state.buffer.length - state.head

  function take(state: SinkState, count: number): Entry[] {
    const batch = state.buffer.slice(state.head, state.head + count)
    state.head += count
    // Compact now and then so a long-lived buffer does not keep delivered entries reachable.
    if (state.head === state.buffer.length) {
      state.buffer = []
      state.head = 0
    } else if (state.head > 1024 && state.head * 2 > state.buffer.length) {
      state.buffer = state.buffer.slice(state.head)
      state.head = 0
    }
    return batch
  }

  function pump(state: SinkState): void {
    while (state.inFlight < state.concurrency) {
      const size = buffered(state)
      if (size === 0) break
      if (size < state.maxBatchSize && state.due === 0 && !closed) break
      const batch = take(state, Math.min(size, state.maxBatchSize))
      state.due = Math.max(0, state.due - batch.length)
      state.inFlight++
      void deliver(state, batch)
    }
    if (buffered(state) > 0) {
      if (!state.timer && !closed) startTimer(state)
      return
    }
    stopTimer(state)
    // An idle sink is forgotten (its counters stay, by name), so sinks made per call cannot pile up.
    if (state.inFlight === 0) {
      states.delete(state.sink)
      ready.delete(state)
    }
  }

  function startTimer(state: SinkState): void {
    state.timer = setTimeout(() => {
      state.timer = undefined
      state.due = buffered(state)
      pump(state)
    }, settings.flushIntervalMs)
    state.timer.unref()
  }

  function stopTimer(state: SinkState): void {
    if (state.timer) clearTimeout(state.timer)
    state.timer = undefined
  }

  async function deliver(state: SinkState, batch: Entry[]): Promise<void> {
    const items = batch.map((entry) => entry.item)
    try {
      const dropped = await sendWithRetries(state.sink, items, settings, controller.signal, () => {
        state.stats.retries++
        totals.retries++
      })
      settle(state, batch, dropped)
    } finally {
      state.inFlight--
      pump(state)
    }
  }

  function settle(state: SinkState, batch: Entry[], dropped: Dropped | undefined): void {
    const count = batch.length
    state.stats.pending -= count
    totals.held -= count
    if (dropped) counters.drop(state.sink.name, state.stats, dropped.reason, count, dropped.error)
    else {
      state.stats.delivered += count
      totals.delivered += count
    }
    if (waiters.length === 0) return
    for (let index = waiters.length - 1; index >= 0; index--) {
      const waiter = waiters[index]!
      for (const entry of batch) if (entry.seq <= waiter.mark) waiter.remaining--
      if (waiter.remaining <= 0) {
        waiters.splice(index, 1)
        waiter.resolve()
      }
    }
  }

  /** Counts and drops an item refused before it was buffered (closed queue, or full with unmapped items). */
  function refuse(sink: Sink<unknown>, reason: DropReason): void {
    const state = stateOf(sink)
    state.stats.enqueued++
    totals.enqueued++
    counters.drop(sink.name, state.stats, reason, 1)
  }

  const queue: DeliveryQueue = {
    enqueue(sink, item) {
      try {
        if (closed) refuse(sink as Sink<unknown>, 'closed')
        else accept(sink as Sink<unknown>, item)
      } catch (error) {
        console.warn(`[llm-onion] delivery queue could not take an item for ${sink?.name}: ${(error as Error).message}`)
      }
    },

    enqueueMapped(sink, source, map, onError) {
      try {
        if (closed) refuse(sink as Sink<unknown>, 'closed')
        // Unmapped items count against maxSize too, so a burst between two turns stays bounded.
        else if (totals.held + unmapped.length >= settings.maxSize) refuse(sink as Sink<unknown>, 'queue_full')
        else {
          unmapped.push({ sink: sink as Sink<unknown>, source, map: map as (source: unknown) => unknown, onError })
          schedule()
        }
      } catch (error) {
        console.warn(`[llm-onion] delivery queue could not take an item for ${sink?.name}: ${(error as Error).message}`)
      }
    },

    flush() {
      mapPending()
      if (totals.held === 0) return Promise.resolve()
      const flushed = new Promise<void>((resolve) => waiters.push({ mark: seq, remaining: totals.held, resolve }))
      for (const state of states.values()) {
        state.due = buffered(state)
        pump(state)
      }
      return flushed
    },

    async close() {
      if (closed) return
      // Items handed over before close() are the caller's: map them while the queue still takes them.
      mapPending()
      closed = true
      let timer: NodeJS.Timeout | undefined
      const timedOut = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), settings.closeTimeoutMs)
        timer.unref()
      })
      const finished = await Promise.race([queue.flush().then(() => false), timedOut])
      clearTimeout(timer)
      for (const state of states.values()) stopTimer(state)
      if (immediate) clearImmediate(immediate)
      immediate = undefined
      ready.clear()
      if (!finished) return
      // Out of time: stop what is in flight or waiting to retry (each counts as `closed`), and drop the rest.
      controller.abort(new DeliveryError('The delivery queue was closed.', { retryable: false }))
      for (const state of states.values()) {
        const rest = take(state, buffered(state))
        if (rest.length > 0) settle(state, rest, { reason: 'closed', error: undefined })
      }
    },

    stats() {
      mapPending()
      return counters.snapshot()
    },
  }
  return queue
}
