/**
 * What a sink is to the delivery queue: the interface every place events go to implements, and what
 * its `send` may resolve with. Types only, in a file of their own so the queue's options
 * (src/delivery/queue-options.ts) and the sending code (src/delivery/sink.ts) can both name them
 * without importing each other.
 */

/**
 * Where a batch of items goes (an HTTP endpoint, a file).
 *
 * @example
 * ```ts
 * const sink: Sink<CallEvent> = { name: 'stdout', maxBatchSize: 50, async send(events) { console.log(events.length) } }
 * ctx.services.queue.enqueue(sink, ctx.toEvent())
 * ```
 */
export interface Sink<Item = unknown> {
  /** Names the sink in counters and warnings (`helicone`, `langfuse`). */
  readonly name: string
  /** Largest batch `send` receives; default 100. */
  readonly maxBatchSize?: number
  /** Batches of this sink in flight at once; default the queue's `concurrency` (4). */
  readonly maxConcurrency?: number
  /**
   * Delivers a batch; throw a {@link DeliveryError} to say whether a retry can help (anything else is
   * retried). A sink that sent the batch without some items it could not encode resolves with their
   * indexes ({@link SendResult}): only those are dropped, as `unencodable`.
   */
  send(items: Item[], signal: AbortSignal): Promise<void | SendResult>
  /**
   * Frees what the sink holds open (an HTTP sink's keep-alive connections); optional. Exporters call
   * it when a client that used the sink closes. The sink must still work afterwards (another client
   * may share it): a later `send` opens what it needs again.
   */
  close?(): Promise<void>
}

/**
 * What a `send` may resolve with: the items of the batch it left out because they could not be
 * encoded (by index in the batch), each with its error. The others count as delivered.
 *
 * @example
 * ```ts
 * return { unencodable: [{ index: 3, error: new TypeError('Converting circular structure to JSON') }] }
 * ```
 */
export interface SendResult {
  unencodable?: Array<{ index: number; error: unknown }>
}
