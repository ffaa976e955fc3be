import type { Context } from '../context'
import type { CallEvent } from '../event'
import type { Middleware } from '../types'

/** What {@link createRecorder} returns: a layer plus everything it saw. */
export interface Recorder {
  /** Put it where you want to observe: outermost sees calls, inside a retry sees attempts. */
  readonly layer: Middleware
  /** The event of every finished call, in the order they finished. */
  readonly events: CallEvent[]
  /** The context of every call, in the order they started. */
  readonly contexts: Context[]
  /** Forgets everything recorded so far. */
  clear(): void
}

/**
 * Records the event of every call that passes through it, for tests of your own layers.
 *
 * @example
 * ```ts
 * const recorder = createRecorder()
 * const client = createClient().use(recorder.layer, myLayer)
 * await client.chat({ model: 'mock/x', messages })
 * expect(recorder.events[0].status).toBe('success')
 * ```
 */
export function createRecorder(): Recorder {
  const events: CallEvent[] = []
  const contexts: Context[] = []
  async function recorder(ctx: Context, next: () => Promise<void>): Promise<void> {
    contexts.push(ctx)
    try {
      await next()
    } finally {
      events.push(ctx.toEvent())
    }
  }
  return {
    layer: recorder,
    events,
    contexts,
    clear() {
      events.length = 0
      contexts.length = 0
    },
  }
}
