/**
 * Opening the delivery queue's durable spool from its `spool` option: a directory, or
 * `{ dir, maxBytes, segmentBytes, flushIntervalMs }`. A directory that cannot be created or locked
 * fails the queue's creation (and so `createClient()`), naming the option and the directory.
 */
import { openSpool, type Spool } from './spool'
import type { QueueSpoolOptions } from './queue-options'

/**
 * Opens the spool the queue's `spool` option names, reading what earlier processes left there.
 *
 * @example
 * ```ts
 * const spool = openQueueSpool('./.llm-onion-spool')
 * const [id] = spool.append('posthog', [event])
 * ```
 */
export function openQueueSpool(option: string | QueueSpoolOptions): Spool {
  const options = typeof option === 'string' ? { dir: option } : option
  try {
    return openSpool(options)
  } catch (error) {
    const message = (error as Error).message.replace(/openSpool\(\{ dir \}\)/g, 'queue.spool')
    throw new Error(`Invalid queue.spool option (createClient({ queue: { spool: ${JSON.stringify(options.dir)} } })): ${message}`, { cause: error })
  }
}
