import { createDeliveryQueue, validateDeliveryQueueOptions, type DeliveryQueue, type DeliveryQueueOptions } from './delivery-queue'
import type { RedactOptions } from './redact'
import { createSecretScrubber, type SecretScrubber } from './secret-scrubber'

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
  /** Keeps a background promise for `flush()`; its rejection is reported, never thrown. */
  track(promise: Promise<unknown>): void
  /** Sends an isolated hook's error to the client's `onHookError`. */
  reportHookError(error: unknown, hook: string): void
  /** Runs `fn` once when the client closes (exporters stop timers, providers free sockets). */
  onClose(fn: () => Promise<void> | void): void
  flush(): Promise<void>
  close(): Promise<void>
}

export function createServices(options: {
  redact?: RedactOptions
  onHookError?: HookErrorHandler
  queue?: DeliveryQueueOptions
  secrets?: ReadonlyArray<string>
}): ClientServices {
  const pending = new Set<Promise<unknown>>()
  const closers: Array<() => Promise<void> | void> = []
  const warned = new Set<string>()
  const secrets = createSecretScrubber(options.secrets)
  let queue: DeliveryQueue | undefined
  // The queue is made on first use; its options are checked now, so a bad one fails createClient().
  if (options.queue) validateDeliveryQueueOptions(options.queue)
  const reportHookError: HookErrorHandler =
    options.onHookError ??
    ((error, hook) => {
      if (warned.has(hook)) return
      warned.add(hook)
      const message = secrets.scrub(error instanceof Error ? error.message : String(error))
      console.warn(`[llm-onion] hook ${hook} failed and was skipped (the call is unaffected): ${message}. Further failures of this hook are not shown; pass onHookError to createClient to see them all.`)
    })

  const services: ClientServices = {
    redact: options.redact ?? {},
    secrets,
    get queue() {
      queue ??= createDeliveryQueue(options.queue)
      return queue
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
    async flush() {
      while (pending.size > 0) await Promise.all(pending)
      if (queue) await queue.flush()
      // Deliveries may have registered more background work.
      while (pending.size > 0) await Promise.all(pending)
    },
    async close() {
      await services.flush()
      if (queue) await queue.close()
      for (const close of closers.splice(0)) await close()
    },
  }
  return services
}
