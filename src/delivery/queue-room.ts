/**
 * The delivery queue's bound: how many items each sink and the whole queue may hold, shared fairly
 * when the queue is full, so a dead or slow sink only ever loses its own items.
 */
import { buffered, type SinkState } from './buffer'

/** What the bound needs of its queue. */
export interface QueueRoomOptions {
  /** Items the whole queue holds at most. */
  maxSize: number
  /** Items one sink holds at most. */
  maxSizePerSink: number
  /** The queue's running totals: `held` is kept here. */
  totals: { held: number }
  /** Every sink the queue holds state for. */
  states: ReadonlyMap<unknown, SinkState>
  /** Drops the oldest waiting item of `state` as `queue_full`, to make room for another sink's. */
  evictOldest: (state: SinkState) => void
}

/**
 * The bound of one queue: `makeRoom(state)` says whether the sink of `state` may take one more item
 * (evicting another sink's when that one holds more than its share), `hold` and `release` count
 * what the sinks hold.
 *
 * @example
 * ```ts
 * const room = createQueueRoom({ maxSize: 1000, maxSizePerSink: 1000, totals, states, evictOldest })
 * if (room.makeRoom(state)) room.hold(state, 1)
 * ```
 */
export function createQueueRoom(options: QueueRoomOptions) {
  const { maxSize, maxSizePerSink, totals, states, evictOldest } = options
  /** Sinks holding at least one item: the queue's fair share is `maxSize` over this many. */
  let activeSinks = 0
  return {
    hold(state: SinkState, count: number): void {
      if (state.held === 0) activeSinks++
      state.held += count
      totals.held += count
    },

    release(state: SinkState, count: number): void {
      state.held -= count
      totals.held -= count
      if (state.held === 0) activeSinks--
    },

    /**
     * Whether `state` may hold one more item. Each sink has its own bound, and a full queue is shared
     * fairly: a sink below an equal share takes the room of the oldest waiting item of the sink holding
     * the most (dropped as `queue_full` for that sink), so a dead or slow sink never starves the others.
     */
    makeRoom(state: SinkState): boolean {
      if (state.held >= maxSizePerSink) return false
      if (totals.held < maxSize) return true
      const share = maxSize / (activeSinks + (state.held === 0 ? 1 : 0))
      if (state.held + 1 > share) return false
      let largest: SinkState | undefined
      for (const other of states.values()) {
        if (other !== state && buffered(other) > 0 && other.held > share && (!largest || other.held > largest.held)) largest = other
      }
      if (!largest) return false
      evictOldest(largest)
      return true
    },
  }
}
