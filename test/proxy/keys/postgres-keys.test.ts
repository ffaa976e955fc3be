/**
 * Virtual keys and spend rows in the machine's PostgreSQL (a database of this file's own, dropped
 * after), through a forwarder the test can cut: a `serve` child keeps keys hashed in its schema,
 * writes one spend-log row per call with LiteLLM's columns, answers `/spend/logs` and
 * `/global/spend/report` from them, loses no row while the database is down, keeps its keys across a
 * restart, and lets no credential (master key, virtual key, provider key, database password) into a
 * reply, its output or a row.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startOpenAIFake, type OpenAIFake } from '../../../src/testing/openai-server'
import { spawnProxy, type SpawnedProxy } from '../fixtures/spawn-proxy'
import { ask, generateKey, manage, sdk, thrownBy } from './fixtures/key-client'
import { startTcpGate, type TcpGate } from './fixtures/tcp-gate'

const database = `llm_onion_keys_${randomBytes(4).toString('hex')}`
const masterKey = 'sk-master-plant-8c1e2f4a9b77'
const providerKey = 'sk-provider-plant-5d6e7f8a9b11'
const password = 'plant-db-password-1a2b3c4d'
const admin = new pg.Client({ connectionString: 'postgresql://postgres@127.0.0.1:5432/postgres' })
let reader: pg.Client
let gate: TcpGate
let upstream: OpenAIFake
let dir: string
let config: string
let proxy: SpawnedProxy
/** Every reply body the test received, but the /key/generate ones (which carry their key once). */
const replies: string[] = []
const outputs: string[] = []
/** Calls the test made with a virtual key, by its hash. */
const callsMade = new Map<string, number>()
let alice: { key: string; token: string }
let team: string

const env = () => ({ KEYS_MASTER_KEY: masterKey, PLANTED_PROVIDER_KEY: providerKey, UPSTREAM_BASE: upstream.url, LITELLM_RATE_LIMIT_WINDOW_SIZE: '600', DATABASE_URL: `postgresql://postgres:${password}@127.0.0.1:${gate.port}/${database}` })

async function start(): Promise<void> {
  proxy = await spawnProxy(['--config', config], env())
}
async function stop(): Promise<void> {
  outputs.push(proxy.output())
  await proxy.stop()
}
async function call(key: string, token: string, content: string, extra: Record<string, unknown> = {}): Promise<void> {
  const reply = await sdk(proxy.url, key).chat.completions.create({ model: 'gpt-upstream', messages: ask(content), user: 'customer-7', metadata: { tags: ['checkout'] }, ...extra } as never)
  replies.push(JSON.stringify(reply))
  callsMade.set(token, (callsMade.get(token) ?? 0) + 1)
}
async function rowsOf(token: string): Promise<Array<Record<string, any>>> {
  try {
    return (await reader.query('SELECT * FROM public.llm_onion_spend_logs WHERE api_key = $1 ORDER BY "startTime"', [token])).rows
  } catch (error) {
    // The proxy creates the table with its first batch of rows.
    if ((error as { code?: string }).code === '42P01') return []
    throw error
  }
}
/** The key's rows once there are `count` (or what there is after `ms`: the assertion then says). */
async function waitForRows(token: string, count: number, ms: number): Promise<Array<Record<string, any>>> {
  const deadline = Date.now() + ms
  let rows = await rowsOf(token)
  while (rows.length < count && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    rows = await rowsOf(token)
  }
  return rows
}
const get = async (path: string) => {
  const answer = await manage(proxy.url, masterKey, path)
  replies.push(JSON.stringify(answer.body))
  return answer
}

beforeAll(async () => {
  await admin.connect()
  await admin.query(`CREATE DATABASE ${database}`)
  reader = new pg.Client({ connectionString: `postgresql://postgres@127.0.0.1:5432/${database}` })
  await reader.connect()
  gate = await startTcpGate({ host: '127.0.0.1', port: 5432 })
  upstream = await startOpenAIFake()
  dir = mkdtempSync(join(tmpdir(), 'llm-onion-keys-pg-'))
  config = join(dir, 'config.yaml')
  writeFileSync(
    config,
    [
      'model_list:',
      '  - model_name: gpt-upstream',
      '    litellm_params:',
      '      model: openai/gpt-4o-mini',
      '      api_base: os.environ/UPSTREAM_BASE',
      '      api_key: os.environ/PLANTED_PROVIDER_KEY',
      '      input_cost_per_token: 0.000002',
      '      output_cost_per_token: 0.000004',
      'general_settings:',
      '  master_key: os.environ/KEYS_MASTER_KEY',
      '',
    ].join('\n'),
  )
  await start()
  team = (await manage(proxy.url, masterKey, '/team/new', { team_alias: 'payments' })).body.team_id
  alice = await generateKey(proxy.url, masterKey, { user_id: 'alice', team_id: team, key_alias: 'alice-key' })
}, 60_000)

afterAll(async () => {
  if (proxy) await stop()
  await upstream?.close()
  await gate?.close()
  await reader?.end()
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
  await admin.end()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('virtual keys in PostgreSQL', () => {
  it('keeps keys as their sha256 in a schema of their own, with LiteLLM\'s table names', async () => {
    const { rows } = await reader.query('SELECT token, key_name, key_alias, user_id, team_id FROM llm_onion."LiteLLM_VerificationToken"')
    expect(rows).toEqual([{ token: alice.token, key_name: `sk-...${alice.key.slice(-4)}`, key_alias: 'alice-key', user_id: 'alice', team_id: team }])
    // /key/list reads the same table: by team, and by alias.
    expect((await get(`/key/list?team_id=${team}`)).body).toEqual({ keys: [alice.token], total_count: 1, current_page: 1, total_pages: 1 })
    expect((await get('/key/list?key_alias=alice-key&return_full_object=true')).body.keys).toMatchObject([{ token: alice.token, user_id: 'alice', team_id: team }])
    const tables = await reader.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'llm_onion' ORDER BY 1`)
    expect(tables.rows.map((row) => row.table_name)).toEqual(['LiteLLM_TeamTable', 'LiteLLM_UserTable', 'LiteLLM_VerificationToken'])
  })

  it('writes one spend-log row per call, attributed to the key\'s hash, its user and team, the end user and the tags', async () => {
    for (let index = 0; index < 5; index++) await call(alice.key, alice.token, `question ${index}`)
    // A failure has a row too (cost 0), with the error; the upstream's echo of its key is scrubbed.
    upstream.enqueue({ kind: 'error', status: 401, message: `Incorrect API key provided: ${providerKey}.` })
    const failure = await thrownBy(sdk(proxy.url, alice.key).chat.completions.create({ model: 'gpt-upstream', messages: ask('fails'), user: 'customer-7' }))
    replies.push(JSON.stringify(failure.error))
    callsMade.set(alice.token, callsMade.get(alice.token)! + 1)
    const rows = await waitForRows(alice.token, callsMade.get(alice.token)!, 20_000)
    expect(rows).toHaveLength(callsMade.get(alice.token)!)
    expect(rows.filter((row) => row.status === 'success')).toHaveLength(5)
    for (const row of rows) expect(row).toMatchObject({ api_key: alice.token, user: 'alice', team_id: team, end_user: 'customer-7', model_group: 'gpt-upstream' })
    expect(rows.filter((row) => row.status === 'success').every((row) => row.request_tags.includes('checkout') && row.spend > 0)).toBe(true)
    const info = await get(`/key/info?key=${alice.key}`)
    const total = rows.reduce((sum, row) => sum + row.spend, 0)
    expect(info.body.info.spend).toBeCloseTo(total, 12)
  })

  it('answers /spend/logs and /global/spend/report from the rows', async () => {
    const logs = await get(`/spend/logs?api_key=${alice.key}`)
    expect(logs.body.map((row: { request_id: string }) => row.request_id).sort()).toEqual((await rowsOf(alice.token)).map((row) => row.request_id).sort())
    const today = new Date().toISOString().slice(0, 10)
    const summary = await get(`/spend/logs?user_id=alice&start_date=${today}&end_date=${today}`)
    const total = (await rowsOf(alice.token)).reduce((sum, row) => sum + row.spend, 0)
    expect(summary.body).toHaveLength(1)
    expect(summary.body[0].startTime).toBe(today)
    expect(summary.body[0].spend).toBeCloseTo(total, 12)
    expect(summary.body[0].users.alice).toBeCloseTo(total, 12)
    const byTeam = await get(`/global/spend/report?start_date=${today}&end_date=${today}`)
    expect(byTeam.body[0].group_by_day).toBe(today)
    const payments = byTeam.body[0].teams.find((entry: { team_name: string }) => entry.team_name === 'payments')
    expect(payments.total_spend).toBeCloseTo(total, 12)
    expect(payments.metadata[0]).toMatchObject({ model: 'gpt-4o-mini', api_key: alice.token })
    const byKey = await get(`/global/spend/report?start_date=${today}&end_date=${today}&group_by=api_key`)
    expect(byKey.body.find((entry: { api_key: string }) => entry.api_key === alice.token).total_cost).toBeCloseTo(total, 12)
    const byCustomer = await get(`/global/spend/report?start_date=${today}&end_date=${today}&group_by=customer`)
    expect(byCustomer.body[0].customers.find((entry: { customer: string }) => entry.customer === 'customer-7').total_spend).toBeCloseTo(total, 12)
    expect((await get('/global/spend/report')).status).toBe(400)
  })

  it('loses no spend row while PostgreSQL is down, answers 503 for a key it cannot check, and keeps keys across a restart', async () => {
    const bob = await generateKey(proxy.url, masterKey, { user_id: 'bob' })
    await call(alice.key, alice.token, 'before the outage')
    await gate.cut()
    try {
      // Alice's key is known to this process: her calls go on; Bob's was never read, and cannot be now.
      for (let index = 0; index < 4; index++) await call(alice.key, alice.token, `during the outage ${index}`)
      const refused = await thrownBy(sdk(proxy.url, bob.key).chat.completions.create({ model: 'gpt-upstream', messages: ask('hi') }))
      expect(refused.status).toBe(503)
      expect(refused.message).toContain('allow_requests_on_db_unavailable')
      replies.push(JSON.stringify(refused.error))
      await new Promise((resolve) => setTimeout(resolve, 1_500))
      // The rows of the calls made during the outage are held, not written and not dropped (read past the gate).
      expect((await rowsOf(alice.token)).length).toBeLessThanOrEqual(callsMade.get(alice.token)! - 4)
    } finally {
      await gate.restore()
    }
    expect(await waitForRows(alice.token, callsMade.get(alice.token)!, 30_000)).toHaveLength(callsMade.get(alice.token)!)

    await stop()
    await start()
    await call(bob.key, bob.token, 'after the restart')
    await call(alice.key, alice.token, 'after the restart')
  }, 60_000)

  it('lets no credential into a reply, the output or a row', async () => {
    const secrets = [masterKey, providerKey, password, alice.key]
    const everything = [...replies, ...outputs, proxy.output()].join('\n')
    const rows = await reader.query(`SELECT row_to_json(t)::text AS text FROM public.llm_onion_spend_logs t`)
    const keyRows = await reader.query(`SELECT row_to_json(t)::text AS text FROM llm_onion."LiteLLM_VerificationToken" t`)
    const stored = [...rows.rows, ...keyRows.rows].map((row) => row.text).join('\n')
    expect(rows.rows.length).toBeGreaterThan(0)
    for (const secret of secrets) {
      expect(everything).not.toContain(secret)
      expect(stored).not.toContain(secret)
    }
    // The upstream got the provider key, and never a virtual key or the master key.
    const sent = JSON.stringify(upstream.requests.map((request) => request.headers))
    expect(sent).toContain(providerKey)
    expect(sent).not.toContain(alice.key)
    expect(sent).not.toContain(masterKey)
  })
})
