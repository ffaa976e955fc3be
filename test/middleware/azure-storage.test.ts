import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient, type CallEvent, type Client, type DropInfo } from 'llm-onion'
import { azureStorage } from 'llm-onion/middleware/azure-storage'
import { devAccount, startAzurite, type Azurite } from '../fakes/azurite'
import { exporterContract, prompt, receiverPerTest, runCalls } from './exporter-contract'

/** Every line of every blob under `prefix`, parsed. */
async function storedEvents(azurite: Azurite, prefix: string): Promise<CallEvent[]> {
  const names = await azurite.list(prefix)
  const texts = await Promise.all(names.map((name) => azurite.read(name)))
  return texts.flatMap((text) => text.trimEnd().split('\n').map((line) => JSON.parse(line) as CallEvent))
}

describe('azureStorage() against Azurite', () => {
  let azurite: Azurite
  let client: Client | undefined
  beforeAll(async () => {
    azurite = await startAzurite()
  }, 30_000)
  afterAll(async () => {
    await client?.close()
    await azurite?.close()
  })

  it('writes each call as a JSON line in block blobs named {path}/YYYY-MM-DD/..., read back with the Azure SDK', async () => {
    client = createClient().use(
      azureStorage({ accountName: devAccount.name, accountKey: devAccount.key, container: 'llm-logs', path: 'calls', baseUrl: azurite.accountUrl }),
    )
    await runCalls(client)
    await client.close()

    const names = await azurite.list('calls/')
    expect(names.length).toBeGreaterThanOrEqual(1)
    const today = new Date().toISOString().slice(0, 10)
    for (const name of names) expect(name).toMatch(new RegExp(`^calls/${today}/\\d{2}-\\d{2}-\\d{2}-\\d{3}-[0-9a-f-]{36}\\.jsonl$`))
    const properties = await azurite.container.getBlockBlobClient(names[0]!).getProperties()
    expect(properties.blobType).toBe('BlockBlob')
    expect(properties.contentType).toBe('application/x-ndjson')

    const events = await storedEvents(azurite, 'calls/')
    expect(events.map((event) => event.status).sort()).toEqual(['failure', 'success', 'success'])
    expect(events.find((event) => event.user === 'user-7')).toMatchObject({ model: 'mock/echo', messages: prompt, metadata: { team: 'search' } })
  })

  it('reads AZURE_STORAGE_ACCOUNT_NAME, AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_FILE_SYSTEM and AZURE_STORAGE_ACCOUNT_URL', async () => {
    const env = {
      AZURE_STORAGE_ACCOUNT_NAME: devAccount.name,
      AZURE_STORAGE_ACCOUNT_KEY: devAccount.key,
      AZURE_STORAGE_FILE_SYSTEM: 'llm-logs',
      AZURE_STORAGE_ACCOUNT_URL: `${azurite.accountUrl}/`,
    }
    client = createClient().use(azureStorage({ env, path: 'from-env' }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.close()

    expect(await storedEvents(azurite, 'from-env/')).toHaveLength(1)
  })

  it('is refused by Azurite when the SAS is signed with another key, and counts the batch as dropped without failing the call', async () => {
    const drops: DropInfo[] = []
    const wrongKey = Buffer.from('not the development account key, 64 bytes long........').toString('base64')
    client = createClient({ queue: { onDrop: (info) => drops.push(info), retries: 0 } }).use(
      azureStorage({ accountName: devAccount.name, accountKey: wrongKey, container: 'llm-logs', path: 'refused', baseUrl: azurite.accountUrl }),
    )
    await expect(client.chat({ model: 'mock/echo', messages: prompt })).resolves.toBeDefined()
    await client.close()

    expect(client.services.queue.stats().sinks.azureStorage!.dropped.rejected).toBe(1)
    expect(String(drops[0]!.error)).toMatch(/403.*AuthorizationFailure/s)
    expect(String(drops[0]!.error)).not.toContain(wrongKey)
    expect(await azurite.list('refused/')).toEqual([])
  })

  it('writes with a SAS token given in AZURE_STORAGE_SAS_TOKEN, without the account key', async () => {
    const sas = await import('@azure/storage-blob')
    const token = sas
      .generateAccountSASQueryParameters(
        { permissions: sas.AccountSASPermissions.parse('cw'), resourceTypes: 'o', services: 'b', expiresOn: new Date(Date.now() + 600_000) },
        new sas.StorageSharedKeyCredential(devAccount.name, devAccount.key),
      )
      .toString()
    const env = { AZURE_STORAGE_ACCOUNT_NAME: devAccount.name, AZURE_STORAGE_SAS_TOKEN: `?${token}`, AZURE_STORAGE_FILE_SYSTEM: 'llm-logs', AZURE_STORAGE_ACCOUNT_URL: azurite.accountUrl }
    client = createClient().use(azureStorage({ env, path: 'sas-token' }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.close()

    expect(await storedEvents(azurite, 'sas-token/')).toHaveLength(1)
  })
})

describe('azureStorage() requests', () => {
  let client: Client
  const receiver = receiverPerTest({ client: () => client })

  it('PUTs a block blob with a SAS for that blob (create and write), never the account key', async () => {
    client = createClient().use(azureStorage({ accountName: devAccount.name, accountKey: devAccount.key, container: 'c', baseUrl: receiver.url }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()

    const [request] = receiver.requests
    expect(request!.method).toBe('PUT')
    expect(request!.path).toMatch(/^\/c\/\d{4}-\d{2}-\d{2}\/[^/]+\.jsonl$/)
    expect(request!.headers['x-ms-blob-type']).toBe('BlockBlob')
    expect(request!.headers.authorization).toBeUndefined()
    const query = new URLSearchParams(request!.query)
    expect(query.get('sr')).toBe('b')
    expect(query.get('sp')).toBe('cw')
    expect(query.get('sig')).toMatch(/^[A-Za-z0-9+/=]{40,}$/)
    expect(request!.query + JSON.stringify(request!.headers) + request!.text).not.toContain(devAccount.key)
  })

  exporterContract({
    name: 'azureStorage',
    layer: (url, redact) => azureStorage({ accountName: devAccount.name, accountKey: devAccount.key, container: 'c', baseUrl: url, redact }),
    payloadOf: (request) => `${request.query}\n${JSON.stringify(request.headers)}\n${request.text}`,
    secrets: [devAccount.key],
  })

  it('fails at construction naming the missing variable', () => {
    expect(() => azureStorage({ env: {} })).toThrow(/AZURE_STORAGE_ACCOUNT_NAME/)
    expect(() => azureStorage({ env: { AZURE_STORAGE_ACCOUNT_NAME: 'a' } })).toThrow(/AZURE_STORAGE_FILE_SYSTEM/)
    expect(() => azureStorage({ env: { AZURE_STORAGE_ACCOUNT_NAME: 'a', AZURE_STORAGE_FILE_SYSTEM: 'c' } })).toThrow(/AZURE_STORAGE_ACCOUNT_KEY or AZURE_STORAGE_SAS_TOKEN/)
  })

  it('rejects an unknown option naming it', () => {
    expect(() => azureStorage({ accountName: 'a', acountKey: 'x' } as never)).toThrow(/azureStorage\(\) options/)
  })
})
