import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient, type CallEvent, type Client, type DropInfo } from 'llm-onion'
import { bucketBase, s3 } from 'llm-onion/middleware/s3'
import { startLocalS3, s3rverCredentials, type LocalS3 } from '../fakes/s3rver-store'
import { verifySigV4 } from '../fakes/sigv4-check'
import { exporterContract, prompt, receiverPerTest, runCalls } from './exporter-contract'

const credentials = { accessKeyId: 'AKIAEXAMPLESTORAGE', secretAccessKey: 'plant-aws-secret-key-5f6e7d8c' }
const datedKey = /^llm\/\d{4}-\d{2}-\d{2}\/\d{2}-\d{2}-\d{2}-\d{3}-[0-9a-f-]{36}\.jsonl$/

/** Every line of every object under `prefix`, parsed. */
async function storedEvents(store: LocalS3, prefix: string): Promise<CallEvent[]> {
  const keys = await store.list(prefix)
  const texts = await Promise.all(keys.map((key) => store.get(key)))
  return texts.flatMap((text) => text.trimEnd().split('\n').map((line) => JSON.parse(line) as CallEvent))
}

describe('s3() against s3rver', () => {
  let store: LocalS3
  let client: Client | undefined
  beforeAll(async () => {
    store = await startLocalS3()
  })
  afterAll(async () => {
    await client?.close()
    await store?.close()
  })

  it('writes each call as a JSON line in objects keyed {path}/YYYY-MM-DD/..., read back through the S3 API', async () => {
    client = createClient().use(s3({ bucket: store.bucket, baseUrl: store.url, path: '/llm/', region: 'us-east-1', ...s3rverCredentials }))
    await runCalls(client)
    await client.close()

    const keys = await store.list('llm/')
    expect(keys.length).toBeGreaterThanOrEqual(1)
    for (const key of keys) expect(key).toMatch(datedKey)
    const today = new Date().toISOString().slice(0, 10)
    expect(keys.some((key) => key.startsWith(`llm/${today}/`))).toBe(true)

    const events = await storedEvents(store, 'llm/')
    expect(events.map((event) => event.status).sort()).toEqual(['failure', 'success', 'success'])
    const success = events.find((event) => event.user === 'user-7')!
    expect(success).toMatchObject({ model: 'mock/echo', messages: prompt, metadata: { team: 'search' } })
    expect(events.find((event) => event.status === 'failure')!.error).toMatchObject({ message: 'Slow down', status: 429 })
  })

  it('is refused by the store with a key it does not know, and counts the batch as dropped without failing the call', async () => {
    const drops: DropInfo[] = []
    client = createClient({ queue: { onDrop: (info) => drops.push(info), retries: 0 } }).use(
      s3({ bucket: store.bucket, baseUrl: store.url, path: 'refused', accessKeyId: 'NOT-AN-S3RVER-KEY', secretAccessKey: 'wrong' }),
    )
    await expect(client.chat({ model: 'mock/echo', messages: prompt })).resolves.toBeDefined()
    await client.close()

    expect(client.services.queue.stats().sinks.s3!.dropped.rejected).toBe(1)
    expect(String(drops[0]!.error)).toMatch(/403.*InvalidAccessKeyId/s)
    expect(await store.list('refused/')).toEqual([])
  })
})

describe('s3() signatures, checked by aws4', () => {
  let client: Client
  const receiver = receiverPerTest({ client: () => client })

  it('PUTs application/x-ndjson path-style, signed with SigV4 over the body and the session token', async () => {
    client = createClient().use(s3({ bucket: 'logs', baseUrl: receiver.url, path: 'llm', region: 'eu-west-3', ...credentials, sessionToken: 'plant-session-token-1a2b' }))
    await runCalls(client)

    expect(receiver.requests.length).toBeGreaterThanOrEqual(1)
    for (const request of receiver.requests) {
      expect(request.method).toBe('PUT')
      expect(request.path).toMatch(/^\/logs\/llm\/\d{4}-\d{2}-\d{2}\/[^/]+\.jsonl$/)
      expect(request.headers['content-type']).toBe('application/x-ndjson')
      expect(request.headers['x-amz-security-token']).toBe('plant-session-token-1a2b')
      const parts = verifySigV4(request, credentials)
      expect(parts).toMatchObject({ accessKeyId: credentials.accessKeyId, region: 'eu-west-3', service: 's3' })
      expect(parts.signedHeaders).toEqual(expect.arrayContaining(['host', 'content-type', 'x-amz-content-sha256', 'x-amz-date', 'x-amz-security-token']))
      const raw = JSON.stringify(request.headers) + request.text
      expect(raw).not.toContain(credentials.secretAccessKey)
    }
    const lines = receiver.requests.flatMap((request) => request.text.trimEnd().split('\n'))
    expect(lines).toHaveLength(3)
  })

  it('a tampered body no longer matches its signature (the check can fail)', async () => {
    client = createClient().use(s3({ bucket: 'logs', baseUrl: receiver.url, ...credentials }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    const [request] = receiver.requests
    expect(() => verifySigV4(request!, credentials)).not.toThrow()
    expect(() => verifySigV4({ ...request!, raw: Buffer.from(`${request!.text}x`) }, credentials)).toThrow(/x-amz-content-sha256/)
    expect(() => verifySigV4(request!, { ...credentials, secretAccessKey: 'another' })).toThrow(/signature mismatch/)
  })

  it('writes a retried batch under the same key, so a retry overwrites instead of duplicating', async () => {
    receiver.answerWith(503)
    client = createClient().use(s3({ bucket: 'logs', baseUrl: receiver.url, ...credentials }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()

    expect(receiver.requests).toHaveLength(2)
    expect(receiver.requests[1]!.path).toBe(receiver.requests[0]!.path)
    expect(receiver.requests[1]!.text).toBe(receiver.requests[0]!.text)
  })

  it('reads S3_BUCKET_NAME, S3_PATH, S3_ENDPOINT_URL, AWS_REGION and the AWS key pair from the environment', async () => {
    const env = {
      S3_BUCKET_NAME: 'env-bucket',
      S3_PATH: 'from-env',
      S3_ENDPOINT_URL: `${receiver.url}/`,
      AWS_REGION: 'ap-south-1',
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    }
    client = createClient().use(s3({ env }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()

    const [request] = receiver.requests
    expect(request!.path).toMatch(/^\/env-bucket\/from-env\/\d{4}-\d{2}-\d{2}\//)
    expect(verifySigV4(request!, credentials).region).toBe('ap-south-1')
  })

  exporterContract({
    name: 's3',
    layer: (url, redact) => s3({ bucket: 'logs', baseUrl: url, ...credentials, redact }),
    secrets: [credentials.secretAccessKey],
  })
})

describe('s3() settings', () => {
  it('addresses AWS virtual-hosted style by default and a custom endpoint path-style', () => {
    expect(bucketBase('https://s3.eu-west-3.amazonaws.com', 'logs', false)).toBe('https://logs.s3.eu-west-3.amazonaws.com')
    expect(bucketBase('http://127.0.0.1:9000', 'logs', true)).toBe('http://127.0.0.1:9000/logs')
  })

  it('fails at construction naming S3_BUCKET_NAME, then AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY', () => {
    expect(() => s3({ env: {} })).toThrow(/S3_BUCKET_NAME/)
    expect(() => s3({ env: { S3_BUCKET_NAME: 'b' } })).toThrow(/AWS_ACCESS_KEY_ID/)
    expect(() => s3({ env: { S3_BUCKET_NAME: 'b', AWS_ACCESS_KEY_ID: 'a' } })).toThrow(/AWS_SECRET_ACCESS_KEY/)
  })

  it('rejects an unknown option naming it', () => {
    expect(() => s3({ bucket: 'b', bukket: 'x' } as never)).toThrow(/s3\(\) options/)
  })
})
