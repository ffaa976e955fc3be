/**
 * The cancellation of one call, created only when something needs it. Most calls are never
 * cancelled, and on Node 20 an `AbortController` costs microseconds to create and each
 * `addEventListener` on its signal about one more: a proxy serving thousands of calls a second
 * spent a noticeable share of its CPU on signals nobody aborted (docs/benchmarks.md). So the
 * controller exists once a layer reads `ctx.signal` or someone aborts the call; until then the
 * transports that can (`openai({ transport: 'http' })`) wait for an abort through {@link CallAbort.onAbort},
 * which costs an array push.
 */
import { AbortError } from './errors'

/** @internal one per call, held by its context */
export class CallAbort {
  #controller?: AbortController
  /** A narrower signal a layer set as `ctx.signal` (a timeout layer's), while it is set. */
  #narrowed?: AbortSignal
  /** Listeners waiting for a controller that does not exist yet; a removed one leaves a hole. */
  #pending?: Array<(() => void) | undefined>
  #releaseCaller?: () => void

  /** Links the caller's `options.signal`: its abort aborts the call. Undo it with {@link release}. */
  constructor(callerSignal?: AbortSignal) {
    if (!callerSignal) return
    if (callerSignal.aborted) {
      this.controller.abort(new AbortError('The call was cancelled before it started.'))
      return
    }
    const onAbort = () => this.controller.abort(new AbortError())
    callerSignal.addEventListener('abort', onAbort, { once: true })
    // A long-lived signal reused across calls must not collect one listener per call.
    this.#releaseCaller = () => callerSignal.removeEventListener('abort', onAbort)
  }

  /** The call's own controller, created on first use; aborting it cancels the call. */
  get controller(): AbortController {
    if (this.#controller) return this.#controller
    const controller = (this.#controller = new AbortController())
    if (this.#pending) {
      for (const listener of this.#pending) if (listener) controller.signal.addEventListener('abort', listener, { once: true })
      this.#pending = undefined
    }
    return controller
  }

  /** What layers see as `ctx.signal`: the narrowed signal when a layer set one, else the controller's. */
  get signal(): AbortSignal {
    return this.#narrowed ?? this.controller.signal
  }

  set signal(signal: AbortSignal) {
    this.#narrowed = signal === this.#controller?.signal ? undefined : signal
  }

  /** True once the signal layers see is aborted; creates nothing. */
  get aborted(): boolean {
    return (this.#narrowed ?? this.#controller?.signal)?.aborted ?? false
  }

  /**
   * Calls `listener` once the signal layers see now aborts, and returns the function that stops
   * listening. Before anything created the controller this only remembers the listener.
   */
  onAbort(listener: () => void): () => void {
    const signal = this.#narrowed ?? this.#controller?.signal
    if (signal) {
      signal.addEventListener('abort', listener, { once: true })
      return () => signal.removeEventListener('abort', listener)
    }
    const pending = (this.#pending ??= [])
    const index = pending.push(listener) - 1
    return () => {
      if (this.#pending === pending) pending[index] = undefined
      else this.#controller!.signal.removeEventListener('abort', listener)
    }
  }

  /** Stops following the caller's signal; the call is over. */
  release(): void {
    this.#releaseCaller?.()
  }
}
