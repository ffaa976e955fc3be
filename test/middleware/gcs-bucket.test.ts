import { describe, expect, it } from 'vitest'
import { createClient, type CallEvent, type Client } from 'llm-onion'
import { gcsBucket } from 'llm-onion/middleware/gcs-bucket'
import { verifySigV4 } from '../fakes/sigv4-check'
import { exporterContract, prompt, receiverPerTest, runCalls } from './exporter-contract'

const hmac = { accessKeyId: 'GOOG1EXAMPLEHMACACCESSID', secretAccessKey: 'plant-gcs-hmac-secret-9a8b7c6d' }

describe('gcsBucket()', () => {
  let client: Client
  const receiver = receiverPerTest({ client: () => client })

  it('PUTs JSON lines to /{bucket}/{path}/YYYY-MM-DD/... signed with SigV4 for region auto, service s3 (checked by aws4)', async () => {
    client = createClient().use(gcsBucket({ bucket: 'llm-logs', path: 'calls', baseUrl: receiver.url, accessId: hmac.accessKeyId, secret: hmac.secretAccessKey }))
    await runCalls(client)

    expect(receiver.requests.length).toBeGreaterThanOrEqual(1)
    const today = new Date().toISOString().slice(0, 10)
    for (const request of receiver.requests) {
      expect(request.method).toBe('PUT')
      expect(request.path).toMatch(new RegExp(`^/llm-logs/calls/${today}/\\d{2}-\\d{2}-\\d{2}-\\d{3}-[0-9a-f-]{36}\\.jsonl$`))
      expect(request.headers['content-type']).toBe('application/x-ndjson')
      expect(verifySigV4(request, hmac)).toMatchObject({ accessKeyId: hmac.accessKeyId, region: 'auto', service: 's3' })
      expect(JSON.stringify(request.headers) + request.text).not.toContain(hmac.secretAccessKey)
    }
    const events = receiver.requests.flatMap((request) => request.text.trimEnd().split('\n').map((line) => JSON.parse(line) as CallEvent))
    expect(events.map((event) => event.status).sort()).toEqual(['failure', 'success', 'success'])
    expect(events.find((event) => event.user === 'user-7')).toMatchObject({ model: 'mock/echo', messages: prompt })
  })

  it('reads GCS_BUCKET_NAME, GCS_PATH, GCS_HMAC_ACCESS_ID, GCS_HMAC_SECRET, GCS_BATCH_SIZE and STORAGE_EMULATOR_HOST', async () => {
    const env = {
      GCS_BUCKET_NAME: 'env-bucket',
      GCS_PATH: 'env-path/',
      GCS_HMAC_ACCESS_ID: hmac.accessKeyId,
      GCS_HMAC_SECRET: hmac.secretAccessKey,
      GCS_BATCH_SIZE: '1',
      STORAGE_EMULATOR_HOST: receiver.url,
    }
    client = createClient().use(gcsBucket({ env }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()

    // GCS_BATCH_SIZE=1: one object per call.
    expect(receiver.requests).toHaveLength(2)
    for (const request of receiver.requests) {
      expect(request.path).toMatch(/^\/env-bucket\/env-path\/\d{4}-\d{2}-\d{2}\//)
      expect(request.text.trimEnd().split('\n')).toHaveLength(1)
      verifySigV4(request, hmac)
    }
  })

  exporterContract({
    name: 'gcsBucket',
    layer: (url, redact) => gcsBucket({ bucket: 'b', baseUrl: url, accessId: hmac.accessKeyId, secret: hmac.secretAccessKey, redact }),
    secrets: [hmac.secretAccessKey],
  })

  it('fails at construction naming GCS_BUCKET_NAME, then the HMAC key variables', () => {
    expect(() => gcsBucket({ env: {} })).toThrow(/GCS_BUCKET_NAME/)
    expect(() => gcsBucket({ env: { GCS_BUCKET_NAME: 'b' } })).toThrow(/GCS_HMAC_ACCESS_ID/)
    expect(() => gcsBucket({ env: { GCS_BUCKET_NAME: 'b', GCS_HMAC_ACCESS_ID: 'a' } })).toThrow(/GCS_HMAC_SECRET/)
  })

  it('rejects an unknown option naming it', () => {
    expect(() => gcsBucket({ bucket: 'b', buckets: 'x' } as never)).toThrow(/gcsBucket\(\) options/)
  })
})
