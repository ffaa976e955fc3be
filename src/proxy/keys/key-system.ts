/**
 * Virtual keys, spend and limits, put together for one proxy: on when the proxy has a master key (as
 * in LiteLLM, which manages keys with it). Keys, users and teams live in PostgreSQL when
 * `database_url` / `DATABASE_URL` is set, else in this process's memory (lost on restart). Counters
 * live in the client's shared store (`ctx.store`: Redis or memory, docs/shared-state.md), which is
 * read when first needed, so the store can be made with the client after the layers.
 */
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
import { spendLayer } from './spend-layer'
import { spendRows, spendRowsDefaults } from './spend-rows'

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
  /** Where keys are kept, for the start-up summary. */
  describe(): string
  close(): Promise<void>
}

/**
 * Builds the key system; `store` is read on first use.
 *
 * @example
 * ```ts
 * const keys = createKeySystem({ settings: config.keys, isMaster, store: () => client.services.store, policy, maxBodyBytes })
 * ```
 */
export function createKeySystem(options: { settings: KeySettings; isMaster: AuthCheck; store: () => SharedStore; policy: OriginPolicy; maxBodyBytes: number }): KeySystem {
  const { settings } = options
  const database: Database | undefined = settings.databaseUrl === undefined ? undefined : openDatabase({ connectionString: settings.databaseUrl, timeoutMs: 5_000 })
  const repository = database ? postgresKeyRepository(database, keysSchema) : memoryKeyRepository()
  const directory = createKeyDirectory(repository, { ttlMs: settings.cacheTtlMs })
  const store = lazySharedStore(options.store)
  const windows = createRateWindows(store, { windowMs: settings.windowMs })
  const access = createKeyAccess({ isMaster: options.isMaster, directory, store, windows, allowOnDbUnavailable: settings.allowOnDbUnavailable })
  const service = createKeyService({ directory, store })
  const layers: Middleware[] = [spendLayer({ store, windows, tokenCount: settings.tokenCount })]
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
    describe: () => (database ? `virtual keys in PostgreSQL (schema ${keysSchema}), spend rows in ${spendRowsDefaults.schema}.${spendRowsDefaults.table}${settings.disableSpendLogs ? ' (off: disable_spend_logs)' : ''}` : 'virtual keys in memory (lost on restart; set DATABASE_URL to keep them)'),
    close: () => repository.close(),
  }
}

/** The store `get()` returns, asked at each use (the client's store is made after the layers). */
function lazySharedStore(get: () => SharedStore): SharedStore {
  return {
    get kind() {
      return get().kind
    },
    increment: (key, amount, options) => get().increment(key, amount, options),
    get: (key) => get().get(key),
    set: (key, value, options) => get().set(key, value, options),
    delete: (key) => get().delete(key),
    addToWindow: (key, value, windowMs) => get().addToWindow(key, value, windowMs),
    readWindow: (key, windowMs) => get().readWindow(key, windowMs),
    windowValues: (key, windowMs) => get().windowValues(key, windowMs),
    close: () => get().close(),
  }
}
