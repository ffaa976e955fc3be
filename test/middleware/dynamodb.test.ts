import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createClient, type Client, type DropInfo } from 'llm-onion'
import { dynamodb, toDynamodbItem } from 'llm-onion/middleware/dynamodb'
import { omittedContent } from '../../src/integrations/sized-spend-log'
import { startDynamodbFake, type DynamodbFake } from '../fakes/dynamodb-fake'
import { refusedUrl } from '../fakes/delivery-receivers'
import { verifySigV4 } from '../fakes/sigv4-check'
import { exporterContract, prompt, runCalls } from './exporter-contract'

const credentials = { accessKeyId: 'AKIAEXAMPLEDYNAMO', secretAccessKey: 'plant-dynamodb-secret-key-3c4d5e' }
const fastRetries = { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 5 }

describe('dynamodb() against a DynamoDB fake that checks BatchWriteItem and SigV4 with aws4', () => {
  let fake: DynamodbFake
  let client: Client | undefined
  beforeAll(async () => {
    fake = await startDynamodbFake({ keys: [credentials], tables: { 'llm-calls': 'id', 'by-request': 'request_id' } })
  })
  afterEach(async () => {
    await client?.close()
    client = undefined
  })
  afterAll(async () => {
    await fake?.close()
  })

  it('writes each call as an item keyed by the call id, with the spend-log columns typed as DynamoDB numbers and strings', async () => {
    client = createClient().use(dynamodb({ table: 'llm-calls', baseUrl: fake.url, region: 'eu-west-3', ...credentials, sessionToken: 'plant-dynamodb-session-7e8f' }))
    const reply = await runCalls(client)

    const requests = fake.requests.filter((request) => request.headers['x-amz-target'] === 'DynamoDB_20120810.BatchWriteItem')
    expect(requests.length).toBeGreaterThanOrEqual(1)
    for (const request of requests) {
      expect(request).toMatchObject({ method: 'POST', path: '/' })
      expect(request.headers['content-type']).toBe('application/x-amz-json-1.0')
      expect(request.headers['x-amz-security-token']).toBe('plant-dynamodb-session-7e8f')
      const parts = verifySigV4(request, credentials)
      expect(parts).toMatchObject({ accessKeyId: credentials.accessKeyId, region: 'eu-west-3', service: 'dynamodb' })
      expect(parts.signedHeaders).toEqual(expect.arrayContaining(['host', 'content-type', 'x-amz-date', 'x-amz-target', 'x-amz-security-token']))
    }
    const typed = (requests[0]!.json as { RequestItems: Record<string, Array<{ PutRequest: { Item: Record<string, unknown> } }>> }).RequestItems['llm-calls']![0]!.PutRequest.Item
    expect(typed).toMatchObject({ id: { S: expect.any(String) }, total_tokens: { N: expect.stringMatching(/^\d+$/) }, model_group: { S: 'mock/echo' }, team_id: { NULL: true } })

    const items = fake.items('llm-calls')
    expect(items.map((item) => item.status).sort()).toEqual(['failure', 'success', 'success'])
    const success = items.find((item) => item.end_user === 'user-7')!
    expect(success.id).toBe(success.request_id)
    expect(success).toMatchObject({ call_type: 'completion', model_group: 'mock/echo', custom_llm_provider: 'mock', api_key: '' })
    expect(success.prompt_tokens).toBeGreaterThan(0)
    expect(success.total_tokens).toBe(reply.usage!.total_tokens)
    expect(typeof success.startTime).toBe('number')
    expect(JSON.parse(success.messages as string)).toEqual(prompt)
    expect(JSON.parse(success.metadata as string)).toMatchObject({ team: 'search' })
    const failure = items.find((item) => item.status === 'failure')!
    expect(JSON.parse(failure.metadata as string).error_information).toMatchObject({ error_message: 'Slow down', error_code: 429 })
  })

  it('puts the call id in the partition key the table has (keyAttribute)', async () => {
    client = createClient().use(dynamodb({ table: 'by-request', keyAttribute: 'request_id', baseUrl: fake.url, ...credentials }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    expect(fake.items('by-request')).toHaveLength(1)
  })

  it('writes again only the items DynamoDB left unprocessed (throttling), until all are in', async () => {
    const before = fake.requests.length
    fake.leaveUnprocessed(2)
    client = createClient({ queue: fastRetries }).use(dynamodb({ table: 'llm-calls', baseUrl: fake.url, ...credentials }))
    const ids: string[] = []
    for (let call = 0; call < 3; call++) ids.push((await client.chat({ model: 'mock/echo', messages: prompt, metadata: { call } })).id)
    await client.flush()

    const sent = fake.requests.slice(before).map((request) => (request.json as { RequestItems: Record<string, unknown[]> }).RequestItems['llm-calls']!.length)
    expect(sent).toEqual([3, 2])
    expect(client.services.queue.stats().sinks.dynamodb).toMatchObject({ delivered: 3, retries: 1, dropped: {} })
    const stored = fake.items('llm-calls').map((item) => JSON.parse(item.metadata as string).call)
    expect(stored.filter((call) => call !== undefined).sort()).toEqual([0, 1, 2])
  })

  it('never fails a call when the table is missing, the key is refused or DynamoDB is down, and counts the drops', async () => {
    const drops: DropInfo[] = []
    const queue = { ...fastRetries, onDrop: (drop: DropInfo) => void drops.push(drop) }
    client = createClient({ queue }).use(dynamodb({ table: 'no-such-table', baseUrl: fake.url, ...credentials }))
    expect((await client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'fine' })).choices[0]!.message.content).toBe('fine')
    await client.flush()
    expect(client.services.queue.stats().sinks.dynamodb!.dropped).toEqual({ rejected: 1 })
    await client.close()

    client = createClient({ queue }).use(dynamodb({ table: 'llm-calls', baseUrl: fake.url, accessKeyId: credentials.accessKeyId, secretAccessKey: 'plant-wrong-dynamodb-secret-9a8b' }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    expect(client.services.queue.stats().sinks.dynamodb!.dropped).toEqual({ rejected: 1 })
    await client.close()

    client = createClient({ queue }).use(dynamodb({ table: 'llm-calls', baseUrl: await refusedUrl(), ...credentials }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    expect(client.services.queue.stats().sinks.dynamodb).toMatchObject({ retries: 2, dropped: { retries_exhausted: 1 } })

    expect(drops.map((drop) => String(drop.error))).toEqual([
      expect.stringMatching(/BatchWriteItem with 400 ResourceNotFoundException: Requested resource not found/),
      expect.stringMatching(/InvalidSignatureException/),
      expect.stringMatching(/could not reach/),
    ])
    for (const drop of drops) expect(String(drop.error)).not.toMatch(/plant-(wrong-)?dynamodb-secret/)
  })

  it('keeps the spend columns of a call too large for one item, without its messages and reply', async () => {
    client = createClient().use(dynamodb({ table: 'llm-calls', baseUrl: fake.url, ...credentials }))
    // Five messages, each under the 100,000 characters an event keeps of one string, 475,000 in all.
    const huge = Array.from({ length: 5 }, (_, index) => ({ role: 'user' as const, content: `marker-huge-${index} ${'x'.repeat(95_000)}` }))
    const reply = await client.chat({ model: 'mock/echo', messages: huge, mock_response: 'short', metadata: { huge: 'yes' } })
    await client.flush()
    const stored = fake.items('llm-calls').find((item) => JSON.parse(item.metadata as string).huge === 'yes')!
    expect(stored).toMatchObject({ messages: JSON.stringify(omittedContent), response: JSON.stringify(omittedContent), status: 'success' })
    expect(stored).toMatchObject({ prompt_tokens: reply.usage!.prompt_tokens, total_tokens: reply.usage!.total_tokens, model_group: 'mock/echo' })
  })

  exporterContract({
    name: 'dynamodb',
    startReceiver: () => startDynamodbFake({ keys: [credentials], tables: { 'llm-calls': 'id' } }),
    layer: (url, redact) => dynamodb({ table: 'llm-calls', baseUrl: url, ...credentials, redact }),
    secrets: [credentials.secretAccessKey],
  })
})

describe('dynamodb() settings', () => {
  it('reads DYNAMODB_TABLE_NAME, AWS_REGION_NAME, AWS_ENDPOINT_URL_DYNAMODB and the AWS key pair from the environment', async () => {
    const fake = await startDynamodbFake({ keys: [credentials], tables: { 'env-table': 'id' } })
    const env = {
      DYNAMODB_TABLE_NAME: 'env-table',
      AWS_REGION_NAME: 'ap-south-1',
      AWS_ENDPOINT_URL_DYNAMODB: fake.url,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    }
    const client = createClient().use(dynamodb({ env }))
    try {
      await client.chat({ model: 'mock/echo', messages: prompt })
      await client.flush()
      expect(fake.items('env-table')).toHaveLength(1)
      expect(verifySigV4(fake.requests[0]!, credentials).region).toBe('ap-south-1')
    } finally {
      await client.close()
      await fake.close()
    }
  })

  it('fails at construction naming DYNAMODB_TABLE_NAME, then AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY', () => {
    expect(() => dynamodb({ env: {} })).toThrow(/DYNAMODB_TABLE_NAME/)
    expect(() => dynamodb({ env: { DYNAMODB_TABLE_NAME: 'calls' } })).toThrow(/AWS_ACCESS_KEY_ID/)
    expect(() => dynamodb({ env: { DYNAMODB_TABLE_NAME: 'calls', AWS_ACCESS_KEY_ID: 'a' } })).toThrow(/AWS_SECRET_ACCESS_KEY/)
  })

  it('rejects a wrong option naming it: an unknown one, a table name DynamoDB refuses, more than 25 items a request', () => {
    expect(() => dynamodb({ table: 'calls', tabel: 'x' } as never)).toThrow(/dynamodb\(\) options/)
    expect(() => dynamodb({ table: 'a b' })).toThrow(/table/)
    expect(() => dynamodb({ table: 'calls', maxBatchSize: 26 })).toThrow(/maxBatchSize/)
  })

  it('maps an event to an item whose key is the call id, without the provider key', () => {
    const event = {
      id: 'call-1', traceId: 't', type: 'chat', status: 'success', streaming: false, model: 'openai/gpt-4o-mini', parameters: {},
      startTime: 1_700_000_000_000, endTime: 1_700_000_000_250, latencyMs: 250, metadata: {}, tags: ['a'], cacheHit: false, attempts: [],
      usage: { inputTokens: 3, outputTokens: 4, totalTokens: 7 }, cost: { input: 0.000001, output: 0.000002, total: 0.000003 },
    } as const
    expect(toDynamodbItem(event as never)).toMatchObject({
      id: { S: 'call-1' }, request_id: { S: 'call-1' }, spend: { N: '0.000003' }, total_tokens: { N: '7' }, startTime: { N: '1700000000000' },
      request_tags: { S: '["a"]' }, cache_hit: { S: 'False' }, completionStartTime: { NULL: true },
    })
  })
})
