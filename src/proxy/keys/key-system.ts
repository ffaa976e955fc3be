/**
 * Virtual keys, spend and limits, put together for one proxy: on when the proxy has a master key (as
 * in LiteLLM, which manages keys with it). Keys, users and teams live in PostgreSQL when
 * `database_url` / `DATABASE_URL` is set, else in this process's memory (lost on restart). Counters
 * live in the proxy's shared store (`ctx.store`: Redis or memory, docs/shared-state.md).
 */
import cluster from 'node:cluster'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { SharedStore } from '../../shared-state/store'
import type { Middleware } from '../../types'
import type { AuthCheck } from '../auth'
import type { OriginPolicy } from '../origin-policy'
import { createKeyAccess, type KeyAccess } from './access'
import { openDatabase, type Database } from './database'
import { createKeyDirectory } from './key-directory'
import { createKeyService } from './key-service'
import type { KeySettings } from './key-settings'
import { createManagementRoutes } from './management-routes'
import { memoryKeyRepository } from './memory-repository'
import { postgresKeyRepository } from './postgres-repository'
import { createRateWindows } from './rate-windows'
import { createCounterBuffer, type CounterBuffer } from './counter-buffer'
import { spendLayer } from './spend-layer'
import { spendRows, spendRowsDefaults } from './spend-rows'

/**
 * How often spend and token counts go to the store, and how old a total read from it may be: another
 * worker or replica sees a call's spend within the sum (docs/proxy.md, "Budgets").
 */
export const counterIntervals = { flushMs: 10, maxAgeMs: 100 } as const

/** The schema of the keys, users and teams tables. */
export const keysSchema = 'llm_onion'

/** What the proxy needs from its key system. */
export interface KeySystem {
  access: KeyAccess
  /** Outermost layers, in order: the spend layer, then the spend-log rows (with a database). */
  layers: Middleware[]
  /** Their names for the start-up summary. */
  names: string[]
  /** Answers the management and spend routes (`managementPaths`). */
  manage(request: IncomingMessage, response: ServerResponse, path: string, query: URLSearchParams): Promise<void>
  /** The spend and token counters the spend layer adds to (the budget alerts read them). */
  counters: CounterBuffer
  /** Where keys are kept, for the start-up summary. */
  describe(): string
  close(): Promise<void>
}

/**
 * Builds the key system.
 *
 * @example
 * ```ts
 * const keys = createKeySystem({ settings: config.keys, isMaster, store, policy, maxBodyBytes })
 * ```
 */
export function createKeySystem(options: { settings: KeySettings; isMaster: AuthCheck; store: SharedStore; policy: OriginPolicy; maxBodyBytes: number }): KeySystem {
  const { settings } = options
  const database: Database | undefined = settings.databaseUrl === undefined ? undefined : openDatabase({ connectionString: settings.databaseUrl, timeoutMs: 5_000 })
  const repository = database ? postgresKeyRepository(database, keysSchema) : memoryKeyRepository()
  const store = options.store
  const warnings = new Map<string, number>()
  const warnOncePerMinute = (what: string, message: string) => {
    if (Date.now() - (warnings.get(what) ?? 0) < 60_000) return
    warnings.set(what, Date.now())
    console.warn(message)
  }
  // Spend and tokens: one increment per counter every 10 ms, reads at most 100 ms old (src/proxy/keys/counter-buffer.ts).
  const counters = createCounterBuffer(store, {
    ...counterIntervals,
    onError: (error) => warnOncePerMinute('counts', `[llm-onion] the shared store did not take spend and token counts (${(error as Error).message}); they are kept and sent again.`),
  })
  // A key changed on another worker or replica is seen here within about 110 ms (src/proxy/keys/key-directory.ts).
  const directory = createKeyDirectory(repository, { ttlMs: settings.cacheTtlMs, changes: { counters } })
  // Slots of max_parallel_requests given back wait up to a flush interval for the key's next request (src/proxy/keys/rate-windows.ts).
  const windows = createRateWindows(store, counters, {
    windowMs: settings.windowMs,
    holdMs: counterIntervals.flushMs,
    onError: (error) => warnOncePerMinute('slots', `[llm-onion] could not give slots of max_parallel_requests back to the shared store (${(error as Error).message}); this process keeps them and tries again (they expire within 10 minutes).`),
  })
  const access = createKeyAccess({ isMaster: options.isMaster, directory, counters, windows, allowOnDbUnavailable: settings.allowOnDbUnavailable })
  const service = createKeyService({ directory, counters })
  const layers: Middleware[] = [spendLayer({ counters, windows, tokenCount: settings.tokenCount })]
  const names = ['keySpend']
  if (settings.databaseUrl !== undefined && !settings.disableSpendLogs) {
    layers.push(spendRows({ connectionString: settings.databaseUrl }))
    names.push(`spendLogs(${spendRowsDefaults.schema}.${spendRowsDefaults.table})`)
  }
  const tables = database ? { spendLogs: `"${spendRowsDefaults.schema}"."${spendRowsDefaults.table}"`, teams: `"${keysSchema}"."LiteLLM_TeamTable"` } : undefined
  const manage = createManagementRoutes({ service, access, isMaster: options.isMaster, policy: options.policy, maxBodyBytes: options.maxBodyBytes, ...(database ? { database, tables } : {}) })
  return {
    access,
    layers,
    names,
    manage,
    counters,
    describe: () =>
      database
        ? `virtual keys in PostgreSQL (schema ${keysSchema}), spend rows in ${spendRowsDefaults.schema}.${spendRowsDefaults.table}${settings.disableSpendLogs ? ' (off: disable_spend_logs)' : ''}`
        : `virtual keys in memory (lost on restart${cluster.isWorker ? '; each worker has its own, so a key made through one is unknown to the others' : ''}; set DATABASE_URL to keep and share them)`,
    async close() {
      // The counts of the last calls, and the slots held for the next ones, go to the store before it closes.
      await Promise.all([counters.flush(), windows.release()])
      await repository.close()
    },
  }
}

