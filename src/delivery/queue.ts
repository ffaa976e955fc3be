/**
 * The one delivery queue a client shares between all its exporters: bounded with a fair share per
 * sink (a dead sink only ever loses its own items), batched per sink by count and by time, retried
 * with backoff and jitter (p-retry), counting what it drops and why.
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
} from './queue-options'
import { settlesWithin } from './deadline'
import { createDeliveryCounters } from './counters'
import { buffered, take, type Batch, type Entry, type FlushWaiter, type SinkState, type Unmapped } from './buffer'
import { DeliveryError, sendWithRetries, type Dropped, type Sink } from './sink'

export { DeliveryError } from './sink'
export type { SendResult, Sink } from './sink'
export { validateDeliveryQueueOptions } from './queue-options'
export type { DeliveryQueue, DeliveryQueueOptions, DeliveryStats, DropInfo, DropReason, FlushOptions, SinkStats } from './queue-options'

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
  const maxSizePerSink = Math.min(settings.maxSizePerSink ?? settings.maxSize, settings.maxSize)
  const states = new Map<Sink<unknown>, SinkState>()
  const waiters: FlushWaiter[] = []
  const controller = new AbortController()
  // Every send in flight and every retry wait listens to this one signal: many at once is normal.
  setMaxListeners(0, controller.signal)
  const counters = createDeliveryCounters(settings.onDrop)
  const totals = counters.totals
  let seq = 0
  let closed = false
  let closing: Promise<void> | undefined
  /** Sinks holding at least one item: the queue's fair share is `maxSize` over this many. */
  let activeSinks = 0
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
      const { state } = entry
      // The room held for the hand-off goes back; the mapped items take room of their own.
      release(state, 1)
      let items: unknown
      try {
        items = entry.map(entry.source)
      } catch (error) {
        state.stats.enqueued++
        totals.enqueued++
        // Counted, not warned about: onError reports the error itself.
        counters.drop(state.sink.name, state.stats, 'mapping_failed', 1, error, { quiet: true })
        try {
          entry.onError(error)
        } catch {
          // An error handler that throws must not stop the other items.
        }
        forgetIfIdle(state)
        continue
      }
      if (items === undefined) forgetIfIdle(state)
      else if (Array.isArray(items)) for (const item of items) accept(state, item)
      else accept(state, items)
    }
  }

  function hold(state: SinkState, count: number): void {
    if (state.held === 0) activeSinks++
    state.held += count
    totals.held += count
  }

  function release(state: SinkState, count: number): void {
    state.held -= count
    totals.held -= count
    if (state.held === 0) activeSinks--
  }

  /**
   * Whether `state` may hold one more item. Each sink has its own bound, and a full queue is shared
   * fairly: a sink below an equal share takes the room of the oldest waiting item of the sink holding
   * the most (dropped as `queue_full` for that sink), so a dead or slow sink never starves the others.
   */
  function makeRoom(state: SinkState): boolean {
    if (state.held >= maxSizePerSink) return false
    if (totals.held < settings.maxSize) return true
    const share = settings.maxSize / (activeSinks + (state.held === 0 ? 1 : 0))
    if (state.held + 1 > share) return false
    let largest: SinkState | undefined
    for (const other of states.values()) {
      if (other !== state && buffered(other) > 0 && other.held > share && (!largest || other.held > largest.held)) largest = other
    }
    if (!largest) return false
    const evicted = take(largest, 1)
    largest.due = Math.max(0, largest.due - 1)
    settle(largest, evicted, { reason: 'queue_full', error: undefined })
    return true
  }

  /** Buffers `item` for the sink of `state`, or drops it when its share is full; a full batch is sent in the background. */
  function accept(state: SinkState, item: unknown): void {
    state.stats.enqueued++
    totals.enqueued++
    if (!makeRoom(state)) {
      counters.drop(state.sink.name, state.stats, 'queue_full', 1)
      forgetIfIdle(state)
      return
    }
    // Where a durable spool would append the item: the sink has accepted it.
    hold(state, 1)
    state.buffer.push({ item, seq: ++seq })
    state.stats.pending++
    if (buffered(state) >= state.maxBatchSize) {
      // Never send on the caller's stack: the send (encoding, the request) happens at the next turn.
      if (state.inFlight < state.concurrency) makeReady(state)
    } else if (!state.timer && state.inFlight < state.concurrency) startTimer(state)
  }

  function stateOf(sink: Sink<unknown>): SinkState {
    let state = states.get(sink)
    if (state) return state
    const maxBatchSize = Math.max(1, Math.floor(sink.maxBatchSize ?? settings.maxBatchSize))
    // One request per item needs many in flight to keep up: 64 × (1 s / 50 ms) = 1,280 items/s.
    const concurrency = sink.maxConcurrency ?? (maxBatchSize === 1 ? settings.singleItemConcurrency : settings.concurrency)
    state = {
      sink,
      maxBatchSize,
      concurrency: Math.max(1, Math.floor(concurrency)),
      buffer: [],
      head: 0,
      due: 0,
      inFlight: 0,
      sending: new Set(),
      held: 0,
      stats: counters.sink(sink.name),
    }
    states.set(sink, state)
    return state
  }

  function pump(state: SinkState): void {
    while (state.inFlight < state.concurrency) {
      const size = buffered(state)
      if (size === 0) break
      if (size < state.maxBatchSize && state.due === 0 && !closed) break
      const batch: Batch = { entries: take(state, Math.min(size, state.maxBatchSize)), settled: false }
      state.due = Math.max(0, state.due - batch.entries.length)
      state.inFlight++
      state.sending.add(batch)
      void deliver(state, batch)
    }
    if (buffered(state) > 0) {
      if (!state.timer && !closed) startTimer(state)
      return
    }
    stopTimer(state)
    forgetIfIdle(state)
  }

  /** An idle sink is forgotten (its counters stay, by name), so sinks made per call cannot pile up. */
  function forgetIfIdle(state: SinkState): void {
    if (state.held > 0 || state.inFlight > 0 || buffered(state) > 0) return
    stopTimer(state)
    states.delete(state.sink)
    ready.delete(state)
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

  async function deliver(state: SinkState, batch: Batch): Promise<void> {
    const items = batch.entries.map((entry) => entry.item)
    try {
      const outcome = await sendWithRetries(state.sink, items, settings, controller.signal, () => {
        state.stats.retries++
        totals.retries++
      })
      // close() may have counted this batch as dropped already, when it ran out of time.
      if (batch.settled) return
      batch.settled = true
      if (outcome && 'reason' in outcome) settle(state, batch.entries, outcome)
      else if (outcome?.unencodable) {
        const bad = new Map(outcome.unencodable.map(({ index, error }) => [index, error]))
        settle(state, batch.entries.filter((_, index) => !bad.has(index)), undefined)
        for (const [index, error] of bad) {
          const entry = batch.entries[index]
          if (entry) settle(state, [entry], { reason: 'unencodable', error })
        }
      } else settle(state, batch.entries, undefined)
    } finally {
      state.inFlight--
      state.sending.delete(batch)
      pump(state)
    }
  }

  /** Counts `batch` delivered, or dropped; where a durable spool would acknowledge its items. */
  function settle(state: SinkState, batch: Entry[], dropped: Dropped | undefined, quiet = false): void {
    const count = batch.length
    if (count === 0) return
    state.stats.pending -= count
    release(state, count)
    if (dropped) counters.drop(state.sink.name, state.stats, dropped.reason, count, dropped.error, { quiet })
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

  /** Counts and drops an item refused before it was buffered (closed queue, or a full share at hand-off). */
  function refuse(sink: Sink<unknown>, reason: DropReason): void {
    const state = stateOf(sink)
    state.stats.enqueued++
    totals.enqueued++
    counters.drop(sink.name, state.stats, reason, 1)
    forgetIfIdle(state)
  }

  /** Resolves once every item held now is settled (delivered or dropped). */
  function settledNow(): { done: Promise<void>; forget: () => void } {
    let waiter: FlushWaiter | undefined
    const done = new Promise<void>((resolve) => {
      waiter = { mark: seq, remaining: totals.held, resolve }
      waiters.push(waiter)
    })
    const forget = () => {
      const index = waiters.indexOf(waiter!)
      if (index >= 0) waiters.splice(index, 1)
    }
    for (const state of states.values()) {
      state.due = buffered(state)
      pump(state)
    }
    return { done, forget }
  }

  /** Out of time: aborts what is in flight or waiting to retry and drops everything held, as `closed`. */
  function dropEverything(): Map<string, number> {
    const dropped = new Map<string, number>()
    const count = (state: SinkState, entries: Entry[]) => {
      if (entries.length === 0) return
      dropped.set(state.sink.name, (dropped.get(state.sink.name) ?? 0) + entries.length)
      // Quiet: close() reports all of them at once.
      settle(state, entries, { reason: 'closed', error: undefined }, true)
    }
    controller.abort(new DeliveryError('The delivery queue was closed.', { retryable: false }))
    for (const state of [...states.values()]) {
      for (const batch of state.sending) {
        if (batch.settled) continue
        batch.settled = true
        count(state, batch.entries)
      }
      count(state, take(state, buffered(state)))
    }
    return dropped
  }

  async function closeWithin(timeoutMs: number): Promise<void> {
    // Items handed over before close() are the caller's: map them while the queue still takes them.
    mapPending()
    closed = true
    if (totals.held > 0) await queue.flush({ timeoutMs })
    for (const state of states.values()) stopTimer(state)
    if (immediate) clearImmediate(immediate)
    immediate = undefined
    ready.clear()
    if (totals.held === 0) return
    counters.reportClosed(dropEverything(), timeoutMs)
  }

  const queue: DeliveryQueue = {
    enqueue(sink, item) {
      try {
        if (closed) refuse(sink as Sink<unknown>, 'closed')
        else accept(stateOf(sink as Sink<unknown>), item)
      } catch (error) {
        console.warn(`[llm-onion] delivery queue could not take an item for ${sink?.name}: ${(error as Error).message}`)
      }
    },

    enqueueMapped(sink, source, map, onError) {
      try {
        if (closed) return refuse(sink as Sink<unknown>, 'closed')
        const state = stateOf(sink as Sink<unknown>)
        // Items not mapped yet take room too, so a burst between two turns stays bounded.
        if (!makeRoom(state)) return refuse(sink as Sink<unknown>, 'queue_full')
        hold(state, 1)
        unmapped.push({ state, source, map: map as (source: unknown) => unknown, onError })
        schedule()
      } catch (error) {
        console.warn(`[llm-onion] delivery queue could not take an item for ${sink?.name}: ${(error as Error).message}`)
      }
    },

    flush(options = {}) {
      mapPending()
      if (totals.held === 0) return Promise.resolve()
      const { done, forget } = settledNow()
      if (options.timeoutMs === undefined) return done
      return settlesWithin(done, options.timeoutMs).then((finished) => {
        if (!finished) forget()
      })
    },

    close(options = {}) {
      closing ??= closeWithin(options.timeoutMs ?? settings.closeTimeoutMs)
      return closing
    },

    stats() {
      mapPending()
      return counters.snapshot()
    },
  }
  return queue
}
