/**
 * clickhouse() against a real ClickHouse (Debian's clickhouse-server, started for this file on free
 * local ports with a temporary data directory): rows written through clickhouse() are read back with
 * a query over ClickHouse's own HTTP interface.
 */
import { createServer, type AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createClient, type Client, type DropInfo } from 'llm-onion'
import { clickhouse } from 'llm-onion/middleware/clickhouse'
import { startClickhouse, type ClickhouseServer } from '../fakes/clickhouse-server'
import { prompt, runCalls } from './exporter-contract'

const writer = { username: 'writer', password: 'plant-ch-password-2d3e4f5a' }
let server: ClickhouseServer
let client: Client | undefined

beforeAll(async () => {
  server = await startClickhouse(writer)
}, 40_000)

afterEach(async () => {
  await client?.close()
  client = undefined
})

afterAll(async () => {
  await server?.stop()
})

const layer = (options: Parameters<typeof clickhouse>[0] = {}) => clickhouse({ baseUrl: server.url, ...writer, ...options })

async function closedPort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as AddressInfo
  await new Promise((resolve) => probe.close(resolve))
  return port
}

describe('clickhouse()', () => {
  it('creates the table on first use and inserts a success, a streamed success and a failure as JSONEachRow rows', async () => {
    client = createClient({ cost: { prices: { 'mock/echo': { input: 1, output: 2 } } } }).use(layer({ table: 'calls' }))
    await runCalls(client, { success: { tags: ['checkout'] } })

    const rows = await server.rows('SELECT * FROM default.calls ORDER BY startTime, request_duration_ms')
    expect(rows.map((row) => row.status).sort()).toEqual(['failure', 'success', 'success'])
    const success = rows.find((row) => row.end_user === 'user-7')!
    expect(success).toMatchObject({ call_type: 'completion', api_key: '', model_group: 'mock/echo', custom_llm_provider: 'mock', cache_hit: 'False' })
    expect(success.spend as number).toBeGreaterThan(0)
    expect(Number(success.prompt_tokens)).toBeGreaterThan(0)
    expect(success.startTime).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/)
    expect(JSON.parse(success.messages as string)).toEqual(prompt)
    expect(JSON.parse(success.metadata as string)).toEqual({ team: 'search' })
    expect(JSON.parse(success.request_tags as string)).toEqual(['checkout'])
    expect(JSON.parse(success.response as string)).toMatchObject({ choices: [{ message: { content: 'Paris is the capital.' } }] })
    const failure = rows.find((row) => row.status === 'failure')!
    expect(JSON.parse(failure.metadata as string)).toMatchObject({ error_information: { error_class: 'RateLimitError', error_code: 429 } })
    expect(rows.filter((row) => row.completionStartTime !== null)).toHaveLength(1)
  })

  it('reads CLICKHOUSE_HOST, CLICKHOUSE_PORT, CLICKHOUSE_USERNAME and CLICKHOUSE_PASSWORD, and creates the database it is given', async () => {
    const port = new URL(server.url).port
    client = createClient().use(
      clickhouse({
        database: 'llm',
        env: { CLICKHOUSE_HOST: '127.0.0.1', CLICKHOUSE_PORT: port, CLICKHOUSE_USERNAME: writer.username, CLICKHOUSE_PASSWORD: writer.password },
      }),
    )
    await Promise.all(Array.from({ length: 30 }, (_, index) => client!.chat({ model: 'mock/echo', messages: [{ role: 'user', content: `call ${index}` }] })))
    await client.flush()

    const [count] = await server.rows('SELECT count() AS rows, uniqExact(request_id) AS ids FROM llm.spend_logs')
    expect(count).toEqual({ rows: '30', ids: '30' })
  })

  it('stores "[redacted]" content when redact: { messages: true } is set on the layer or on the client', async () => {
    client = createClient().use(layer({ table: 'redacted_layer', redact: { messages: true } }))
    await runCalls(client)
    await client.close()
    client = createClient({ redact: { messages: true } }).use(layer({ table: 'redacted_client' }))
    await runCalls(client)

    for (const table of ['redacted_layer', 'redacted_client']) {
      const text = JSON.stringify(await server.rows(`SELECT * FROM default.${table}`))
      expect(text).toContain('[redacted]')
      expect(text).not.toContain('capital of France')
      expect(text).not.toContain('Paris')
    }
  })

  it('never writes the provider key, an authorization header or the ClickHouse password in a row', async () => {
    client = createClient().use(layer({ table: 'secrets' }))
    await runCalls(client, { metadata: { note: `the password is ${writer.password}` } })

    const text = JSON.stringify(await server.rows('SELECT * FROM default.secrets'))
    expect(text).toContain('the password is [redacted]')
    for (const secret of ['sk-secret', 'sk-provider-secret', writer.password]) expect(text).not.toContain(secret)
    expect(text.toLowerCase()).not.toContain('authorization')
  })

  it('never fails a call when ClickHouse refuses the password or is unreachable, and counts the dropped rows', async () => {
    const drops: DropInfo[] = []
    const queue = { retries: 1, minTimeoutMs: 1, maxTimeoutMs: 5, onDrop: (drop: DropInfo) => void drops.push(drop) }
    client = createClient({ queue }).use(clickhouse({ baseUrl: server.url, username: writer.username, password: 'plant-wrong-password-6b7c', table: 'refused' }))
    const reply = await client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'fine' })
    await client.flush()
    expect(reply.choices[0]!.message.content).toBe('fine')
    expect(Object.values(client.services.queue.stats().sinks.clickhouse!.dropped).reduce((sum, count) => sum + count, 0)).toBe(1)
    await client.close()

    client = createClient({ queue }).use(clickhouse({ baseUrl: `http://127.0.0.1:${await closedPort()}`, ...writer }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    expect(client.services.queue.stats().sinks.clickhouse!.dropped.retries_exhausted).toBe(1)

    expect(drops).toHaveLength(2)
    for (const drop of drops) {
      const text = `${(drop.error as Error).message} ${String((drop.error as Error).cause ?? '')}`
      expect(text).not.toContain(writer.password)
      expect(text).not.toContain('plant-wrong-password-6b7c')
    }
  })

  it('fails at construction naming CLICKHOUSE_HOST when neither it nor baseUrl is given', () => {
    expect(() => clickhouse({ env: {} })).toThrow(/CLICKHOUSE_HOST/)
  })

  it('rejects a table name that is not a plain identifier, naming the option', () => {
    expect(() => clickhouse({ baseUrl: 'http://127.0.0.1:9', table: 'calls; DROP TABLE x' })).toThrow(/table/)
  })
})
