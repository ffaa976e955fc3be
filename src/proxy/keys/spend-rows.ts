/**
 * One spend-log row per call in PostgreSQL: the row and the table of `postgres()` (LiteLLM's
 * `LiteLLM_SpendLogs` columns, src/integrations/spend-log.ts, src/delivery/postgres-sink.ts), written
 * through the client's delivery queue. With virtual keys the row's `api_key` is the key's hash and
 * `user` / `team_id` its owners (from the identity the spend layer stamps into the metadata).
 *
 * A spend row must outlast an outage: the sink here does not give a batch up while PostgreSQL is
 * unreachable, it keeps trying (backoff from 0.5 s, doubling, at most 30 s) until the batch is written
 * or the queue closes it. Rows held meanwhile wait in the queue (its `maxSizePerSink`, 10,000 by
 * default); with `--spool` they are on disk too and are written after a restart. A row refused for a
 * reason a retry cannot fix is retried three times, then dropped and counted like any other drop.
 */
import { postgresSink } from '../../delivery/postgres-sink'
import { DeliveryError, type Sink } from '../../delivery/sink'
import { defineExporter } from '../../integrations/exporter'
import { toSpendLogRow, type SpendLogRow } from '../../integrations/spend-log'
import type { Middleware } from '../../types'

/** Where rows go. */
export interface SpendRowsOptions {
  connectionString: string
  /** Default `public`, as `postgres()`. */
  schema?: string
  /** Default `llm_onion_spend_logs`, as `postgres()`: a `postgres` callback writing there adds no second copy (rows share `request_id`). */
  table?: string
  /** Longest wait between two tries (default 30,000 ms); tests shorten it. */
  maxBackoffMs?: number
}

/** The default table of spend rows, shared with `postgres()`. */
export const spendRowsDefaults = { schema: 'public', table: 'llm_onion_spend_logs' } as const

/**
 * The layer that writes every call's spend-log row.
 *
 * @example
 * ```ts
 * layers.unshift(spendRows({ connectionString: process.env.DATABASE_URL! }))
 * ```
 */
export function spendRows(options: SpendRowsOptions): Middleware {
  const sink = patientSink(
    postgresSink({
      name: 'spend_logs',
      connectionString: options.connectionString,
      schema: options.schema ?? spendRowsDefaults.schema,
      table: options.table ?? spendRowsDefaults.table,
    }),
    options.maxBackoffMs ?? 30_000,
  )
  return defineExporter<SpendLogRow>({ name: 'spendLogs', sink, moments: ['success', 'failure'], toItems: toSpendLogRow })
}

/** Tries a refused batch this many times before giving it up; an unreachable database, without end. */
const refusedTries = 3

/**
 * `sink`, but a batch is tried again and again while the failure is retryable, until it is sent or
 * `signal` aborts (the queue closing).
 *
 * @example
 * ```ts
 * const sink = patientSink(postgresSink({ ... }), 30_000)
 * ```
 */
export function patientSink<Item>(sink: Sink<Item>, maxBackoffMs: number): Sink<Item> {
  return {
    name: sink.name,
    maxBatchSize: sink.maxBatchSize,
    maxConcurrency: 1,
    async send(items, signal) {
      let refused = 0
      for (let attempt = 0; ; attempt++) {
        try {
          return await sink.send(items, signal)
        } catch (error) {
          const delivery = error instanceof DeliveryError ? error : undefined
          if (delivery?.unencodable || signal.aborted) throw error
          // A refusal (a unique violation while two replicas create the table) may pass on a second try.
          if (delivery !== undefined && !delivery.retryable && ++refused >= refusedTries) throw error
          await pause(Math.min(maxBackoffMs, 500 * 2 ** Math.min(attempt, 16)), signal)
          if (signal.aborted) throw error
        }
      }
    },
    close: () => sink.close?.() ?? Promise.resolve(),
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    timer.unref()
    signal.addEventListener('abort', done, { once: true })
    function done() {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
  })
}
