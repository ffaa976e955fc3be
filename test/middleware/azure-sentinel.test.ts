import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { azureSentinel, type AzureSentinelRecord } from 'llm-onion/middleware/azure-sentinel'
import { startAzureMonitorFake, type AzureMonitorFake } from '../fakes/azure-monitor'
import { exporterContract, prompt, runCalls } from './exporter-contract'

const azure = {
  tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  clientId: '0b2c3d4e-5f60-4718-9a0b-1c2d3e4f5a6b',
  clientSecret: 'plant-azure-client-secret-4f1e',
  dcrImmutableId: 'dcr-00112233445566778899aabbccddeeff',
  streamName: 'Custom-LiteLLM',
  workspaceId: 'b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e',
  sharedKey: Buffer.from('plant-azure-workspace-shared-key-9d2c').toString('base64'),
}

/** The Logs Ingestion settings, pointed at the fake for both the token and the ingestion. */
function ingestionOptions(url: string) {
  return { dcrImmutableId: azure.dcrImmutableId, endpoint: url, authorityHost: url, tenantId: azure.tenantId, clientId: azure.clientId, clientSecret: azure.clientSecret }
}

const fastRetries = { queue: { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 5, onDrop: () => undefined } }

describe('azureSentinel()', () => {
  let client: Client | undefined
  let fake: AzureMonitorFake
  beforeEach(async () => {
    fake = await startAzureMonitorFake(azure)
  })
  afterEach(async () => {
    await client?.close()
    client = undefined
    await fake.close()
  })

  it('sends batches to the Logs Ingestion API with a bearer token got by the client credentials grant', async () => {
    client = createClient().use(azureSentinel(ingestionOptions(fake.url)))
    await runCalls(client)

    expect(fake.refused).toEqual([])
    // One token for every batch: fetched once, reused until it is about to expire.
    expect(fake.tokenRequests).toEqual([{ client_id: azure.clientId, client_secret: azure.clientSecret, scope: 'https://monitor.azure.com//.default', grant_type: 'client_credentials' }])
    expect(fake.ingested.length).toBeGreaterThanOrEqual(1)
    for (const request of fake.ingested) {
      expect(request.api).toBe('logs-ingestion')
      expect(request.headers['content-encoding']).toBe('gzip')
      expect(request.headers.authorization).toBe(`Bearer ${fake.tokens[0]}`)
    }
    const records = fake.ingested.flatMap((request) => request.records) as unknown as AzureSentinelRecord[]
    expect(records.map((record) => record.status)).toEqual(['success', 'success', 'failure'])
    expect(records[0]).toMatchObject({ type: 'chat', model: 'mock/echo', user: 'user-7', streaming: false, messages: prompt })
    expect(records[0]!.TimeGenerated).toBe(new Date(records[0]!.endTime).toISOString())
    expect(records[2]!.error).toMatchObject({ type: 'RateLimitError', message: 'Slow down', status: 429 })
  })

  it('fetches a new token once the old one is about to expire', async () => {
    await fake.close()
    // Within LiteLLM's 60 s refresh margin from the start: every batch needs a fresh token.
    fake = await startAzureMonitorFake({ ...azure, expiresIn: 60 })
    client = createClient().use(azureSentinel(ingestionOptions(fake.url)))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()

    expect(fake.tokens).toHaveLength(2)
    expect(fake.ingested.map((request) => request.headers.authorization)).toEqual(fake.tokens.map((token) => `Bearer ${token}`))
  })

  it('signs every Data Collector API request with the workspace shared key, as an independent check recomputes it', async () => {
    client = createClient().use(azureSentinel({ workspaceId: azure.workspaceId, sharedKey: azure.sharedKey, endpoint: fake.url, logType: 'LlmCalls' }))
    await runCalls(client)

    expect(fake.refused).toEqual([])
    expect(fake.tokenRequests).toEqual([])
    expect(fake.ingested.length).toBeGreaterThanOrEqual(1)
    for (const request of fake.ingested) {
      expect(request.api).toBe('data-collector')
      expect(request.headers['log-type']).toBe('LlmCalls')
      expect(request.headers['time-generated-field']).toBe('TimeGenerated')
      expect(request.headers.authorization).toMatch(new RegExp(`^SharedKey ${azure.workspaceId}:[A-Za-z0-9+/]+=*$`))
    }
    expect(fake.ingested.flatMap((request) => request.records).map((record) => record.status)).toEqual(['success', 'success', 'failure'])
  })

  it('is refused by the Data Collector API when signed with another key, and counts the batch as dropped without failing the call', async () => {
    const otherKey = Buffer.from('another-workspace-key-0000').toString('base64')
    client = createClient(fastRetries).use(azureSentinel({ workspaceId: azure.workspaceId, sharedKey: otherKey, endpoint: fake.url }))
    const reply = await client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'fine' })
    await client.flush()

    expect(reply.choices[0]!.message.content).toBe('fine')
    expect(fake.refused).toEqual([{ path: '/api/logs', reason: 'signature does not match' }])
    expect(client.services.queue.stats().sinks.azureSentinel!.dropped.rejected).toBe(1)
  })

  it('drops the batch when the token endpoint refuses the client secret, and never quotes the secret', async () => {
    const drops: unknown[] = []
    client = createClient({ queue: { ...fastRetries.queue, onDrop: (drop) => void drops.push(drop.error) } }).use(
      azureSentinel({ ...ingestionOptions(fake.url), clientSecret: 'plant-wrong-azure-secret-7a8b' }),
    )
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()

    expect(fake.ingested).toEqual([])
    expect(client.services.queue.stats().sinks.azureSentinel!.dropped.rejected).toBe(1)
    const message = (drops[0] as Error).message
    expect(message).toMatch(/token endpoint answered 401; check AZURE_SENTINEL_TENANT_ID/)
    expect(message).not.toContain('plant-wrong-azure-secret-7a8b')
  })

  it('retries a dead ingestion endpoint, delivers when it comes back, and counts the batch dropped when it never does', async () => {
    fake.failNext(503)
    client = createClient(fastRetries).use(azureSentinel(ingestionOptions(fake.url)))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    expect(fake.ingested).toHaveLength(1)
    expect(client.services.queue.stats().sinks.azureSentinel).toMatchObject({ delivered: 1, retries: 1 })

    fake.failNext(503, 503, 503)
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    expect(fake.ingested).toHaveLength(1)
    expect(client.services.queue.stats().sinks.azureSentinel!.dropped.retries_exhausted).toBe(1)
  })

  it("reads LiteLLM's variables, the AZURE_* fallbacks, and picks the Logs Ingestion API when a DCR id is set", async () => {
    const env = {
      AZURE_SENTINEL_DCR_IMMUTABLE_ID: azure.dcrImmutableId,
      AZURE_SENTINEL_ENDPOINT: `${fake.url}/`,
      AZURE_TENANT_ID: azure.tenantId,
      AZURE_CLIENT_ID: azure.clientId,
      AZURE_CLIENT_SECRET: azure.clientSecret,
      AZURE_AUTHORITY_HOST: fake.url,
      AZURE_SENTINEL_WORKSPACE_ID: azure.workspaceId,
      AZURE_SENTINEL_SHARED_KEY: azure.sharedKey,
    }
    client = createClient().use(azureSentinel({ env }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    expect(fake.ingested.map((request) => request.api)).toEqual(['logs-ingestion'])

    await client.close()
    const { AZURE_SENTINEL_DCR_IMMUTABLE_ID: _dcr, ...sharedKeyEnv } = env
    client = createClient().use(azureSentinel({ env: { ...sharedKeyEnv, AZURE_SENTINEL_LOG_TYPE: 'FromEnv' } }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    expect(fake.ingested.map((request) => request.api)).toEqual(['logs-ingestion', 'data-collector'])
    expect(fake.ingested[1]!.headers['log-type']).toBe('FromEnv')
  })

  it('fails at construction naming the variables that are missing', () => {
    expect(() => azureSentinel({ env: {} })).toThrow(/AZURE_SENTINEL_DCR_IMMUTABLE_ID .*AZURE_SENTINEL_WORKSPACE_ID/)
    expect(() => azureSentinel({ env: { AZURE_SENTINEL_DCR_IMMUTABLE_ID: 'dcr-1', AZURE_SENTINEL_ENDPOINT: 'https://dce.example.com' } })).toThrow(
      /AZURE_SENTINEL_TENANT_ID or AZURE_TENANT_ID/,
    )
    expect(() => azureSentinel({ env: { AZURE_SENTINEL_WORKSPACE_ID: 'ws', AZURE_SENTINEL_SHARED_KEY: 'not base64!' } })).toThrow(/AZURE_SENTINEL_SHARED_KEY is not base64/)
    expect(() => azureSentinel({ workspaceId: 'ws', sharedKey: azure.sharedKey, logType: 'has-dash' })).toThrow(/logType/)
  })

  // The shared contract with a plain receiver: its one answer is also a token response.
  const tokenAnswer = { responseBody: JSON.stringify({ token_type: 'Bearer', expires_in: 3600, access_token: 'contract-token-5e6f7a8b' }) }
  exporterContract({
    name: 'azureSentinel (Logs Ingestion API)',
    layer: (url, redact) => azureSentinel({ ...ingestionOptions(url), redact }),
    receiver: tokenAnswer,
    isPayload: (request) => !request.path.endsWith('/oauth2/v2.0/token'),
    secrets: [azure.clientSecret, 'contract-token-5e6f7a8b'],
  })
  exporterContract({
    name: 'azureSentinel (Data Collector API)',
    layer: (url, redact) => azureSentinel({ workspaceId: azure.workspaceId, sharedKey: azure.sharedKey, endpoint: url, redact }),
    secrets: [azure.sharedKey],
  })
})
