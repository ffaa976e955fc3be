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
import { buffered, createSinkState, dropEverything, take, type Batch, type Entry, type SinkState } from './buffer'
import { createDeferredMapping } from './deferred-mapping'
import { createFlushWaiters } from './flush-waiters'
import { createQueueRoom } from './queue-room'
import { DeliveryError, sendWithRetries, type Dropped, type Sink } from './sink'
import { openQueueSpool } from './queue-spool'
import { lowerInFlightLimit, raiseInFlightLimit } from './in-flight-limit'
import { batchOutcome, spoolIdsOf } from './batch-outcome'
import { createQueueTurns, drained } from './queue-turns'

export { DeliveryError } from './sink'
export type { SendResult, Sink } from './sink'
export { validateDeliveryQueueOptions } from './queue-options'
export type { DeliveryQueue, DeliveryQueueOptions, QueueSpoolOptions, DeliveryStats, DropInfo, DropReason, FlushOptions, SinkStats } from './queue-options'

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
  const waiters = createFlushWaiters()
  const controller = new AbortController()
  // Every send in flight and every retry wait listens to this one signal: many at once is normal.
  setMaxListeners(0, controller.signal)
  const counters = createDeliveryCounters(settings.onDrop)
  const totals = counters.totals
  let seq = 0
  let closed = false
  let closing: Promise<void> | undefined
  /** Sinks whose buffer filled a batch, sent from the next turns of the event loop. */
  const ready = new Set<SinkState>()
  let immediate: NodeJS.Immediate | undefined
  /** Turns for callers that give the event loop none (queue-turns.ts). */
  const turns = createQueueTurns({
    maxSize: settings.maxSize,
    // One turn at least (its poll phase is where the sinks' answers come in), then more while the queue is too full.
    room: async (below, patienceMs) => {
      await new Promise((resolve) => setImmediate(resolve))
      return drained(() => totals.held, below, patienceMs, () => closed)
    },
  })
  /** The durable spool (`options.spool`): opened now, so a directory that cannot be used fails here. */
  const spool = settings.spool === undefined ? undefined : openQueueSpool(settings.spool)
  const { hold, release, makeRoom } = createQueueRoom({
    maxSize: settings.maxSize,
    maxSizePerSink: Math.min(settings.maxSizePerSink ?? settings.maxSize, settings.maxSize),
    totals,
    states,
    evictOldest: (state) => {
      const evicted = take(state, 1)
      state.due = Math.max(0, state.due - 1)
      settle(state, evicted, { reason: 'queue_full', error: undefined })
    },
  })

  /** Items handed over by enqueueMapped(), mapped at the next turn of the event loop (or when flush(), close() or stats() needs them all). */
  const { add: handOver, mapPending } = createDeferredMapping({ release, accept, mappingFailed, forgetIfIdle })

  /** One background step per turn of the event loop, whatever the number of calls in it. */
  function schedule(): void {
    immediate ??= setImmediate(runDeferred)
  }

  function runDeferred(): void {
    immediate = undefined
    turns.queueRan()
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

  /** An item whose mapping threw: counted, not warned about (the exporter's onError reports the error itself). */
  function mappingFailed(state: SinkState, error: unknown): void {
    state.stats.enqueued++
    totals.enqueued++
    counters.drop(state.sink.name, state.stats, 'mapping_failed', 1, error, { quiet: true })
  }

  /** Buffers `item` for the sink of `state`, or drops it when its share is full; a full batch is sent in the background. */
  function accept(state: SinkState, item: unknown, recoveredId?: number): void {
    state.stats.enqueued++
    totals.enqueued++
    if (!makeRoom(state)) {
      // A recovered item dropped for good is acknowledged, so it is not replayed at every start.
      if (recoveredId !== undefined) spool!.acknowledge(state.sink.name, [recoveredId])
      counters.drop(state.sink.name, state.stats, 'queue_full', 1)
      forgetIfIdle(state)
      return
    }
    hold(state, 1)
    // Spooled only once the sink has accepted it, so an item refused as queue_full never is; a
    // recovered item keeps its record. Without a spool this is the only per-item cost: one check.
    const spoolId = spool === undefined ? undefined : (recoveredId ?? spool.append(state.sink.name, [item])[0])
    state.buffer.push({ item, seq: ++seq, spoolId })
    state.stats.pending++
    if (buffered(state) >= state.maxBatchSize) {
      // Never send on the caller's stack: the send (encoding, the request) happens at the next turn.
      if (state.inFlight < state.concurrency) makeReady(state)
    } else if (!state.timer && state.inFlight < state.concurrency) startTimer(state)
  }

  function stateOf(sink: Sink<unknown>): SinkState {
    let state = states.get(sink)
    if (state) return state
    state = createSinkState(sink, settings, counters.sink(sink.name))
    states.set(sink, state)
    if (spool !== undefined && !closed) replay(state)
    return state
  }

  /**
   * Enqueues what an earlier process spooled for this sink's name and never got acknowledged, ahead
   * of the new item that made the sink appear. The spool hands each name's records out once.
   */
  function replay(state: SinkState): void {
    const records = spool!.recover(state.sink.name)
    if (records.length === 0) return
    for (const record of records) accept(state, record.item, record.id)
    // A full share may have forgotten the state while replaying; the caller goes on with it.
    if (!states.has(state.sink)) states.set(state.sink, state)
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
    let retried = false
    try {
      const outcome = await sendWithRetries(state.sink, items, settings, controller.signal, () => {
        state.stats.retries++
        totals.retries++
        if (!retried) lowerInFlightLimit(state)
        retried = true
      })
      if (!retried && !(outcome && 'reason' in outcome)) raiseInFlightLimit(state, buffered(state))
      // close() may have counted this batch as dropped already, when it ran out of time.
      if (batch.settled) return
      batch.settled = true
      for (const [entries, dropped] of batchOutcome(batch.entries, outcome)) settle(state, entries, dropped)
    } finally {
      state.inFlight--
      state.sending.delete(batch)
      pump(state)
    }
  }

  /**
   * Counts `batch` delivered, or dropped; every outcome goes through here. The spool is told of every
   * outcome but `closed`: those items are what the next process sends again.
   */
  function settle(state: SinkState, batch: Entry[], dropped: Dropped | undefined, quiet = false): void {
    const count = batch.length
    if (count === 0) return
    if (spool !== undefined && dropped?.reason !== 'closed') {
      const ids = spoolIdsOf(batch)
      if (ids.length > 0) spool.acknowledge(state.sink.name, ids)
    }
    state.stats.pending -= count
    release(state, count)
    if (dropped) counters.drop(state.sink.name, state.stats, dropped.reason, count, dropped.error, { quiet })
    else {
      state.stats.delivered += count
      totals.delivered += count
    }
    waiters.settled(batch)
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
    const waiting = waiters.wait(seq, totals.held)
    for (const state of states.values()) {
      state.due = buffered(state)
      pump(state)
    }
    return waiting
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
    // Out of time: what is in flight or waiting to retry is aborted, and everything held dropped.
    controller.abort(new DeliveryError('The delivery queue was closed.', { retryable: false }))
    // Quiet: close() reports all of them at once.
    const dropped = dropEverything(states.values(), (state, entries) => settle(state, entries, { reason: 'closed', error: undefined }, true))
    counters.reportClosed(dropped, timeoutMs)
  }

  const queue: DeliveryQueue = {
    enqueue(sink, item) {
      try {
        if (closed) refuse(sink as Sink<unknown>, 'closed')
        else {
          accept(stateOf(sink as Sink<unknown>), item)
          turns.handedOver()
        }
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
        handOver({ state, source, map: map as (source: unknown) => unknown, onError })
        turns.handedOver()
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
      // The spool is closed last: it writes the acknowledgements of what close() delivered.
      closing ??= closeWithin(options.timeoutMs ?? settings.closeTimeoutMs).then(() => spool?.close())
      return closing
    },

    turnNeeded: turns.turnNeeded,

    replay(sink) {
      // stateOf() replays a sink it meets for the first time; a sink already held has been replayed.
      if (spool !== undefined && !closed && spool.recoveredSinks().includes(sink.name)) forgetIfIdle(stateOf(sink as Sink<unknown>))
    },

    stats() {
      mapPending()
      const snapshot = counters.snapshot()
      if (spool !== undefined) snapshot.spool = spool.stats()
      return snapshot
    },
  }
  return queue
}
