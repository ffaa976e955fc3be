/**
 * The planted-secret check over the object stores (`s3`, `gcsBucket`, `azureStorage`): their own
 * credentials (the AWS secret key and session token, the GCS HMAC secret, the Azure account key and
 * SAS token), a provider key, a request's `api_key`, the HTTP request's authorization header and
 * metadata secrets are planted; every integration is switched on from the environment by
 * `observability()` against local receivers. No receiver gets a secret it should not (a store only
 * ever gets a signature made with its key), and when every store refuses with an answer that echoes
 * the stores' credentials back, the drop reports and the console hold none of them.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { format, inspect } from 'node:util'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createClient, type DropInfo } from 'llm-onion'
import { observability } from 'llm-onion/middleware/observability'

const planted = {
  awsSecret: 'plant-aws-secret-access-key-6b5a4c3d',
  awsSession: 'plant-aws-session-token-2e1f0a9b',
  gcsSecret: 'plant-gcs-hmac-secret-8c7d6e5f',
  azureKey: Buffer.from('plant-azure-account-key-4a3b2c1d').toString('base64'),
  azureSas: 'plant-azure-sas-signature-0f9e8d7c',
  requestApiKey: 'sk-plant-request-apikey-5d4c3b2a',
  headerBearer: 'sk-plant-header-bearer-1a0b9c8d',
  metaApiKey: 'plant-meta-api_key-7e6f5a4b',
  metaToken: 'plant-meta-token-3c2d1e0f',
}
const secrets = Object.entries(planted)

interface Store {
  url: string
  received: string[]
  close(): Promise<void>
}

/** A store that records every request as text; it answers 200, or `status` with a body echoing `echo`. */
async function startStore(answer: { status: number; echo?: string } = { status: 200 }): Promise<Store> {
  const received: string[] = []
  const server: Server = createServer((request, response) => {
    const parts: Buffer[] = []
    request.on('data', (part: Buffer) => parts.push(part))
    request.on('end', () => {
      received.push(`${request.method} ${request.url}\n${JSON.stringify(request.headers)}\n${Buffer.concat(parts).toString('utf8')}`)
      response.writeHead(answer.status, { 'content-type': 'application/xml' })
      response.end(answer.status === 200 ? '' : `<Error><Code>SignatureDoesNotMatch</Code><Message>${answer.echo ?? ''}</Message></Error>`)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}

function environment(stores: Record<'s3' | 'gcs' | 'azure', Store>, azure: 'key' | 'sas'): Record<string, string> {
  return {
    S3_BUCKET_NAME: 'llm-logs',
    S3_ENDPOINT_URL: stores.s3.url,
    AWS_ACCESS_KEY_ID: 'AKIAPLANTEDSTORAGE',
    AWS_SECRET_ACCESS_KEY: planted.awsSecret,
    AWS_SESSION_TOKEN: planted.awsSession,
    GCS_BUCKET_NAME: 'llm-logs',
    GCS_HMAC_ACCESS_ID: 'GOOG1PLANTED',
    GCS_HMAC_SECRET: planted.gcsSecret,
    STORAGE_EMULATOR_HOST: stores.gcs.url,
    AZURE_STORAGE_ACCOUNT_NAME: 'plantedaccount',
    AZURE_STORAGE_FILE_SYSTEM: 'llm-logs',
    AZURE_STORAGE_ACCOUNT_URL: `${stores.azure.url}/plantedaccount`,
    ...(azure === 'key' ? { AZURE_STORAGE_ACCOUNT_KEY: planted.azureKey } : { AZURE_STORAGE_SAS_TOKEN: `sv=2021-12-02&sp=cw&sig=${planted.azureSas}` }),
  }
}

/** The planted secrets found in `text`, except those `allowed` there. */
function leaks(text: string, allowed: string[] = []): string[] {
  return secrets.filter(([, secret]) => !allowed.includes(secret) && text.includes(secret)).map(([name]) => name)
}

async function runCalls(env: Record<string, string>, onDrop?: (info: DropInfo) => void): Promise<string[]> {
  const client = createClient({ queue: { retries: 0, onDrop } }).use(observability({ env, quiet: true }))
  const thrown: string[] = []
  const request = {
    model: 'mock/echo',
    messages: [{ role: 'user' as const, content: 'What is the capital of France?' }],
    api_key: planted.requestApiKey,
    metadata: { api_key: planted.metaApiKey, token: planted.metaToken, team: 'search' },
  }
  const http = { method: 'POST', url: '/v1/chat/completions', headers: { authorization: `Bearer ${planted.headerBearer}` } }
  await client.chat(request, { http })
  await client.chat({ ...request, mock_error: { status: 401, message: `Incorrect API key provided: ${planted.requestApiKey}` } }, { http }).catch((error: unknown) => {
    thrown.push(`${String(error)}\n${inspect(error, { depth: 20 })}`)
  })
  await client.close()
  return thrown
}

describe('no planted secret leaves the process through the object stores', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it.each(['key', 'sas'] as const)('each store gets the calls and none of the planted secrets but its own session token (Azure with its %s)', async (azure) => {
    const stores = { s3: await startStore(), gcs: await startStore(), azure: await startStore() }
    try {
      await runCalls(environment(stores, azure))
      const own: Record<keyof typeof stores, string[]> = { s3: [planted.awsSession], gcs: [], azure: azure === 'sas' ? [planted.azureSas] : [] }
      for (const [name, store] of Object.entries(stores) as Array<[keyof typeof stores, Store]>) {
        const text = store.received.join('\n')
        expect({ store: name, received: store.received.length > 0, leaks: leaks(text, own[name]) }).toEqual({ store: name, received: true, leaks: [] })
      }
    } finally {
      await Promise.all(Object.values(stores).map((store) => store.close()))
    }
  })

  it('when every store refuses with an answer echoing their credentials, drop reports, console and errors hold none', async () => {
    // A store can only echo what it knows: the stores' own credentials (it never got the others, as the test above shows).
    const echo = [planted.awsSecret, planted.awsSession, planted.gcsSecret, planted.azureKey].join(' ')
    const stores = { s3: await startStore({ status: 403, echo }), gcs: await startStore({ status: 403, echo }), azure: await startStore({ status: 403, echo }) }
    const printed: string[] = []
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void printed.push(format(...args)))
    }
    const drops: string[] = []
    try {
      const thrown = await runCalls(environment(stores, 'key'), (info) => drops.push(`${inspect(info, { depth: 20 })}\n${String(info.error)}`))
      expect(drops.length).toBeGreaterThanOrEqual(3)
      expect(drops.join('\n')).toContain('SignatureDoesNotMatch')
      expect(leaks(drops.join('\n'))).toEqual([])
      expect(leaks(printed.join('\n'))).toEqual([])
      expect(thrown.length).toBe(1)
      expect(leaks(thrown.join('\n'))).toEqual([])
    } finally {
      await Promise.all(Object.values(stores).map((store) => store.close()))
    }
  })
})
