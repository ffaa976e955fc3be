/**
 * The planted-secret check over the object stores (`s3`, `gcsBucket`, `azureStorage`) and the cloud
 * tables and queues (`dynamodb`, `awsSqs`, `gcsPubsub`): their own credentials (the AWS secret key
 * and session token, the GCS HMAC secret, the Azure account key and SAS token, a Google service
 * account's private key), a provider key, a request's `api_key`, the HTTP request's authorization
 * header and metadata secrets are planted; every integration is switched on by `observability()`
 * (from the environment, `dynamodb` and `awsSqs` by name) against local receivers, the cloud ones
 * fakes that answer as their services do (per item, after a token exchange). No receiver gets a secret it should not (a store only
 * ever gets a signature made with its key), and when every store refuses with an answer that echoes
 * the stores' credentials back, the drop reports and the console hold none of them.
 */
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { format, inspect } from 'node:util'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createClient, type DropInfo } from 'llm-onion'
import { observability } from 'llm-onion/middleware/observability'
import type { ReceivedRequest } from '../src/testing/receiver'
import { startDynamodbFake, type DynamodbFake } from './fakes/dynamodb-fake'
import { startPubsubFake, type PubsubFake } from './fakes/pubsub-fake'
import type { FakeAnswer, RecordingServer } from './fakes/recording-server'
import { startSqsFake, type SqsFake } from './fakes/sqs-fake'

const serviceAccount = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } })

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
  /** A line of the Google service account's private key (gcsPubsub). */
  gcpKeyLine: serviceAccount.privateKey.split('\n')[5]!,
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

interface CloudFakes {
  dynamodb: DynamodbFake
  sqs: SqsFake
  pubsub: PubsubFake
}

const queueUrl = 'https://sqs.eu-west-1.amazonaws.com/123456789012/llm-calls'
const clientEmail = 'planted@example-project.iam.gserviceaccount.com'

async function startCloud(): Promise<CloudFakes> {
  const keys = [{ accessKeyId: 'AKIAPLANTEDSTORAGE', secretAccessKey: planted.awsSecret }]
  return {
    dynamodb: await startDynamodbFake({ keys, tables: { 'llm-calls': 'id' } }),
    sqs: await startSqsFake({ keys, queueUrls: [queueUrl] }),
    pubsub: await startPubsubFake({ clientEmail, publicKey: serviceAccount.publicKey as never, project: 'planted-project', topic: 'llm-calls' }),
  }
}

function cloudEnvironment(cloud: CloudFakes): Record<string, string> {
  const keyFile = join(mkdtempSync(join(tmpdir(), 'planted-sa-')), 'service-account.json')
  writeFileSync(keyFile, JSON.stringify({ type: 'service_account', client_email: clientEmail, private_key: serviceAccount.privateKey, token_uri: cloud.pubsub.tokenUri }))
  return {
    DYNAMODB_TABLE_NAME: 'llm-calls',
    AWS_ENDPOINT_URL_DYNAMODB: cloud.dynamodb.url,
    SQS_QUEUE_URL: queueUrl,
    SQS_ENDPOINT_URL: cloud.sqs.url,
    GCS_PUBSUB_PROJECT_ID: 'planted-project',
    GCS_PUBSUB_TOPIC_ID: 'llm-calls',
    GCS_PATH_SERVICE_ACCOUNT: keyFile,
    GCS_PUBSUB_API_BASE: cloud.pubsub.url,
  }
}

/** Everything a fake received, with what travels encoded decoded: Pub/Sub's base64 data, the JWT's header and claims. */
function receivedText(server: RecordingServer): string {
  return server.requests.map((request: ReceivedRequest) => {
    const decoded: string[] = []
    for (const message of (request.json as { messages?: Array<{ data?: string }> } | undefined)?.messages ?? []) decoded.push(Buffer.from(message.data ?? '', 'base64').toString('utf8'))
    const assertion = new URLSearchParams(request.text).get('assertion')
    if (assertion) decoded.push(...assertion.split('.').slice(0, 2).map((part) => Buffer.from(part, 'base64url').toString('utf8')))
    return `${request.method} ${request.path}?${request.query}\n${JSON.stringify(request.headers)}\n${request.text}\n${decoded.join('\n')}`
  }).join('\n')
}

/** The planted secrets found in `text`, except those `allowed` there. */
function leaks(text: string, allowed: string[] = []): string[] {
  return secrets.filter(([, secret]) => !allowed.includes(secret) && text.includes(secret)).map(([name]) => name)
}

async function runCalls(env: Record<string, string>, onDrop?: (info: DropInfo) => void): Promise<string[]> {
  const client = createClient({ queue: { retries: 0, onDrop } }).use(observability({ env, quiet: true, dynamodb: true, awsSqs: true }))
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

describe('no planted secret leaves the process through the object stores, cloud tables and queues', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it.each(['key', 'sas'] as const)('each store gets the calls and none of the planted secrets but its own session token (Azure with its %s)', async (azure) => {
    const stores = { s3: await startStore(), gcs: await startStore(), azure: await startStore() }
    const cloud = await startCloud()
    try {
      await runCalls({ ...environment(stores, azure), ...cloudEnvironment(cloud) })
      const own: Record<keyof typeof stores, string[]> = { s3: [planted.awsSession], gcs: [], azure: azure === 'sas' ? [planted.azureSas] : [] }
      for (const [name, store] of Object.entries(stores) as Array<[keyof typeof stores, Store]>) {
        const text = store.received.join('\n')
        expect({ store: name, received: store.received.length > 0, leaks: leaks(text, own[name]) }).toEqual({ store: name, received: true, leaks: [] })
      }
      // Each got both calls: the stored items and messages, not only requests.
      expect([cloud.dynamodb.items('llm-calls').length, cloud.sqs.messages(queueUrl).length, cloud.pubsub.messages().length]).toEqual([2, 2, 2])
      const cloudOwn: Record<keyof CloudFakes, string[]> = { dynamodb: [planted.awsSession], sqs: [planted.awsSession], pubsub: [] }
      for (const [name, fake] of Object.entries(cloud) as Array<[keyof CloudFakes, RecordingServer]>) {
        expect({ store: name, leaks: leaks(receivedText(fake), cloudOwn[name]) }).toEqual({ store: name, leaks: [] })
      }
    } finally {
      await Promise.all([...Object.values(stores), ...Object.values(cloud)].map((store) => store.close()))
    }
  })

  it('when every store refuses with an answer echoing their credentials, drop reports, console and errors hold none', async () => {
    // A store can only echo what it knows: the stores' own credentials (it never got the others, as the test above shows).
    const echo = [planted.awsSecret, planted.awsSession, planted.gcsSecret, planted.azureKey, planted.gcpKeyLine].join(' ')
    const stores = { s3: await startStore({ status: 403, echo }), gcs: await startStore({ status: 403, echo }), azure: await startStore({ status: 403, echo }) }
    const cloud = await startCloud()
    const refusal: FakeAnswer = { status: 403, body: { __type: 'com.amazon.coral.service#SignatureDoesNotMatch', message: echo } }
    cloud.dynamodb.answerNext(refusal, refusal)
    cloud.sqs.answerNext(refusal, refusal)
    cloud.pubsub.answerNext({ status: 400, body: { error: 'invalid_grant', error_description: echo } })
    const printed: string[] = []
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void printed.push(format(...args)))
    }
    const drops: string[] = []
    try {
      const thrown = await runCalls({ ...environment(stores, 'key'), ...cloudEnvironment(cloud) }, (info) => drops.push(`${inspect(info, { depth: 20 })}\n${String(info.error)}`))
      expect(drops.length).toBeGreaterThanOrEqual(6)
      expect(drops.join('\n')).toMatch(/dynamodb[\s\S]*awsSqs|awsSqs[\s\S]*dynamodb/)
      expect(drops.join('\n')).toContain('invalid_grant')
      expect(drops.join('\n')).toContain('SignatureDoesNotMatch')
      expect(leaks(drops.join('\n'))).toEqual([])
      expect(leaks(printed.join('\n'))).toEqual([])
      expect(thrown.length).toBe(1)
      expect(leaks(thrown.join('\n'))).toEqual([])
    } finally {
      await Promise.all([...Object.values(stores), ...Object.values(cloud)].map((store) => store.close()))
    }
  })
})
