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
 * The turns of a queue of `maxSize` items: asked for once `maxSize / 8` items arrived since its last
 * turn, then given while it is over half full and still draining.
 *
 * @example
 * ```ts
 * const turns = createQueueTurns({ maxSize: 10_000, held: () => totals.held, closed: () => closed })
 * ```
 */
export function createQueueTurns(queue: { maxSize: number; held: () => number; closed: () => boolean }): QueueTurns {
  const askedAt = Math.max(64, Math.floor(queue.maxSize / 8))
  let sinceTurn = 0
  let giving: Promise<void> | undefined

  /**
   * At least one turn (its poll phase is where the sinks' answers come in), more while the queue is
   * over half full and still draining. A sink that does not drain (down, slow) is not waited for:
   * after 50 turns without progress the caller goes on, and the queue drops as it always does.
   */
  async function giveTurns(): Promise<void> {
    let lowest = Number.POSITIVE_INFINITY
    let turnsWithoutProgress = 0
    do {
      await new Promise<void>((resolve) => setImmediate(resolve))
      sinceTurn = 0
      const held = queue.held()
      if (held < lowest) {
        lowest = held
        turnsWithoutProgress = 0
      } else turnsWithoutProgress++
    } while (queue.held() > queue.maxSize / 2 && turnsWithoutProgress < 50 && !queue.closed())
    giving = undefined
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
