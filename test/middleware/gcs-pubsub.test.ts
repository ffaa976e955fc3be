import { createPublicKey, generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createClient, type Client, type DropInfo } from 'llm-onion'
import { gcsPubsub } from 'llm-onion/middleware/gcs-pubsub'
import type { ReceivedRequest } from '../../src/testing/receiver'
import { startPubsubFake, type PubsubFake } from '../fakes/pubsub-fake'
import { refusedUrl } from '../fakes/delivery-receivers'
import { exporterContract, prompt, runCalls } from './exporter-contract'

const clientEmail = 'llm-logs@example-project.iam.gserviceaccount.com'
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } })
const publicKey = createPublicKey(privateKey)
const stranger = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey
const directory = mkdtempSync(join(tmpdir(), 'gcs-pubsub-'))
const fastRetries = { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 5 }

/** A service-account key file as the console downloads it, its token URI the fake's. */
function keyFile(tokenUri: string, key = privateKey): Record<string, string> {
  return { type: 'service_account', project_id: 'example-project', private_key_id: 'k1', private_key: key, client_email: clientEmail, token_uri: tokenUri }
}

function writeKeyFile(name: string, content: unknown): string {
  const path = join(directory, name)
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content))
  return path
}

const isPublish = (request: ReceivedRequest) => request.path.endsWith(':publish')

describe('gcsPubsub() against a Pub/Sub fake that verifies the JWT with the public key and the bearer token', () => {
  let fake: PubsubFake
  let client: Client | undefined
  beforeAll(async () => {
    fake = await startPubsubFake({ clientEmail, publicKey, project: 'example-project', topic: 'llm-calls' })
  })
  afterEach(async () => {
    await client?.close()
    client = undefined
  })
  afterAll(async () => {
    await fake?.close()
  })

  const layer = (options: Parameters<typeof gcsPubsub>[0] = {}) =>
    gcsPubsub({ projectId: 'example-project', topicId: 'llm-calls', baseUrl: fake.url, serviceAccount: keyFile(fake.tokenUri), ...options })

  it('publishes each call as a message whose data is its spend-log record, with status and model attributes', async () => {
    const before = fake.messages().length
    client = createClient().use(layer())
    const reply = await runCalls(client)

    const publishes = fake.requests.filter(isPublish)
    expect(publishes.length).toBeGreaterThanOrEqual(1)
    for (const request of publishes) {
      expect(request).toMatchObject({ method: 'POST', path: '/v1/projects/example-project/topics/llm-calls:publish' })
      expect(request.headers['content-type']).toBe('application/json')
      expect(request.headers.authorization).toMatch(/^Bearer ya29\.fake-/)
    }
    const messages = fake.messages().slice(before)
    expect(messages.map((message) => message.attributes.status).sort()).toEqual(['failure', 'success', 'success'])
    const success = messages.find((message) => (message.data as { end_user?: string }).end_user === 'user-7')!
    expect(success.attributes).toEqual({ status: 'success', model: 'echo' })
    expect(success.data).toMatchObject({ call_type: 'completion', model_group: 'mock/echo', messages: prompt, metadata: { team: 'search' }, total_tokens: reply.usage!.total_tokens })
  })

  it('asks for one access token and keeps it while it is valid; a token about to expire is replaced', async () => {
    const asked = fake.tokenRequests()
    client = createClient().use(layer())
    for (let round = 0; round < 2; round++) {
      await client.chat({ model: 'mock/echo', messages: prompt })
      await client.flush()
    }
    expect(fake.tokenRequests() - asked).toBe(1)

    const shortLived = await startPubsubFake({ clientEmail, publicKey, project: 'example-project', topic: 'llm-calls', tokenLifetimeSeconds: 30 })
    const other = createClient().use(gcsPubsub({ projectId: 'example-project', topicId: 'llm-calls', baseUrl: shortLived.url, serviceAccount: keyFile(shortLived.tokenUri) }))
    try {
      for (let round = 0; round < 2; round++) {
        await other.chat({ model: 'mock/echo', messages: prompt })
        await other.flush()
      }
      expect(shortLived.tokenRequests()).toBe(2)
      expect(shortLived.messages()).toHaveLength(2)
    } finally {
      await other.close()
      await shortLived.close()
    }
  })

  it('asks for a new token when Pub/Sub refuses the one it has (401), and publishes with it', async () => {
    client = createClient({ queue: fastRetries }).use(layer())
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    const asked = fake.tokenRequests()
    const before = fake.messages().length
    fake.answerNext({ status: 401, body: { error: { code: 401, message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED' } } })
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    expect(fake.tokenRequests() - asked).toBe(1)
    expect(fake.messages().length - before).toBe(1)
    expect(client.services.queue.stats().sinks.gcsPubsub).toMatchObject({ retries: 1, dropped: {} })
  })

  it('never fails a call when the key is not the account\'s, the topic is missing or Pub/Sub is down, and counts the drops', async () => {
    const drops: DropInfo[] = []
    const queue = { ...fastRetries, onDrop: (drop: DropInfo) => void drops.push(drop) }
    client = createClient({ queue }).use(layer({ serviceAccount: keyFile(fake.tokenUri, stranger) }))
    expect((await client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'fine' })).choices[0]!.message.content).toBe('fine')
    await client.flush()
    expect(client.services.queue.stats().sinks.gcsPubsub!.dropped).toEqual({ rejected: 1 })
    await client.close()

    client = createClient({ queue }).use(layer({ topicId: 'missing' }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    expect(client.services.queue.stats().sinks.gcsPubsub!.dropped).toEqual({ rejected: 1 })
    await client.close()

    client = createClient({ queue }).use(layer({ baseUrl: await refusedUrl() }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    expect(client.services.queue.stats().sinks.gcsPubsub).toMatchObject({ retries: 2, dropped: { retries_exhausted: 1 } })

    expect(drops.map((drop) => String(drop.error))).toEqual([
      expect.stringMatching(/token URI answered 400: .*Invalid JWT Signature/),
      expect.stringMatching(/answered publish with 404/),
      expect.stringMatching(/could not reach/),
    ])
    const keyLine = stranger.split('\n')[3]!
    for (const drop of drops) expect(String(drop.error)).not.toContain(keyLine)
  })

  exporterContract({
    name: 'gcsPubsub',
    startReceiver: () => startPubsubFake({ clientEmail, publicKey, project: 'example-project', topic: 'llm-calls' }),
    layer: (url, redact) => gcsPubsub({ projectId: 'example-project', topicId: 'llm-calls', baseUrl: url, serviceAccount: keyFile(`${url}/token`), redact }),
    isPayload: isPublish,
    payloadOf: (request) =>
      (request.json as { messages: Array<{ data: string; attributes: Record<string, string> }> }).messages
        .map((message) => `${Buffer.from(message.data, 'base64').toString('utf8')} ${JSON.stringify(message.attributes)}`)
        .join('\n'),
    secrets: [privateKey.split('\n')[3]!],
  })
})

describe('gcsPubsub() settings', () => {
  it('reads GCS_PUBSUB_PROJECT_ID, GCS_PUBSUB_TOPIC_ID, GCS_PUBSUB_API_BASE and the key file GCS_PATH_SERVICE_ACCOUNT names (else GOOGLE_APPLICATION_CREDENTIALS)', async () => {
    const fake = await startPubsubFake({ clientEmail, publicKey, project: 'env-project', topic: 'env-topic' })
    const path = writeKeyFile('env.json', keyFile(fake.tokenUri))
    const base = { GCS_PUBSUB_PROJECT_ID: 'env-project', GCS_PUBSUB_TOPIC_ID: 'env-topic', GCS_PUBSUB_API_BASE: fake.url }
    try {
      for (const variable of ['GCS_PATH_SERVICE_ACCOUNT', 'GOOGLE_APPLICATION_CREDENTIALS']) {
        const client = createClient().use(gcsPubsub({ env: { ...base, [variable]: path } }))
        await client.chat({ model: 'mock/echo', messages: prompt })
        await client.close()
      }
      expect(fake.messages()).toHaveLength(2)
    } finally {
      await fake.close()
    }
  })

  it('asks for tokens at tokenUrl when given, instead of the key file\'s token_uri', async () => {
    const fake = await startPubsubFake({ clientEmail, publicKey, project: 'p', topic: 't' })
    const client = createClient().use(gcsPubsub({ projectId: 'p', topicId: 't', baseUrl: fake.url, tokenUrl: fake.tokenUri, serviceAccount: JSON.stringify(keyFile('https://oauth2.googleapis.com/token')) }))
    try {
      await client.chat({ model: 'mock/echo', messages: prompt })
      await client.flush()
      expect(fake.tokenRequests()).toBe(1)
      expect(fake.messages()).toHaveLength(1)
    } finally {
      await client.close()
      await fake.close()
    }
  })

  it('publishes to PUBSUB_EMULATOR_HOST without credentials, as Google\'s client libraries do', async () => {
    const emulator = await startPubsubFake({ clientEmail, publicKey, project: 'p', topic: 't', requireToken: false })
    const client = createClient().use(gcsPubsub({ env: { GCS_PUBSUB_PROJECT_ID: 'p', GCS_PUBSUB_TOPIC_ID: 't', PUBSUB_EMULATOR_HOST: new URL(emulator.url).host } }))
    try {
      await client.chat({ model: 'mock/echo', messages: prompt })
      await client.flush()
      expect(emulator.messages()).toHaveLength(1)
      expect(emulator.requests[0]!.headers.authorization).toBeUndefined()
      expect(emulator.tokenRequests()).toBe(0)
    } finally {
      await client.close()
      await emulator.close()
    }
  })

  it('fails at construction naming what is missing or wrong', () => {
    const topic = { GCS_PUBSUB_PROJECT_ID: 'p', GCS_PUBSUB_TOPIC_ID: 't' }
    expect(() => gcsPubsub({ env: {} })).toThrow(/GCS_PUBSUB_PROJECT_ID/)
    expect(() => gcsPubsub({ env: { GCS_PUBSUB_PROJECT_ID: 'p' } })).toThrow(/GCS_PUBSUB_TOPIC_ID/)
    expect(() => gcsPubsub({ env: topic })).toThrow(/needs GCS_PATH_SERVICE_ACCOUNT/)
    expect(() => gcsPubsub({ env: { ...topic, GCS_PATH_SERVICE_ACCOUNT: join(directory, 'absent.json') } })).toThrow(/GCS_PATH_SERVICE_ACCOUNT .*ENOENT/)
    expect(() => gcsPubsub({ env: { ...topic, GCS_PATH_SERVICE_ACCOUNT: writeKeyFile('text.json', 'not json') } })).toThrow(/GCS_PATH_SERVICE_ACCOUNT .*not JSON/)
    const { client_email: _email, ...withoutEmail } = keyFile('https://oauth2.googleapis.com/token')
    expect(() => gcsPubsub({ env: { ...topic, GCS_PATH_SERVICE_ACCOUNT: writeKeyFile('no-email.json', withoutEmail) } })).toThrow(/client_email/)
    expect(() => gcsPubsub({ env: topic, serviceAccount: { ...keyFile('https://oauth2.googleapis.com/token'), private_key: 'not a key' } })).toThrow(/private_key is not a PEM private key/)
    expect(() => gcsPubsub({ projectId: 'p', topicId: 'a/b', serviceAccount: keyFile('https://oauth2.googleapis.com/token') })).toThrow(/topicId/)
    expect(() => gcsPubsub({ projectId: 'p', topicId: 't', maxBatchSize: 1001 })).toThrow(/maxBatchSize/)
  })
})
