import { describe, expect, it, vi } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { cloudzero, toCloudzeroRow, type CloudzeroBillingDrop, type CloudzeroRow } from 'llm-onion/middleware/cloudzero'
import type { CallEvent } from 'llm-onion'
import type { Receiver } from '../../src/testing/receiver'
import { exporterContract, prompt, receiverPerTest, runCalls } from './exporter-contract'

/** USD per million tokens: mock/echo has no price of its own, and an unpriced call sends no row. */
const cost = { prices: { 'mock/echo': { input: 2, output: 6 } } }
const connection = '1234abcd-1234-abcd-1234-abcd1234efgh'
const dropsPath = `/v2/connections/billing/anycost/${connection}/billing_drops`

/** What a proxied call's metadata holds about its virtual key and team (src/proxy/keys/spend-layer.ts). */
const keyMetadata = {
  user_api_key_hash: '88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b',
  user_api_key_alias: 'search-prod',
  user_api_key_team_id: 'Team_42',
  user_api_key_team_alias: 'search',
  user_api_key_user_email: 'ana@example.com',
}

function dropsOf(receiver: Receiver): CloudzeroBillingDrop[] {
  return receiver.requests.map((request) => JSON.parse(request.text) as CloudzeroBillingDrop)
}

function rowsOf(receiver: Receiver): CloudzeroRow[] {
  return dropsOf(receiver).flatMap((drop) => drop.data)
}

describe('cloudzero()', () => {
  let client: Client
  const receiver = receiverPerTest({ client: () => client })

  it('posts successful priced calls as CBF rows to the connection\'s billing_drops, summed into the month, with the API key as Authorization', async () => {
    client = createClient({ cost }).use(cloudzero({ apiKey: 'cz_test_key_1234', connectionId: connection, baseUrl: receiver.url }))
    await runCalls(client, { metadata: keyMetadata })

    expect(receiver.requests.length).toBeGreaterThan(0)
    for (const request of receiver.requests) {
      expect(request.method).toBe('POST')
      expect(request.path).toBe(dropsPath)
      // CloudZero's API reference: the key itself, no "Bearer".
      expect(request.headers.authorization).toBe('cz_test_key_1234')
      expect(request.headers['content-type']).toBe('application/json')
    }
    for (const drop of dropsOf(receiver)) {
      expect(Object.keys(drop).sort()).toEqual(['data', 'month', 'operation'])
      expect(drop.operation).toBe('sum')
      expect(drop.month).toMatch(/^\d{4}-\d{2}$/)
      for (const row of drop.data) expect(row['time/usage_start']!.startsWith(drop.month)).toBe(true)
    }
    // The failure is not exported: the plain success and the streamed one.
    const rows = rowsOf(receiver)
    expect(rows).toHaveLength(2)
    for (const row of rows) {
      // Every value is a string, as the AnyCost Stream API takes it.
      for (const value of Object.values(row)) expect(typeof value).toBe('string')
      expect(row['time/usage_start']).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/)
      expect(Math.abs(Date.parse(row['time/usage_start']!) - Date.now())).toBeLessThan(60_000)
    }
    const row = rows.find((candidate) => candidate['resource/tag:api_key_alias'] !== undefined && candidate['resource/tag:prompt_tokens'] !== undefined)!
    const promptTokens = Number(row['resource/tag:prompt_tokens'])
    const completionTokens = Number(row['resource/tag:completion_tokens'])
    expect(completionTokens).toBe(4)
    expect(row['usage/amount']).toBe(String(promptTokens + completionTokens))
    // 2 and 6 USD per million tokens.
    expect(Number(row['cost/cost'])).toBeCloseTo((promptTokens * 2 + completionTokens * 6) / 1e6, 12)
    expect(row['cost/cost']).not.toMatch(/e/i)
    expect(row).toMatchObject({
      'resource/id': 'czrn:litellm:mock:cross-region:team-42:llm-usage:echo',
      'usage/units': 'tokens',
      'resource/service': 'mock/echo',
      'resource/account': 'search-prod|88dc28d0',
      'resource/region': 'cross-region',
      'resource/usage_family': 'mock',
      'action/operation': 'Team_42',
      'lineitem/type': 'Usage',
      'resource/tag:provider': 'mock',
      'resource/tag:model': 'echo',
      'resource/tag:entity_type': 'team',
      'resource/tag:entity_id': 'search',
      'resource/tag:team_alias': 'search',
      'resource/tag:model_group': 'mock/echo',
      'resource/tag:api_key_prefix': '88dc28d0',
      'resource/tag:api_key_alias': 'search-prod',
      'resource/tag:user_email': 'ana@example.com',
      'resource/tag:api_requests': '1',
      'resource/tag:successful_requests': '1',
      'resource/tag:failed_requests': '0',
      'resource/tag:cache_creation_tokens': '0',
      'resource/tag:cache_read_tokens': '0',
    })
    // Nothing of the prompt, the reply or the key's full hash leaves.
    expect(receiver.requests.map((request) => request.text).join('\n')).not.toMatch(/capital|Paris|f030c55e/)
  })

  it('sends no row for a call whose price is unknown, rather than a false 0', async () => {
    client = createClient().use(cloudzero({ apiKey: 'cz_test_key_1234', connectionId: connection, baseUrl: receiver.url }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()

    expect(receiver.requests).toHaveLength(0)
  })

  it('leaves out the team and key columns of a call made without a virtual key, and names the team "unknown" in the CZRN', async () => {
    client = createClient({ cost }).use(cloudzero({ apiKey: 'cz_test_key_1234', connectionId: connection, baseUrl: receiver.url }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()

    const [row] = rowsOf(receiver)
    expect(row).toMatchObject({ 'resource/id': 'czrn:litellm:mock:cross-region:unknown:llm-usage:echo', 'resource/account': '', 'action/operation': '' })
    for (const column of ['entity_id', 'team_alias', 'api_key_prefix', 'api_key_alias', 'user_email']) expect(row).not.toHaveProperty(`resource/tag:${column}`)
  })

  it('sends a batch whose rows span two months as one billing drop per month', async () => {
    client = createClient({ cost, queue: { flushIntervalMs: 60_000 } }).use(cloudzero({ apiKey: 'cz_test_key_1234', connectionId: connection, baseUrl: receiver.url }))
    // Only Date is faked: the calls start a second either side of midnight at the end of January.
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      vi.setSystemTime(Date.UTC(2026, 0, 31, 23, 59, 59, 250))
      await client.chat({ model: 'mock/echo', messages: prompt })
      vi.setSystemTime(Date.UTC(2026, 1, 1, 0, 0, 0, 750))
      await client.chat({ model: 'mock/echo', messages: prompt })
    } finally {
      vi.useRealTimers()
    }
    await client.flush()

    const drops = dropsOf(receiver)
    expect(drops.map((drop) => ({ month: drop.month, times: drop.data.map((row) => row['time/usage_start']) }))).toEqual([
      { month: '2026-01', times: ['2026-01-31T23:59:59Z'] },
      { month: '2026-02', times: ['2026-02-01T00:00:00Z'] },
    ])
  })

  it('writes a cost in plain decimal notation and the CZRN provider as LiteLLM names it', () => {
    const row = toCloudzeroRow(eventAt(Date.UTC(2026, 2, 3, 4, 5, 6, 789), { provider: 'gemini', cost: 0.0000045 }))!
    expect(row['cost/cost']).toBe('0.0000045')
    expect(row['time/usage_start']).toBe('2026-03-03T04:05:06Z')
    expect(row['resource/id']).toBe('czrn:litellm:google:cross-region:unknown:llm-usage:gemini-2.5-flash-001')
    expect(row['resource/tag:provider']).toBe('gemini')
    expect(toCloudzeroRow(eventAt(0, { provider: 'vertex_ai', cost: 12 }))!['resource/id']).toBe('czrn:litellm:vertex-ai:cross-region:unknown:llm-usage:gemini-2.5-flash-001')
    expect(toCloudzeroRow(eventAt(0, { provider: 'openai', cost: 12 }))!['cost/cost']).toBe('12')
    expect(toCloudzeroRow({ ...eventAt(0, { provider: 'openai', cost: 1 }), status: 'failure' })).toBeUndefined()
  })

  exporterContract({
    name: 'cloudzero',
    layer: (url) => cloudzero({ apiKey: 'cz_test_key_1234', connectionId: connection, baseUrl: url }),
    client: { cost },
    secrets: ['cz_test_key_1234'],
    redactOn: [],
  })

  it('reads CLOUDZERO_API_KEY, CLOUDZERO_CONNECTION_ID and CLOUDZERO_API_BASE, and fails naming the variable that is missing', async () => {
    expect(() => cloudzero({ env: { CLOUDZERO_CONNECTION_ID: connection } })).toThrow(/CLOUDZERO_API_KEY/)
    expect(() => cloudzero({ env: { CLOUDZERO_API_KEY: 'cz_env_key_5678' } })).toThrow(/CLOUDZERO_CONNECTION_ID/)
    client = createClient({ cost }).use(cloudzero({ env: { CLOUDZERO_API_KEY: 'cz_env_key_5678', CLOUDZERO_CONNECTION_ID: connection, CLOUDZERO_API_BASE: `${receiver.url}/` } }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()

    expect(receiver.requests[0]!.path).toBe(dropsPath)
    expect(receiver.requests[0]!.headers.authorization).toBe('cz_env_key_5678')
  })

  it('sends "Bearer <key>", as LiteLLM does, with authorization: "bearer"; rejects options it does not know, naming them', async () => {
    client = createClient({ cost }).use(cloudzero({ apiKey: 'cz_test_key_1234', connectionId: connection, baseUrl: receiver.url, authorization: 'bearer' }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()

    expect(receiver.requests[0]!.headers.authorization).toBe('Bearer cz_test_key_1234')
    expect(() => cloudzero({ apiKey: 'k', connectionId: 'c', authorization: 'basic' as 'key' })).toThrow(/authorization/)
    expect(() => cloudzero({ apiKey: 'k', connectionId: 'c', operation: 'replace_hourly' } as never)).toThrow(/operation/)
    expect(() => cloudzero({ apiKey: 'k', connectionId: 'c', maxBatchSize: 5000 })).toThrow(/maxBatchSize/)
  })
})

/** A successful priced call that started at `startTime`, for the mapping alone. */
function eventAt(startTime: number, call: { provider: string; cost: number }): CallEvent {
  return {
    id: 'call-1', traceId: 'call-1', type: 'chat', status: 'success', streaming: false, model: 'gemini/gemini-2.5-flash', responseModel: 'gemini-2.5-flash-001',
    provider: call.provider, parameters: {}, usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 }, cost: { input: call.cost / 2, output: call.cost / 2, total: call.cost },
    startTime, endTime: startTime + 800, latencyMs: 800, metadata: {}, tags: [], cacheHit: false, attempts: [],
  }
}
