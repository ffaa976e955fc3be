/**
 * postgres() against the real PostgreSQL on 127.0.0.1:5432: each test file works in a database of its
 * own (created here, dropped after), writes rows through postgres() and reads them back with `pg`.
 */
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createClient, type Client, type DropInfo } from 'llm-onion'
import { postgres } from 'llm-onion/middleware/postgres'
import { prompt, runCalls } from './exporter-contract'

const database = `llm_onion_test_${randomBytes(4).toString('hex')}`
const password = 'plant-pg-password-5c6d7e8f'
// The server trusts local connections, so the password is never checked: it is there to be leaked, or not.
const connectionString = `postgresql://postgres:${password}@127.0.0.1:5432/${database}`
const admin = new pg.Client({ connectionString: 'postgresql://postgres@127.0.0.1:5432/postgres' })
let reader: pg.Client
let client: Client | undefined

beforeAll(async () => {
  await admin.connect()
  await admin.query(`CREATE DATABASE ${database}`)
  reader = new pg.Client({ connectionString })
  await reader.connect()
})

afterEach(async () => {
  await client?.close()
  client = undefined
})

afterAll(async () => {
  await reader?.end()
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
  await admin.end()
})

async function rowsOf(table: string, schema = 'public'): Promise<Array<Record<string, unknown>>> {
  const result = await reader.query(`SELECT * FROM "${schema}"."${table}" ORDER BY "startTime"`)
  return result.rows
}

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe('postgres()', () => {
  it('creates the table on first use and writes a success, a streamed success and a failure with LiteLLM spend-log columns', async () => {
    client = createClient({ cost: { prices: { 'mock/echo': { input: 1, output: 2 } } } }).use(postgres({ connectionString, table: 'calls' }))
    await runCalls(client, { success: { tags: ['checkout'] } })

    const rows = await rowsOf('calls')
    expect(rows.map((row) => row.status)).toEqual(['success', 'success', 'failure'])
    const [success, streamed, failure] = rows
    expect(success).toMatchObject({
      call_type: 'completion',
      api_key: '',
      model_group: 'mock/echo',
      custom_llm_provider: 'mock',
      end_user: 'user-7',
      cache_hit: 'False',
      request_tags: ['checkout'],
      messages: prompt,
      response: { object: 'chat.completion', choices: [{ message: { content: 'Paris is the capital.' } }] },
    })
    expect(success!.metadata).toEqual({ team: 'search' })
    expect(success!.spend).toBeGreaterThan(0)
    expect(success!.prompt_tokens).toBeGreaterThan(0)
    expect(success!.total_tokens).toBe((success!.prompt_tokens as number) + (success!.completion_tokens as number))
    expect(typeof success!.request_id).toBe('string')
    expect((success!.endTime as Date).getTime()).toBeGreaterThanOrEqual((success!.startTime as Date).getTime())
    expect(streamed!.completionStartTime).toBeInstanceOf(Date)
    expect(failure!.response).toEqual({})
    expect(failure!.metadata).toMatchObject({ error_information: { error_class: 'RateLimitError', error_message: 'Slow down', error_code: 429 } })
  })

  it('writes many calls as batched multi-row INSERTs, one row each, in a schema it creates', async () => {
    client = createClient().use(postgres({ env: { DATABASE_URL: connectionString }, schema: 'llm', table: 'batched', maxBatchSize: 10 }))
    await Promise.all(Array.from({ length: 25 }, (_, index) => client!.chat({ model: 'mock/echo', messages: [{ role: 'user', content: `call ${index}` }] })))
    await client.flush()

    const rows = await rowsOf('batched', 'llm')
    expect(rows).toHaveLength(25)
    expect(new Set(rows.map((row) => row.request_id)).size).toBe(25)
    expect(client.services.queue.stats().sinks.postgres).toMatchObject({ delivered: 25, pending: 0 })
  })

  it('creates its schema and table once when several processes start writing at the same moment (replicas), losing no row', async () => {
    // Each client stands for a replica: its own pool, the same table, all first writes at once.
    const dropped: DropInfo[] = []
    const replicas = Array.from({ length: 8 }, () =>
      createClient({ queue: { onDrop: (drop) => void dropped.push(drop) } }).use(postgres({ connectionString, schema: 'replicas', table: 'shared' })),
    )
    try {
      await Promise.all(replicas.map((replica, index) => replica.chat({ model: 'mock/echo', messages: [{ role: 'user', content: `replica ${index}` }] })))
      await Promise.all(replicas.map((replica) => replica.flush()))
    } finally {
      await Promise.all(replicas.map((replica) => replica.close()))
    }
    expect(dropped.map((drop) => String(drop.error))).toEqual([])
    expect(await rowsOf('shared', 'replicas')).toHaveLength(8)
  })

  it('stores "[redacted]" content when redact: { messages: true } is set on the layer or on the client', async () => {
    client = createClient().use(postgres({ connectionString, table: 'redacted_layer', redact: { messages: true } }))
    await runCalls(client)
    await client.close()
    client = createClient({ redact: { messages: true } }).use(postgres({ connectionString, table: 'redacted_client' }))
    await runCalls(client)

    for (const table of ['redacted_layer', 'redacted_client']) {
      const text = JSON.stringify(await rowsOf(table))
      expect(text).toContain('[redacted]')
      expect(text).not.toContain('capital of France')
      expect(text).not.toContain('Paris')
    }
  })

  it('never writes the provider key, an authorization header or the database password in a row', async () => {
    client = createClient().use(postgres({ connectionString, table: 'secrets' }))
    await runCalls(client, { metadata: { note: `the password is ${password}` } })

    const text = JSON.stringify(await rowsOf('secrets'))
    expect(text).toContain('the password is [redacted]')
    for (const secret of ['sk-secret', 'sk-provider-secret', password]) expect(text).not.toContain(secret)
    expect(text.toLowerCase()).not.toContain('authorization')
  })

  it('never fails a call when the database is unreachable, and counts the dropped rows', async () => {
    const drops: DropInfo[] = []
    const unreachable = `postgresql://postgres:${password}@127.0.0.1:${await closedPort()}/${database}`
    client = createClient({ queue: { retries: 1, minTimeoutMs: 1, maxTimeoutMs: 5, onDrop: (drop) => void drops.push(drop) } }).use(
      postgres({ connectionString: unreachable, timeoutMs: 1000 }),
    )
    const reply = await client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'fine' })
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()

    expect(reply.choices[0]!.message.content).toBe('fine')
    const stats = client.services.queue.stats().sinks.postgres!
    expect(stats.dropped.retries_exhausted).toBe(2)
    expect(stats.retries).toBeGreaterThanOrEqual(1)
    for (const drop of drops) expect(String((drop.error as Error).message)).not.toContain(password)
  })

  it('fails at construction naming DATABASE_URL when no connection string is given', () => {
    expect(() => postgres({ env: {} })).toThrow(/DATABASE_URL/)
  })

  it('rejects a table name that is not a plain identifier, naming the option', () => {
    expect(() => postgres({ connectionString, table: 'calls; DROP TABLE x' })).toThrow(/table/)
  })

  it('rejects a connection string that is not a postgresql:// URL without repeating it', () => {
    let message = ''
    try {
      postgres({ connectionString: `mysql://root:${password}@db/app` })
    } catch (error) {
      message = (error as Error).message
    }
    expect(message).toMatch(/postgresql:\/\//)
    expect(message).not.toContain(password)
  })
})
