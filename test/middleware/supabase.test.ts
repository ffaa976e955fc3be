import { describe, expect, it } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { supabase, type SupabaseRow } from 'llm-onion/middleware/supabase'
import { exporterContract, prompt, receiverPerTest, runCalls } from './exporter-contract'

const key = 'sb-plant-service-key-8e9f0a1b'

describe('supabase()', () => {
  let client: Client
  const receiver = receiverPerTest({ client: () => client, responseBody: '' })

  it("upserts LiteLLM's request_logs rows through PostgREST with the apikey and bearer headers", async () => {
    client = createClient({ cost: { prices: { 'mock/echo': { input: 1, output: 2 } } } }).use(supabase({ apiKey: key, baseUrl: receiver.url }))
    await runCalls(client)

    expect(receiver.requests.length).toBeGreaterThanOrEqual(1)
    for (const request of receiver.requests) {
      expect(request.method).toBe('POST')
      expect(request.path).toBe('/rest/v1/request_logs')
      expect(new URLSearchParams(request.query).get('on_conflict')).toBe('litellm_call_id')
      expect(request.headers.apikey).toBe(key)
      expect(request.headers.authorization).toBe(`Bearer ${key}`)
      expect(request.headers['content-type']).toBe('application/json')
      expect(request.headers.prefer).toBe('resolution=merge-duplicates,return=minimal')
    }
    const rows = receiver.requests.flatMap((request) => request.json as SupabaseRow[])
    expect(rows.map((row) => row.status)).toEqual(['success', 'success', 'failure'])
    const [success, streamed, failure] = rows
    // PostgREST's bulk insert takes the columns of the first row: every row has every key.
    for (const row of rows) expect(Object.keys(row).sort()).toEqual(Object.keys(success!).sort())
    expect(success).toMatchObject({ model: 'echo', messages: prompt, response: 'Paris is the capital.', error: null, end_user: 'user-7' })
    expect(success!.total_cost).toBeGreaterThan(0)
    expect(success!.response_time).toBeGreaterThanOrEqual(0)
    expect(success!.response_time).toBeLessThan(60)
    expect(typeof success!.litellm_call_id).toBe('string')
    expect(streamed!.response).toBe('Paris, streamed.')
    expect(failure).toMatchObject({ response: null, error: 'Slow down', status: 'failure' })
  })

  it('reads SUPABASE_URL and SUPABASE_KEY from the environment, and writes to the table it is given', async () => {
    client = createClient().use(supabase({ table: 'calls', env: { SUPABASE_URL: `${receiver.url}/`, SUPABASE_KEY: key } }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()

    expect(receiver.requests[0]!.path).toBe('/rest/v1/calls')
    expect(receiver.requests[0]!.headers.apikey).toBe(key)
  })

  it('still delivers every row when PostgREST answers 503 once, then 201', async () => {
    receiver.answerWith(503)
    client = createClient().use(supabase({ apiKey: key, baseUrl: receiver.url }))
    await runCalls(client)

    const delivered = receiver.requests.slice(1).flatMap((request) => request.json as SupabaseRow[])
    expect(delivered.map((row) => row.status).sort()).toEqual(['failure', 'success', 'success'])
  })

  exporterContract({ name: 'supabase', layer: (url, redact) => supabase({ apiKey: key, baseUrl: url, redact }), secrets: [key], receiver: { responseBody: '' } })

  it('fails at construction naming SUPABASE_URL, then SUPABASE_KEY, when missing', () => {
    expect(() => supabase({ env: {} })).toThrow(/SUPABASE_URL/)
    expect(() => supabase({ env: { SUPABASE_URL: 'http://127.0.0.1:9' } })).toThrow(/SUPABASE_KEY/)
  })

  it('rejects an unknown option naming it', () => {
    expect(() => supabase({ apiKey: key, baseUrl: 'http://127.0.0.1:9', key } as never)).toThrow(/supabase\(\) options/)
  })
})
