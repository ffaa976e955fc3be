import { describe, expect, it } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { argilla, type ArgillaRecord } from 'llm-onion/middleware/argilla'
import type { Receiver } from '../../src/testing/receiver'
import { exporterContract, prompt, receiverPerTest, runCalls } from './exporter-contract'

const datasetId = '3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f'
/** What `GET /api/v1/me/datasets` answers (and, harmlessly, every other request of the receiver). */
const datasets = JSON.stringify({ items: [{ id: '00000000-0000-4000-8000-000000000000', name: 'other' }, { id: datasetId, name: 'my_first_dataset' }] })

function recordsOf(receiver: Receiver): ArgillaRecord[] {
  return receiver.requests.filter((request) => request.method === 'POST').flatMap((request) => (request.json as { items: ArgillaRecord[] }).items)
}

const fastRetries = { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 5, onDrop: () => undefined }

describe('argilla()', () => {
  let client: Client
  const receiver = receiverPerTest({ responseBody: datasets, client: () => client })

  it("finds the dataset's id by its name once, then creates records in bulk with the prompt and the reply in LiteLLM's fields", async () => {
    client = createClient().use(argilla({ apiKey: 'argilla.apikey.test', baseUrl: receiver.url, dataset: 'my_first_dataset' }))
    await runCalls(client)
    await client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'Later.' })
    await client.flush()

    const [lookup, ...posts] = receiver.requests
    expect(lookup).toMatchObject({ method: 'GET', path: '/api/v1/me/datasets', query: 'name=my_first_dataset' })
    expect(lookup!.headers['x-argilla-api-key']).toBe('argilla.apikey.test')
    expect(posts.length).toBeGreaterThanOrEqual(1)
    for (const request of posts) {
      expect(request.method).toBe('POST')
      expect(request.path).toBe(`/api/v1/datasets/${datasetId}/records/bulk`)
      expect(request.headers['x-argilla-api-key']).toBe('argilla.apikey.test')
      expect(request.headers['content-type']).toBe('application/json')
      expect(Object.keys(request.json as object)).toEqual(['items'])
    }
    // Successes only: a failure has no reply to annotate.
    const records = recordsOf(receiver)
    expect(records.map((record) => record.fields)).toEqual([
      { user_input: prompt, llm_output: 'Paris is the capital.' },
      { user_input: prompt, llm_output: 'Paris, streamed.' },
      { user_input: prompt, llm_output: 'Later.' },
    ])
    expect(records[0]!.external_id).toMatch(/^[0-9a-f-]{36}$/)
  })

  it("uses an id as it is, maps the fields option, and reads LiteLLM's variables", async () => {
    const env = { ARGILLA_API_KEY: 'argilla.apikey.env', ARGILLA_BASE_URL: `${receiver.url}/`, ARGILLA_DATASET_NAME: datasetId, ARGILLA_BATCH_SIZE: '1' }
    client = createClient().use(argilla({ env, fields: { prompt: 'messages', answer: 'response', again: 'response' } }))
    await client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'One.' })
    await client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'Two.' })
    await client.flush()

    expect(receiver.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      `POST /api/v1/datasets/${datasetId}/records/bulk`,
      `POST /api/v1/datasets/${datasetId}/records/bulk`,
    ])
    expect(receiver.requests[0]!.headers['x-argilla-api-key']).toBe('argilla.apikey.env')
    expect(recordsOf(receiver).map((record) => record.fields)).toEqual([
      { prompt, answer: 'One.', again: 'One.' },
      { prompt, answer: 'Two.', again: 'Two.' },
    ])
  })

  it('records no call at a sampling rate of 0, and falls back to ARGILLA_API_URL', async () => {
    client = createClient().use(argilla({ env: { ARGILLA_API_KEY: 'argilla.apikey.env', ARGILLA_API_URL: receiver.url, ARGILLA_SAMPLING_RATE: '0' } }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    expect(receiver.requests).toEqual([])
  })

  it('drops the batch naming the dataset when no dataset has that name, without failing the call, and looks again with the next batch', async () => {
    const drops: string[] = []
    client = createClient({ queue: { ...fastRetries, onDrop: (drop) => void drops.push((drop.error as Error).message) } }).use(
      argilla({ apiKey: 'argilla.apikey.test', baseUrl: receiver.url, dataset: 'missing_dataset' }),
    )
    const reply = await client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'fine' })
    await client.flush()
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()

    expect(reply.choices[0]!.message.content).toBe('fine')
    expect(receiver.requests.map((request) => request.method)).toEqual(['GET', 'GET'])
    expect(client.services.queue.stats().sinks.argilla!.dropped.rejected).toBe(2)
    expect(drops[0]).toMatch(/^argilla: no dataset named missing_dataset at http:\/\/127\.0\.0\.1:\d+; create it/)
  })

  it('retries a dead Argilla, delivers when it comes back, and counts the batch dropped when it never does', async () => {
    receiver.answerWith(503)
    client = createClient({ queue: fastRetries }).use(argilla({ apiKey: 'argilla.apikey.test', baseUrl: receiver.url, dataset: datasetId }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    expect(receiver.requests).toHaveLength(2)
    expect(client.services.queue.stats().sinks.argilla).toMatchObject({ delivered: 1, retries: 1 })

    receiver.answerWith(503, 503, 503)
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    expect(receiver.requests).toHaveLength(5)
    expect(client.services.queue.stats().sinks.argilla!.dropped.retries_exhausted).toBe(1)
  })

  exporterContract({
    name: 'argilla',
    layer: (url, redact) => argilla({ apiKey: 'argilla.apikey.contract', baseUrl: url, dataset: 'my_first_dataset', redact }),
    receiver: { responseBody: datasets },
    isPayload: (request) => request.method === 'POST',
    secrets: ['argilla.apikey.contract'],
  })

  it('fails at construction naming ARGILLA_API_KEY, or a wrong ARGILLA_SAMPLING_RATE or ARGILLA_BATCH_SIZE', () => {
    expect(() => argilla({ env: {} })).toThrow(/ARGILLA_API_KEY/)
    expect(() => argilla({ env: { ARGILLA_API_KEY: 'argilla.apikey.test', ARGILLA_SAMPLING_RATE: 'half' } })).toThrow(/ARGILLA_SAMPLING_RATE is "half"/)
    expect(() => argilla({ env: { ARGILLA_API_KEY: 'argilla.apikey.test', ARGILLA_BATCH_SIZE: '1000' } })).toThrow(/ARGILLA_BATCH_SIZE is "1000"/)
    expect(() => argilla({ apiKey: 'argilla.apikey.test', fields: { prompt: 'input' as 'messages' } })).toThrow(/fields\.prompt/)
  })
})
