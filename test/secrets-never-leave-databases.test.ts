/**
 * No credential leaves the process through the database destinations (postgres, supabase,
 * clickhouse), switched on as a LiteLLM user would: by name in `callbacks()`, with their settings in
 * the environment. A distinct secret is planted in every place one can enter — the provider's key
 * (environment and option), a request's `api_key`, the proxy request's authorization header, metadata
 * under several spellings, an upstream 401 that echoes the key, and each database's own credential.
 * Then every row, every request the Supabase receiver got, every console line, every thrown error and
 * every drop's error (with the databases failing) is searched for every secret.
 */
import { randomBytes } from 'node:crypto'
import { createServer as createHttpServer } from 'node:http'
import { createServer, type AddressInfo } from 'node:net'
import { format, inspect } from 'node:util'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createClient, openai, type DropInfo } from 'llm-onion'
import { callbacks } from 'llm-onion/middleware/callbacks'
import { startOpenAIFake, type OpenAIFake } from '../src/testing/openai-server'
import { startReceiver, type Receiver } from '../src/testing/receiver'
import { startClickhouse, type ClickhouseServer } from './fakes/clickhouse-server'

const planted = {
  openaiEnv: 'sk-plant-db-openai-env-4a5b6c7d',
  providerOption: 'sk-plant-db-provider-option-8e9f',
  requestApiKey: 'sk-plant-db-request-apikey-0a1b',
  headerBearer: 'sk-plant-db-header-bearer-2c3d4e',
  metaApiKey: 'plant-db-meta-api_key-5f6a7b8c',
  metaAuthorization: 'plant-db-meta-authorization-9d0e',
  metaToken: 'plant-db-meta-token-1f2a3b4c',
  postgresPassword: 'plant-db-postgres-password-5d6e',
  supabaseKey: 'plant-db-supabase-key-7f8a9b0c',
  clickhousePassword: 'plant-db-clickhouse-password-1d2e',
}
const secrets = Object.entries(planted)

function leaks(text: string, allowed: string[] = []): string[] {
  return secrets.filter(([, secret]) => !allowed.includes(secret) && text.includes(secret)).map(([name]) => name)
}

const database = `llm_onion_secrets_${randomBytes(4).toString('hex')}`
const admin = new pg.Client({ connectionString: 'postgresql://postgres@127.0.0.1:5432/postgres' })
const ask = [{ role: 'user' as const, content: 'What is the capital of France?' }]
const metadata = { api_key: planted.metaApiKey, authorization: `Bearer ${planted.metaAuthorization}`, token: planted.metaToken, team: 'search' }
const http = { method: 'POST', url: '/v1/chat/completions', headers: { authorization: `Bearer ${planted.headerBearer}` } }
const names = ['postgres', 'supabase', 'clickhouse']

async function closedPort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as AddressInfo
  await new Promise((resolve) => probe.close(resolve))
  return port
}

function errorText(error: unknown): string {
  return `${String(error)}\n${(error as Error)?.message}\n${inspect(error, { depth: 20 })}`
}

describe('no planted secret leaves through the database destinations', () => {
  let upstream: OpenAIFake
  let supabaseReceiver: Receiver
  let clickhouseServer: ClickhouseServer
  beforeAll(async () => {
    upstream = await startOpenAIFake()
    supabaseReceiver = await startReceiver({ responseBody: '' })
    clickhouseServer = await startClickhouse({ username: 'writer', password: planted.clickhousePassword })
    await admin.connect()
    await admin.query(`CREATE DATABASE ${database}`)
  }, 40_000)
  afterAll(async () => {
    vi.unstubAllEnvs()
    vi.restoreAllMocks()
    await upstream?.close()
    await supabaseReceiver?.close()
    await clickhouseServer?.stop()
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
    await admin.end()
  })

  function stubEnvironment(overrides: Record<string, string> = {}): void {
    const environment: Record<string, string> = {
      OPENAI_API_KEY: planted.openaiEnv,
      OPENAI_BASE_URL: upstream.url,
      DATABASE_URL: `postgresql://postgres:${planted.postgresPassword}@127.0.0.1:5432/${database}`,
      SUPABASE_URL: supabaseReceiver.url,
      SUPABASE_KEY: planted.supabaseKey,
      CLICKHOUSE_HOST: '127.0.0.1',
      CLICKHOUSE_PORT: new URL(clickhouseServer.url).port,
      CLICKHOUSE_USERNAME: 'writer',
      CLICKHOUSE_PASSWORD: planted.clickhousePassword,
      ...overrides,
    }
    for (const [name, value] of Object.entries(environment)) vi.stubEnv(name, value)
  }

  async function runCalls(queue: Record<string, unknown> = {}): Promise<{ printed: string[]; thrown: string[] }> {
    const printed: string[] = []
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void printed.push(format(...args)))
    }
    const gateway = openai({ name: 'gateway', apiKey: planted.providerOption, baseURL: upstream.url, transport: 'http' })
    const client = createClient({ providers: { gateway }, queue }).use(callbacks({ success: names, failure: names }))
    const thrown: string[] = []
    const request = { messages: ask, metadata, api_key: planted.requestApiKey, user: 'user-7' }
    await client.chat({ model: 'openai/gpt-4o-mini', ...request }, { http })
    for await (const _chunk of client.stream({ model: 'gateway/gateway-model', ...request })) void _chunk
    upstream.enqueue({ kind: 'error', status: 401, message: `Incorrect API key provided: ${planted.openaiEnv} (Authorization: Bearer ${planted.openaiEnv}).` })
    await client.chat({ model: 'openai/gpt-4o-mini', ...request }, { http }).then(
      () => expect.unreachable('the upstream answered 401'),
      (error: unknown) => void thrown.push(errorText(error)),
    )
    await client.close()
    vi.restoreAllMocks()
    return { printed, thrown }
  }

  it('rows, the Supabase requests, console lines and thrown errors hold none but the destination’s own credential', async () => {
    stubEnvironment()
    const { printed, thrown } = await runCalls()
    vi.unstubAllEnvs()

    const reader = new pg.Client({ connectionString: `postgresql://postgres@127.0.0.1:5432/${database}` })
    await reader.connect()
    const postgresRows = (await reader.query('SELECT * FROM llm_onion_spend_logs')).rows
    await reader.end()
    const clickhouseRows = await clickhouseServer.rows('SELECT * FROM default.spend_logs')
    const supabaseBodies = supabaseReceiver.requests.map((request) => `${request.path}?${request.query}\n${request.text}`).join('\n')
    const supabaseHeaders = supabaseReceiver.requests.map((request) => JSON.stringify(request.headers)).join('\n')

    expect(postgresRows).toHaveLength(3)
    expect(clickhouseRows).toHaveLength(3)
    expect(supabaseReceiver.requests.length).toBeGreaterThan(0)
    expect(JSON.stringify(postgresRows)).toContain('Incorrect API key provided: [redacted]')
    expect(leaks(JSON.stringify(postgresRows))).toEqual([])
    expect(leaks(JSON.stringify(clickhouseRows))).toEqual([])
    expect(leaks(supabaseBodies)).toEqual([])
    expect(leaks(supabaseHeaders, [planted.supabaseKey])).toEqual([])
    expect(leaks(printed.join('\n'))).toEqual([])
    expect(thrown.join('\n')).toContain('[redacted]')
    expect(leaks(thrown.join('\n'))).toEqual([])
  })

  it('with every database failing, the calls succeed and no drop error or console line holds a secret', async () => {
    stubEnvironment({
      DATABASE_URL: `postgresql://postgres:${planted.postgresPassword}@127.0.0.1:${await closedPort()}/${database}`,
      CLICKHOUSE_PASSWORD: 'plant-db-wrong-clickhouse-password',
    })
    // PostgREST's answer to a bad key does not echo it; this one does, to prove the scrubber holds.
    const echoing = createHttpServer((request, response) => {
      response.writeHead(401, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ message: `Invalid API key: ${request.headers.apikey}` }))
    })
    await new Promise<void>((resolve) => echoing.listen(0, '127.0.0.1', resolve))
    vi.stubEnv('SUPABASE_URL', `http://127.0.0.1:${(echoing.address() as AddressInfo).port}`)
    const drops: DropInfo[] = []
    const { printed, thrown } = await runCalls({ retries: 1, minTimeoutMs: 1, maxTimeoutMs: 5, onDrop: (drop: DropInfo) => void drops.push(drop) })
    vi.unstubAllEnvs()
    await new Promise((resolve) => echoing.close(resolve))

    expect(thrown).toHaveLength(1)
    expect(new Set(drops.map((drop) => drop.sink))).toEqual(new Set(names))
    const dropText = drops.map((drop) => errorText(drop.error)).join('\n')
    // The echoing 401 reached the drop's error (scrubbed): what the test looks for was there to leak.
    expect(dropText).toContain('Invalid API key: [redacted]')
    expect(leaks(dropText)).toEqual([])
    expect(dropText).not.toContain('plant-db-wrong-clickhouse-password')
    expect(leaks(printed.join('\n'))).toEqual([])
  })
})
