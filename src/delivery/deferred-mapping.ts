/**
 * The hand-off of `enqueueMapped()`: a call leaves its event with the exporter's mapping, and the
 * mapping runs later (the queue's next turn, or at once when `flush()`, `close()` or `stats()` needs
 * every item), so a call pays for the hand-off only.
 */
import type { SinkState, Unmapped } from './buffer'

/** What the mapping needs of the queue it feeds. */
export interface MappedInto {
  /** Gives back the room held for `count` hand-offs. */
  release(state: SinkState, count: number): void
  /** Buffers one mapped item. */
  accept(state: SinkState, item: unknown): void
  /** Counts an item whose mapping threw. */
  mappingFailed(state: SinkState, error: unknown): void
  /** Forgets a sink that holds nothing any more. */
  forgetIfIdle(state: SinkState): void
}

/**
 * The hand-offs waiting to be mapped into `queue`.
 *
 * @example
 * ```ts
 * const deferred = createDeferredMapping({ release, accept, mappingFailed, forgetIfIdle })
 * deferred.add({ state, source: event, map: toItems, onError })
 * deferred.mapPending()
 * ```
 */
export function createDeferredMapping(queue: MappedInto) {
  let unmapped: Unmapped[] = []
  return {
    add(entry: Unmapped): void {
      unmapped.push(entry)
    },
    /** Maps every item handed over so far. */
    mapPending(): void {
      if (unmapped.length === 0) return
      const work = unmapped
      unmapped = []
      for (const entry of work) {
        const { state } = entry
        // The room held for the hand-off goes back; the mapped items take room of their own.
        queue.release(state, 1)
        let items: unknown
        try {
          items = entry.map(entry.source)
        } catch (error) {
          queue.mappingFailed(state, error)
          try {
            entry.onError(error)
          } catch {
            // An error handler that throws must not stop the other items.
          }
          queue.forgetIfIdle(state)
          continue
        }
        if (items === undefined) queue.forgetIfIdle(state)
        else if (Array.isArray(items)) for (const item of items) queue.accept(state, item)
        else queue.accept(state, items)
      }
    },
  }
}
