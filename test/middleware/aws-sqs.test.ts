import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createClient, type Client, type DropInfo } from 'llm-onion'
import { awsSqs, toSqsMessageBody } from 'llm-onion/middleware/aws-sqs'
import { omittedContent } from '../../src/integrations/sized-spend-log'
import { startSqsFake, type SqsFake } from '../fakes/sqs-fake'
import { refusedUrl } from '../fakes/delivery-receivers'
import { verifySigV4 } from '../fakes/sigv4-check'
import { exporterContract, prompt, runCalls } from './exporter-contract'

const credentials = { accessKeyId: 'AKIAEXAMPLEQUEUE', secretAccessKey: 'plant-sqs-secret-key-4d5e6f7a' }
const fastRetries = { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 5 }
const queuePath = '/123456789012/llm-calls'

/** The SendMessageBatch requests a fake got after `from`: their entry count and body bytes. */
function batches(fake: SqsFake, from = 0): Array<{ entries: number; bytes: number }> {
  return fake.requests.slice(from).map((request) => {
    const entries = (request.json as { Entries: Array<{ MessageBody: string }> }).Entries
    return { entries: entries.length, bytes: entries.reduce((sum, entry) => sum + Buffer.byteLength(entry.MessageBody), 0) }
  })
}

describe('awsSqs() against an SQS fake that checks SendMessageBatch and SigV4 with aws4', () => {
  let fake: SqsFake
  const queueUrl = `https://sqs.eu-west-1.amazonaws.com${queuePath}`
  let client: Client | undefined
  beforeAll(async () => {
    fake = await startSqsFake({ keys: [credentials], queueUrls: [queueUrl] })
  })
  afterEach(async () => {
    await client?.close()
    client = undefined
  })
  afterAll(async () => {
    await fake?.close()
  })

  it('sends each call as a message whose body is its spend-log record, signed for sqs in the queue URL\'s region', async () => {
    client = createClient().use(awsSqs({ queueUrl, baseUrl: fake.url, ...credentials, sessionToken: 'plant-sqs-session-8b9c' }))
    const reply = await runCalls(client)

    expect(fake.requests.length).toBeGreaterThanOrEqual(1)
    for (const request of fake.requests) {
      expect(request).toMatchObject({ method: 'POST', path: '/' })
      expect(request.headers['content-type']).toBe('application/x-amz-json-1.0')
      expect(request.headers['x-amz-target']).toBe('AmazonSQS.SendMessageBatch')
      expect(request.headers['x-amz-security-token']).toBe('plant-sqs-session-8b9c')
      const parts = verifySigV4(request, credentials)
      expect(parts).toMatchObject({ accessKeyId: credentials.accessKeyId, region: 'eu-west-1', service: 'sqs' })
      expect(parts.signedHeaders).toEqual(expect.arrayContaining(['host', 'content-type', 'x-amz-date', 'x-amz-target', 'x-amz-security-token']))
      expect((request.json as { QueueUrl: string }).QueueUrl).toBe(queueUrl)
    }
    const records = fake.messages(queueUrl).map((body) => JSON.parse(body) as Record<string, unknown>)
    expect(records.map((record) => record.status).sort()).toEqual(['failure', 'success', 'success'])
    const success = records.find((record) => record.end_user === 'user-7')!
    expect(success).toMatchObject({ call_type: 'completion', model_group: 'mock/echo', messages: prompt, metadata: { team: 'search' }, total_tokens: reply.usage!.total_tokens })
    expect(typeof success.request_id).toBe('string')
    expect(records.find((record) => record.status === 'failure')!.metadata).toMatchObject({ error_information: { error_message: 'Slow down', error_code: 429 } })
  })

  it('sends at most 10 messages and 256 KiB of bodies a request', async () => {
    client = createClient({ queue: { maxBatchSize: 100 } }).use(awsSqs({ queueUrl, baseUrl: fake.url, ...credentials }))
    const before = fake.requests.length
    const big = [{ role: 'user' as const, content: 'y'.repeat(60 * 1024) }]
    for (let call = 0; call < 12; call++) await client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'ok' })
    for (let call = 0; call < 5; call++) await client.chat({ model: 'mock/echo', messages: big, mock_response: 'ok' })
    await client.flush()

    const sent = batches(fake, before)
    expect(sent.reduce((sum, batch) => sum + batch.entries, 0)).toBe(17)
    for (const batch of sent) expect(batch.entries <= 10 && batch.bytes <= 262_144).toBe(true)
    // 17 messages would take 2 requests by count alone; the 60 KiB ones need a third by size.
    expect(sent.length).toBeGreaterThanOrEqual(3)
    expect(client.services.queue.stats().sinks.awsSqs).toMatchObject({ delivered: 17, dropped: {} })
  })

  it('sends again only the messages SQS failed on its side, so none is queued twice', async () => {
    const before = fake.messages(queueUrl).length
    const requestsBefore = fake.requests.length
    fake.failEntries(2)
    client = createClient({ queue: fastRetries }).use(awsSqs({ queueUrl, baseUrl: fake.url, ...credentials }))
    for (let call = 0; call < 3; call++) await client.chat({ model: 'mock/echo', messages: prompt, metadata: { call } })
    await client.flush()

    expect(batches(fake, requestsBefore).map((batch) => batch.entries)).toEqual([3, 2])
    const calls = fake.messages(queueUrl).slice(before).map((body) => (JSON.parse(body) as { metadata: { call: number } }).metadata.call)
    expect(calls.sort()).toEqual([0, 1, 2])
    expect(client.services.queue.stats().sinks.awsSqs).toMatchObject({ delivered: 3, retries: 1, dropped: {} })
  })

  it('drops and counts a message SQS refuses as the sender\'s fault, and delivers the others of its batch', async () => {
    const drops: DropInfo[] = []
    client = createClient({ queue: { ...fastRetries, onDrop: (drop) => void drops.push(drop) } }).use(awsSqs({ queueUrl, baseUrl: fake.url, ...credentials }))
    const before = fake.messages(queueUrl).length
    await client.chat({ model: 'mock/echo', messages: prompt, metadata: { fine: 1 } })
    // U+FFFE is valid JSON and valid UTF-8, but not a character SQS accepts in a message.
    await client.chat({ model: 'mock/echo', messages: prompt, metadata: { note: 'bad \uFFFE character' } })
    await client.flush()

    expect(fake.messages(queueUrl).length - before).toBe(1)
    expect(client.services.queue.stats().sinks.awsSqs!.dropped).toEqual({ unencodable: 1 })
    expect(String(drops[0]!.error)).toMatch(/SQS refused the message: InvalidMessageContents/)
  })

  it('never fails a call when the queue is missing, the key is refused or SQS is down, and counts the drops', async () => {
    const drops: DropInfo[] = []
    const queue = { ...fastRetries, onDrop: (drop: DropInfo) => void drops.push(drop) }
    client = createClient({ queue }).use(awsSqs({ queueUrl: `https://sqs.eu-west-1.amazonaws.com/123456789012/missing`, baseUrl: fake.url, ...credentials }))
    expect((await client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'fine' })).choices[0]!.message.content).toBe('fine')
    await client.flush()
    expect(client.services.queue.stats().sinks.awsSqs!.dropped).toEqual({ rejected: 1 })
    await client.close()

    client = createClient({ queue }).use(awsSqs({ queueUrl, baseUrl: fake.url, accessKeyId: credentials.accessKeyId, secretAccessKey: 'plant-wrong-sqs-secret-1c2d' }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    expect(client.services.queue.stats().sinks.awsSqs!.dropped).toEqual({ rejected: 1 })
    await client.close()

    client = createClient({ queue }).use(awsSqs({ queueUrl, baseUrl: await refusedUrl(), ...credentials }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    expect(client.services.queue.stats().sinks.awsSqs).toMatchObject({ retries: 2, dropped: { retries_exhausted: 1 } })

    expect(drops.map((drop) => String(drop.error))).toEqual([
      expect.stringMatching(/SendMessageBatch with 400 QueueDoesNotExist/),
      expect.stringMatching(/InvalidSignatureException/),
      expect.stringMatching(/could not reach/),
    ])
    for (const drop of drops) expect(String(drop.error)).not.toMatch(/plant-(wrong-)?sqs-secret/)
  })

  exporterContract({
    name: 'awsSqs',
    startReceiver: () => startSqsFake({ keys: [credentials], queueUrls: [`https://sqs.eu-west-1.amazonaws.com${queuePath}`] }),
    layer: (url, redact) => awsSqs({ queueUrl: `https://sqs.eu-west-1.amazonaws.com${queuePath}`, baseUrl: url, ...credentials, redact }),
    secrets: [credentials.secretAccessKey],
  })
})

describe('awsSqs() settings', () => {
  it('reads SQS_QUEUE_URL, SQS_REGION_NAME, SQS_ENDPOINT_URL and the AWS key pair from the environment', async () => {
    const fake = await startSqsFake({ keys: [credentials], queueUrls: ['https://sqs.us-west-2.amazonaws.com/123456789012/env-queue'] })
    const env = {
      SQS_QUEUE_URL: 'https://sqs.us-west-2.amazonaws.com/123456789012/env-queue',
      SQS_REGION_NAME: 'us-west-2',
      SQS_ENDPOINT_URL: fake.url,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    }
    const client = createClient().use(awsSqs({ env }))
    try {
      await client.chat({ model: 'mock/echo', messages: prompt })
      await client.flush()
      expect(fake.messages(env.SQS_QUEUE_URL)).toHaveLength(1)
      expect(verifySigV4(fake.requests[0]!, credentials).region).toBe('us-west-2')
    } finally {
      await client.close()
      await fake.close()
    }
  })

  it('sends to the queue URL itself when no endpoint is given (LocalStack, ElasticMQ)', async () => {
    const fake = await startSqsFake({ keys: [credentials], queueUrls: [] })
    fake.addQueue(`${fake.url}/000000000000/local`)
    const client = createClient().use(awsSqs({ queueUrl: `${fake.url}/000000000000/local`, ...credentials }))
    try {
      await client.chat({ model: 'mock/echo', messages: prompt })
      await client.flush()
      expect(fake.messages(`${fake.url}/000000000000/local`)).toHaveLength(1)
      expect(verifySigV4(fake.requests[0]!, credentials).region).toBe('us-east-1')
    } finally {
      await client.close()
      await fake.close()
    }
  })

  it('fails at construction naming SQS_QUEUE_URL, then AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY', () => {
    expect(() => awsSqs({ env: {} })).toThrow(/SQS_QUEUE_URL/)
    expect(() => awsSqs({ env: { SQS_QUEUE_URL: 'not a url' } })).toThrow(/SQS_QUEUE_URL is not a URL/)
    expect(() => awsSqs({ env: { SQS_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/q' } })).toThrow(/AWS_ACCESS_KEY_ID/)
    expect(() => awsSqs({ env: { SQS_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/q', AWS_ACCESS_KEY_ID: 'a' } })).toThrow(/AWS_SECRET_ACCESS_KEY/)
  })

  it('rejects a wrong option naming it', () => {
    expect(() => awsSqs({ queueUrl: 'https://sqs.us-east-1.amazonaws.com/1/q', queue: 'x' } as never)).toThrow(/awsSqs\(\) options/)
    expect(() => awsSqs({ maxMessageBytes: 2_000_000 })).toThrow(/maxMessageBytes/)
  })

  it('keeps the spend columns of a call over the message limit, without its messages and reply', () => {
    const event = {
      id: 'call-big', traceId: 't', type: 'chat', status: 'success', streaming: false, model: 'mock/echo', parameters: {},
      messages: [{ role: 'user', content: 'z'.repeat(300 * 1024) }], startTime: 1, endTime: 2, latencyMs: 1, metadata: {}, tags: [], cacheHit: false, attempts: [],
      usage: { inputTokens: 5, outputTokens: 1, totalTokens: 6 },
    } as const
    const body = JSON.parse(toSqsMessageBody(event as never)) as Record<string, unknown>
    expect(body).toMatchObject({ request_id: 'call-big', messages: omittedContent, response: omittedContent, total_tokens: 6 })
    expect(JSON.parse(toSqsMessageBody(event as never, 1_048_576)).messages).toHaveLength(1)
  })
})
