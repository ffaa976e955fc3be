/**
 * Turns of the event loop for callers that give the queue none: a loop of calls that never wait on
 * the network (a mock provider, answers from a cache's memory) never leaves the microtask queue, and
 * the queue maps, sends and hears its sinks' answers only between turns. Without turns such a loop
 * fills the queue, and its items are dropped as `queue_full` while every sink is healthy.
 */

/** What the queue tells its turns, and the `turnNeeded()` it gives its callers. */
export interface QueueTurns {
  /** An item was handed over. */
  handedOver(): void
  /** The queue's background work ran: it had a turn. */
  queueRan(): void
  /** See `DeliveryQueue.turnNeeded` (src/delivery/queue-options.ts). */
  turnNeeded(): Promise<void> | undefined
}

/**
 * How long a loop waits for a queue that holds no fewer items before it goes on: longer than a
 * cloud service takes to answer a batch, so a loop is paced by a slow sink rather than losing to it.
 */
export const drainPatienceMs = 1_000

/**
 * The turns of a queue of `maxSize` items: asked for once `maxSize / 8` items arrived since its last
 * turn. `room(below, patienceMs)` gives the queue its turns and resolves with what it holds once it
 * holds `below` items or fewer (half of `maxSize`) or held no fewer for `patienceMs`. A queue that
 * stopped draining (its sinks down or silent) is waited for once; after that the caller only gets
 * one turn, until the queue holds fewer items than when it stopped.
 *
 * @example
 * ```ts
 * const turns = createQueueTurns({ maxSize: 10_000, room: (below, patienceMs) => drained(() => totals.held, below, patienceMs) })
 * ```
 */
export function createQueueTurns(queue: { maxSize: number; room: (below: number, patienceMs: number) => Promise<number> }): QueueTurns {
  const askedAt = Math.max(64, Math.floor(queue.maxSize / 8))
  const below = Math.floor(queue.maxSize / 2)
  let sinceTurn = 0
  let giving: Promise<void> | undefined
  /** What the queue held when it last stopped draining while a caller waited. */
  let stalledAt: number | undefined

  async function giveTurns(): Promise<void> {
    sinceTurn = 0
    try {
      const held = await queue.room(below, stalledAt === undefined ? drainPatienceMs : 0)
      // Stalled while it holds no fewer than when it stopped; draining again once it holds fewer.
      stalledAt = held > below && (stalledAt === undefined || held >= stalledAt) ? held : undefined
    } finally {
      giving = undefined
    }
  }

  return {
    handedOver() {
      sinceTurn++
    },
    queueRan() {
      sinceTurn = 0
    },
    turnNeeded() {
      if (sinceTurn < askedAt) return undefined
      return (giving ??= giveTurns())
    },
  }
}

/**
 * Resolves with `held()` once it is `below` or fewer, or once it was no fewer for `patienceMs` (at
 * once with 0), or when `closed()`. It checks every millisecond; the event loop turns meanwhile, so
 * sinks send and hear their answers.
 *
 * @example
 * ```ts
 * const held = await drained(() => queue.stats().pending, 5_000, drainPatienceMs)
 * ```
 */
export async function drained(held: () => number, below: number, patienceMs: number, closed: () => boolean = () => false): Promise<number> {
  let fewest = Number.POSITIVE_INFINITY
  let fewestAt = 0
  for (;;) {
    const now = held()
    if (now <= below || patienceMs === 0 || closed()) return now
    if (now < fewest) {
      fewest = now
      fewestAt = Date.now()
    } else if (Date.now() - fewestAt >= patienceMs) return now
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
}
