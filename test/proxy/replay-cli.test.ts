/**
 * The cassette commands as a user runs them: `llm-onion serve --record <dir>` driven by the official
 * `openai` client writes every call (and no key) to a cassette; `llm-onion replay <dir> --config`
 * re-runs that traffic through another config and prints, per model, what it cost, what it costs
 * re-run, and what it would cost on other models, priced independently here by @pydantic/genai-prices.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { calcPrice } from '@pydantic/genai-prices'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readCassettes, startOpenAIFake, type OpenAIFake } from '../../src/testing/index'
import { runCli, spawnProxy } from './fixtures/spawn-proxy'

const masterKey = 'sk-plant-cassette-master-8c1d2e'
const upstreamKey = 'sk-plant-cassette-upstream-4f5a6b'
const work = mkdtempSync(join(tmpdir(), 'llm-onion-replay-cli-'))
const cassettes = join(work, 'cassettes')
let recordingFake: OpenAIFake
let rerunFake: OpenAIFake
let serveOutput = ''
let serveExit: number | null = null

/** A config serving `gpt-4o` and `text-embedding-3-small` with the given upstream models at `fake`. */
function writeConfig(name: string, fake: OpenAIFake, chatModel: string): string {
  const path = join(work, name)
  writeFileSync(
    path,
    [
      'model_list:',
      '  - model_name: gpt-4o',
      `    litellm_params: { model: openai/${chatModel}, api_key: os.environ/CASSETTE_UPSTREAM_KEY, api_base: ${fake.url} }`,
      '  - model_name: text-embedding-3-small',
      `    litellm_params: { model: openai/text-embedding-3-small, api_key: os.environ/CASSETTE_UPSTREAM_KEY, api_base: ${fake.url} }`,
      'general_settings:',
      '  master_key: os.environ/CASSETTE_MASTER_KEY',
      '',
    ].join('\n'),
  )
  return path
}

const environment = { CASSETTE_UPSTREAM_KEY: upstreamKey, CASSETTE_MASTER_KEY: masterKey }

beforeAll(async () => {
  recordingFake = await startOpenAIFake()
  rerunFake = await startOpenAIFake()
  const proxy = await spawnProxy(['--config', writeConfig('record.yaml', recordingFake, 'gpt-4o'), '--record', cassettes], environment)
  const openai = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: masterKey, maxRetries: 0 })
  recordingFake.enqueue({ kind: 'chat', content: 'Recorded through the proxy.' })
  await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: `Hello, my key is ${masterKey}` }] })
  recordingFake.enqueue({ kind: 'chat', content: 'A streamed reply through the proxy.' })
  const stream = await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Stream, please' }], stream: true })
  for await (const _chunk of stream) void _chunk
  await openai.embeddings.create({ model: 'text-embedding-3-small', input: ['one', 'two'] })
  recordingFake.enqueue({ kind: 'error', status: 429, message: 'Rate limit reached.' })
  await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Too fast' }] }).catch(() => undefined)
  serveExit = await proxy.stop()
  serveOutput = proxy.output()
})

afterAll(async () => {
  await recordingFake.close()
  await rerunFake.close()
  rmSync(work, { recursive: true, force: true })
})

describe('llm-onion serve --record', () => {
  it('exits 1 at start when the folder cannot be created, naming the flag and the folder', async () => {
    const file = join(work, 'a-file')
    writeFileSync(file, 'not a folder')
    const { code, output } = await runCli(['serve', '--port', '0', '--record', join(file, 'cassettes')])
    expect(code).toBe(1)
    expect(output).toContain(`--record ${join(file, 'cassettes')}: the folder cannot be created`)
  })

  it('says where it records, and writes every call by the time it has stopped', () => {
    expect(serveExit).toBe(0)
    expect(serveOutput).toContain(`recording every call to ${cassettes}`)
    const entries = readCassettes(cassettes).map(({ entry }) => entry)
    expect(entries.map((entry) => [entry.request.model, entry.type, entry.streaming, entry.error?.status])).toEqual([
      ['gpt-4o', 'chat', false, undefined],
      ['gpt-4o', 'chat', true, undefined],
      ['text-embedding-3-small', 'embedding', false, undefined],
      ['gpt-4o', 'chat', false, 429],
    ])
    expect(entries[1]!.chunks!.length).toBeGreaterThan(3)
    // The proxy's deployments use the undici transport: its response headers are kept too, errors' included.
    expect(entries[0]!.headers?.['x-request-id']).toMatch(/^req_fake_/)
    expect(entries[3]!.headers?.['content-type']).toBe('application/json')
  })

  it('writes neither the master key nor the upstream key, though both travelled', () => {
    expect(recordingFake.requests[0]!.headers.authorization).toBe(`Bearer ${upstreamKey}`)
    const bytes = readdirSync(cassettes).map((name) => readFileSync(join(cassettes, name), 'utf8')).join('\n')
    expect(bytes).not.toContain(masterKey)
    expect(bytes).not.toContain(upstreamKey)
    expect(bytes).toContain('Hello, my key is [redacted]')
  })
})

describe('llm-onion replay', () => {
  it('re-runs the traffic through another config and prices it per model, as JSON', async () => {
    const config = writeConfig('cheaper.yaml', rerunFake, 'gpt-4o-mini')
    const { code, output } = await runCli(['replay', cassettes, '--config', config, '--price-as', 'openai/gpt-4o-mini', '--price-as', 'gemini/gemini-2.5-flash', '--json'], environment)
    expect(code, output).toBe(0)
    const report = JSON.parse(output)
    const entries = readCassettes(cassettes).map(({ entry }) => entry)
    const chats = entries.filter((entry) => entry.request.model === 'gpt-4o')
    const price = (model: string, providerId: string, usage: { inputTokens: number; outputTokens: number }) => calcPrice({ input_tokens: usage.inputTokens, output_tokens: usage.outputTokens }, model, { providerId })!.total_price
    const sum = (values: number[]) => values.reduce((total, value) => total + value, 0)
    const priced = chats.filter((entry) => entry.usage)
    const row = report.models.find((model: { model: string }) => model.model === 'gpt-4o')
    expect(row).toMatchObject({ calls: 3, failed: 1 })
    expect(row.recorded.usd).toBeCloseTo(sum(priced.map((entry) => price('gpt-4o', 'openai', entry.usage!))), 12)
    expect(row.priceAs['openai/gpt-4o-mini'].usd).toBeCloseTo(sum(priced.map((entry) => price('gpt-4o-mini', 'openai', entry.usage!))), 12)
    expect(row.priceAs['gemini/gemini-2.5-flash'].usd).toBeCloseTo(sum(priced.map((entry) => price('gemini-2.5-flash', 'google', entry.usage!))), 12)
    // The re-run went to the cheaper model at the second fake, the 429 included (nothing was queued there).
    expect(rerunFake.requests.map((request) => request.body.model)).toEqual(['gpt-4o-mini', 'gpt-4o-mini', 'text-embedding-3-small', 'gpt-4o-mini'])
    expect(row.rerun).toMatchObject({ calls: 3, failed: 0, servedBy: { 'openai/gpt-4o-mini': 3 } })
    expect(row.rerun.usd).toBeGreaterThan(0)
    expect(row.rerun.usd).toBeLessThan(row.recorded.usd)
    expect(report.total.calls).toBe(4)
  })

  it('prints a table with a column per --price-as model, without re-running when no config is given', async () => {
    const before = rerunFake.requests.length
    const { code, output } = await runCli(['replay', cassettes, '--price-as', 'openai/gpt-4o-mini'], environment)
    expect(code, output).toBe(0)
    expect(rerunFake.requests.length).toBe(before)
    const lines = output.split('\n')
    expect(lines[0]).toBe(`4 recorded calls from ${cassettes}`)
    expect(lines[2]).toMatch(/^model\s+calls\s+failed\s+input tokens\s+output tokens\s+recorded\s+on openai\/gpt-4o-mini$/)
    expect(lines.find((line) => line.startsWith('gpt-4o '))).toMatch(/^gpt-4o\s+3\s+1\s+\d+\s+\d+\s+\$\d\.\d{6}\s+\$\d\.\d{6}$/)
    expect(lines.find((line) => line.startsWith('total '))).toMatch(/^total\s+4\s+1\s/)
  })

  it('exits 1 naming a --price-as model that has no price, and a path that holds no cassettes', async () => {
    const unknown = await runCli(['replay', cassettes, '--price-as', 'nobody/no-such-model'])
    expect(unknown.code).toBe(1)
    expect(unknown.output).toContain('--price-as nobody/no-such-model: no price for this model')
    const missing = await runCli(['replay', join(work, 'nothing-here')])
    expect(missing.code).toBe(1)
    expect(missing.output).toContain(`Cannot read the cassettes at ${join(work, 'nothing-here')}: no such file or folder`)
    expect(missing.output).not.toContain('    at ')
  })
})
