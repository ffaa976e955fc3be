/**
 * How a write to Azure Blob Storage is authorised without sending the account key: a service SAS
 * for the one blob (create and write, for 15 minutes), made from the account key by
 * `@azure/storage-blob` (loaded on the first write), or a SAS token the user gives, sent as is.
 */

/** Gives the query string (without `?`) that authorises writing `blobName` into `containerName`. */
export type BlobAccess = (containerName: string, blobName: string) => Promise<string>

type BlobModule = typeof import('@azure/storage-blob')
let loaded: Promise<BlobModule> | undefined

/** How long a SAS made for one write stays valid: enough for the queue's retries of that write. */
const sasLifetimeMs = 15 * 60_000

/**
 * A SAS per blob, signed with the account key (Shared Key), by the Azure SDK's own code.
 *
 * @example
 * ```ts
 * const access = accountKeyAccess('devstoreaccount1', process.env.AZURE_STORAGE_ACCOUNT_KEY!)
 * const query = await access('llm-logs', '2026-12-04/19-32-01-123-uuid.jsonl') // 'sv=...&sig=...'
 * ```
 */
export function accountKeyAccess(accountName: string, accountKey: string): BlobAccess {
  let credential: InstanceType<BlobModule['StorageSharedKeyCredential']> | undefined
  return async (containerName, blobName) => {
    const blob = await (loaded ??= import('@azure/storage-blob'))
    credential ??= new blob.StorageSharedKeyCredential(accountName, accountKey)
    return blob
      .generateBlobSASQueryParameters(
        { containerName, blobName, permissions: blob.BlobSASPermissions.parse('cw'), expiresOn: new Date(Date.now() + sasLifetimeMs) },
        credential,
      )
      .toString()
  }
}

/**
 * A SAS token given by the user (account or container SAS with create and write), for every blob.
 *
 * @example
 * ```ts
 * const access = sasTokenAccess(process.env.AZURE_STORAGE_SAS_TOKEN!)
 * ```
 */
export function sasTokenAccess(token: string): BlobAccess {
  const query = token.replace(/^\?/, '')
  return async () => query
}
