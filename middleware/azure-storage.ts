/**
 * Azure Blob Storage: every call as one JSON line, each batch one block blob under a date-partitioned
 * name, authorised by a SAS made from the account key (or given). LiteLLM's `azure_storage`.
 */
import { z } from 'zod'
import { defineExporter } from '../src/integrations/exporter'
import { integrationOptionsSchema, readBaseUrl, readSetting, requireSetting } from '../src/integrations/options'
import { ValidationError } from '../src/errors'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { lazySchema } from '../src/lazy-schema'
import { defineIntegration } from '../src/integrations/descriptor'
import { accountKeyAccess, sasTokenAccess } from '../src/delivery/azure-blob-access'
import { keyPath, objectStoreSink } from '../src/delivery/object-store-sink'
import { trimSlashes } from '../src/delivery/sigv4-object-store'
import { eventJson } from '../src/event-json'

const azureStorageOptionsSchema = lazySchema(() =>
  integrationOptionsSchema
    .extend({
      accountName: z.string().min(1).optional(),
      accountKey: z.string().min(1).optional(),
      sasToken: z.string().min(1).optional(),
      container: z.string().min(1).optional(),
      path: z.string().optional(),
      maxBatchSize: z.number().int().positive().optional(),
      timeoutMs: z.number().int().positive().optional(),
    })
    .strict(),
)

/**
 * Options of {@link azureStorage}, besides the common ones (`moments`, `redact`, `env`).
 * - `accountName`: `AZURE_STORAGE_ACCOUNT_NAME` (required).
 * - `container`: `AZURE_STORAGE_FILE_SYSTEM` (required; a Data Lake file system is a blob container).
 * - `accountKey`: `AZURE_STORAGE_ACCOUNT_KEY`; or `sasToken`: `AZURE_STORAGE_SAS_TOKEN` (one of them required).
 * - `baseUrl`: `AZURE_STORAGE_ACCOUNT_URL`, else `https://{account}.blob.core.windows.net`.
 * - `path`: blob name prefix; blobs go to `{path}/YYYY-MM-DD/HH-MM-SS-mmm-{uuid}.jsonl`.
 * - `maxBatchSize`: lines per blob, default 100; `timeoutMs`: per request, default 10,000.
 */
export type AzureStorageOptions = z.input<typeof azureStorageOptionsSchema>

/**
 * azureStorage() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * azureStorageIntegration.factory({ moments: ['failure'] }) // what callbacks({ failure: ['azure_storage'] }) builds
 * ```
 */
export const azureStorageIntegration = defineIntegration({
  name: 'azureStorage',
  aliases: ['azure_storage'],
  switchedOnBy: [
    ['AZURE_STORAGE_ACCOUNT_NAME', 'AZURE_STORAGE_FILE_SYSTEM', 'AZURE_STORAGE_ACCOUNT_KEY'],
    ['AZURE_STORAGE_ACCOUNT_NAME', 'AZURE_STORAGE_FILE_SYSTEM', 'AZURE_STORAGE_SAS_TOKEN'],
  ],
  position: 'exporters',
  takesEnv: true,
  factory: azureStorage,
})

/**
 * Writes every finished call to an Azure Blob Storage container as JSON lines (one standard event
 * per line), one block blob per batch, in the background. The account key never leaves the process:
 * each write carries a SAS for that one blob, signed with the key.
 *
 * @example
 * ```ts
 * // AZURE_STORAGE_ACCOUNT_NAME, AZURE_STORAGE_ACCOUNT_KEY and AZURE_STORAGE_FILE_SYSTEM in the environment
 * client.use(azureStorage({ path: 'llm-logs' }))
 * ```
 */
export function azureStorage(options: AzureStorageOptions = {}): Middleware {
  const settings = validate(azureStorageOptionsSchema, options, 'azureStorage() options')
  const env = settings.env ?? process.env
  const accountName = requireSetting({ integration: 'azureStorage', option: 'accountName', variable: 'AZURE_STORAGE_ACCOUNT_NAME' }, settings.accountName, env)
  const container = requireSetting({ integration: 'azureStorage', option: 'container', variable: 'AZURE_STORAGE_FILE_SYSTEM' }, settings.container, env)
  const sasToken = readSetting(settings.sasToken, 'AZURE_STORAGE_SAS_TOKEN', env)
  const accountKey = readSetting(settings.accountKey, 'AZURE_STORAGE_ACCOUNT_KEY', env)
  if (sasToken === undefined && accountKey === undefined) {
    throw new ValidationError(
      'azureStorage() needs AZURE_STORAGE_ACCOUNT_KEY or AZURE_STORAGE_SAS_TOKEN: set one in the environment or pass { accountKey: "..." } or { sasToken: "..." } to azureStorage().',
      [{ path: 'accountKey', message: 'missing; set AZURE_STORAGE_ACCOUNT_KEY or AZURE_STORAGE_SAS_TOKEN' }],
    )
  }
  // A given SAS needs no SDK; the account key makes one SAS per blob.
  const access = sasToken !== undefined ? sasTokenAccess(sasToken) : accountKeyAccess(accountName, accountKey!)
  const endpoint = readBaseUrl('azureStorage', settings.baseUrl, 'AZURE_STORAGE_ACCOUNT_URL', `https://${accountName}.blob.core.windows.net`, env)
  return defineExporter<string>({
    name: 'azureStorage',
    moments: settings.moments,
    redact: settings.redact,
    sink: objectStoreSink({
      name: 'azureStorage',
      prefix: trimSlashes(settings.path),
      maxBatchSize: settings.maxBatchSize,
      timeoutMs: settings.timeoutMs,
      async prepare(blobName, body) {
        const query = await access(container, blobName)
        const url = new URL(`${endpoint}/${encodeURIComponent(container)}/${keyPath(blobName)}?${query}`)
        // Put Blob: the whole blob in one request, created or replaced (a retry overwrites).
        return { url, headers: { 'x-ms-blob-type': 'BlockBlob', 'x-ms-version': '2021-12-02', 'content-type': 'application/x-ndjson' } }
      },
    }),
    toItems: eventJson,
  })
}
