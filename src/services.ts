import { createWorkerDeliveryQueue } from './delivery/worker-queue'
import { createDeliveryQueue, validateDeliveryQueueOptions, type DeliveryQueue, type DeliveryQueueOptions, type FlushOptions } from './delivery/queue'
import { settlesWithin, timeLeft } from './delivery/deadline'
import type { RedactOptions } from './redact'
import { createSecretScrubber, type SecretScrubber } from './secret-scrubber'
import { memoryStore } from './shared-state/memory-store'
import type { SharedStore } from './shared-state/store'

/** Reports an error thrown by an isolated hook (observer, CustomLogger, integration). */
export type HookErrorHandler = (error: unknown, hook: string) => void

/**
 * What a client shares with every call it makes: background work, the delivery queue,
 * redaction and where hook errors go. Layers reach it through `ctx.services`.
 */
export interface ClientServices {
  readonly redact: RedactOptions
  /** Replaces every credential the client knows in strings that leave the process (src/secret-scrubber.ts). */
  readonly secrets: SecretScrubber
  /** The one delivery queue every exporter of this client enqueues to. */
  readonly queue: DeliveryQueue
  /**
   * The shared store (counters, values, sliding windows) every call reaches as `ctx.store`: the
   * client's `store` option, else an in-memory store of this client's own (docs/shared-state.md).
   */
  readonly store: SharedStore
  /** Whether the queue has a durable spool (`queue.spool`): exporters' leftovers are replayed when they are added. */
  readonly spooled: boolean
  /** Keeps a background promise for `flush()`; its rejection is reported, never thrown. */
  track(promise: Promise<unknown>): void
  /** Sends an isolated hook's error to the client's `onHookError`. */
  reportHookError(error: unknown, hook: string): void
  /** Runs `fn` once when the client closes (exporters stop timers, providers free sockets). */
  onClose(fn: () => Promise<void> | void): void
  /** The queue's `turnNeeded()` (src/delivery/queue-options.ts), read after every call: `undefined` while no exporter made the queue. */
  turnNeeded(): Promise<void> | undefined
  /** Waits for background work and the queue; with `timeoutMs`, at most that long. */
  flush(options?: FlushOptions): Promise<void>
  /**
   * Flushes and closes the queue, then runs the `onClose` functions, all within `timeoutMs` (default
   * the queue's `closeTimeoutMs`): it always returns by then, and keeps the process alive until it does.
   */
  close(options?: FlushOptions): Promise<void>
}

export function createServices(options: {
  redact?: RedactOptions
  onHookError?: HookErrorHandler
  queue?: DeliveryQueueOptions
  secrets?: ReadonlyArray<string>
  store?: SharedStore
}): ClientServices {
  const pending = new Set<Promise<unknown>>()
  const closers: Array<() => Promise<void> | void> = []
  const warned = new Set<string>()
  let queueClosed = false
  const secrets = createSecretScrubber(options.secrets)
  let queue: DeliveryQueue | undefined
  // The queue is made on first use; its options are checked now, so a bad one fails createClient().
  const { closeTimeoutMs, spool } = validateDeliveryQueueOptions(options.queue ?? {})
  // With a spool, the queue is made now: a spool directory that cannot be used fails createClient(),
  // and the queue holds the directory (one process per directory) from the start.
  const makeQueue = (): DeliveryQueue => (options.queue?.worker ? createWorkerDeliveryQueue(options.queue) : createDeliveryQueue(options.queue))
  if (spool !== undefined) queue = makeQueue()
  const reportHookError: HookErrorHandler =
    options.onHookError ??
    ((error, hook) => {
      if (warned.has(hook)) return
      warned.add(hook)
      const message = secrets.scrub(error instanceof Error ? error.message : String(error))
      console.warn(`[llm-onion] hook ${hook} failed and was skipped (the call is unaffected): ${message}. Further failures of this hook are not shown; pass onHookError to createClient to see them all.`)
    })

  let store = options.store
  const services: ClientServices = {
    redact: options.redact ?? {},
    get store() {
      // Made on first use: most clients never count anything.
      store ??= memoryStore()
      return store
    },
    secrets,
    spooled: spool !== undefined,
    get queue() {
      if (!queue) {
        queue = makeQueue()
        // Made after close() (a client made with with() still calling): it takes nothing, as a closed one.
        if (queueClosed) void queue.close({ timeoutMs: 0 })
      }
      return queue
    },
    turnNeeded() {
      return queue?.turnNeeded?.()
    },
    track(promise) {
      const tracked = promise.then(
        () => undefined,
        (error) => services.reportHookError(error, 'waitUntil'),
      )
      pending.add(tracked)
      void tracked.finally(() => pending.delete(tracked))
    },
    reportHookError(error, hook) {
      try {
        reportHookError(error, hook)
      } catch {
        // An error handler that throws must not fail the call either.
      }
    },
    onClose(fn) {
      closers.push(fn)
    },
    async flush(flushOptions = {}) {
      const deadline = flushOptions.timeoutMs === undefined ? undefined : Date.now() + flushOptions.timeoutMs
      await settleTracked(deadline)
      if (queue) await queue.flush(deadline === undefined ? {} : { timeoutMs: timeLeft(deadline) })
      // Deliveries may have registered more background work.
      await settleTracked(deadline)
    },
    async close(closeOptions = {}) {
      const timeoutMs = closeOptions.timeoutMs ?? closeTimeoutMs
      const deadline = Date.now() + timeoutMs
      // Not unref'd, on purpose: retry timers are, and without this Node would exit in the middle of close().
      const keepAlive = setTimeout(() => {}, timeoutMs + 1_000)
      try {
        await settleTracked(deadline)
        if (queue) await queue.close({ timeoutMs: timeLeft(deadline) })
        queueClosed = true
        // A closer that hangs (a pool waiting on a silent peer) is left behind at the deadline.
        for (const close of closers.splice(0)) await settlesWithin(Promise.resolve().then(close), timeLeft(deadline))
      } finally {
        clearTimeout(keepAlive)
      }
    },
  }

  /** Waits for the `track`ed promises, at most until `deadline`. */
  async function settleTracked(deadline: number | undefined): Promise<void> {
    while (pending.size > 0) {
      if (deadline === undefined) await Promise.all(pending)
      else if (!(await settlesWithin(Promise.all(pending), timeLeft(deadline)))) return
    }
  }
  return services
}
