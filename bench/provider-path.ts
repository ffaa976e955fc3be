/**
 * Where a proxied call's CPU goes on the way to the upstream: the same chat completion to the mock
 * upstream (its own process, core 1) through raw `undici` `request`, WHATWG `fetch`, the `openai`
 * SDK, and the llm-onion client on `openai()` with each transport (`sdk`, `http`). The proxy's throughput ceiling is one
 * core divided by its CPU per request, so this explains most of the proxy table.
 *
 * `node --import tsx bench/provider-path.ts` prints `BENCH_RESULT {json}` (CPU µs and wall µs per call).
 */
import OpenAI from 'openai'
import { Pool } from 'undici'
import { createClient } from '../src/client'
import { openai } from '../src/providers/openai/provider'
import { startChild, tsNode } from './processes'
import { emitResult, median, quick, round } from './stats'

const iterations = quick ? 300 : 2_000
const batches = quick ? 2 : 5

async function main(): Promise<void> {
  const [command, args] = tsNode(new URL('./mock-upstream.ts', import.meta.url).pathname)
  const upstream = await startChild(command, args, { core: 1 })
  process.on('exit', () => upstream.process.kill('SIGKILL'))
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130))
  const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello.' }] })
  const pool = new Pool(upstream.url, { connections: 4, keepAliveTimeout: 60_000 })
  const sdk = new OpenAI({ apiKey: 'sk-bench', baseURL: `${upstream.url}/v1`, maxRetries: 0 })
  const client = createClient({ providers: { openai: openai({ apiKey: 'sk-bench', baseURL: `${upstream.url}/v1` }) } })
  const httpClient = createClient({ providers: { openai: openai({ apiKey: 'sk-bench', baseURL: `${upstream.url}/v1`, transport: 'http' }) } })
  const contestants: Record<string, () => Promise<unknown>> = {
    undiciRequest: async () => {
      const response = await pool.request({ path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' }, body })
      return response.body.json()
    },
    fetch: async () => {
      const response = await fetch(`${upstream.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' }, body })
      return response.json()
    },
    openaiSdk: () => sdk.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello.' }] }),
    onionClient: () => client.chat({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello.' }] }),
    onionClientHttpTransport: () => httpClient.chat({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello.' }] }),
  }
  const cpu: Record<string, number[]> = {}
  const wall: Record<string, number[]> = {}
  for (const call of Object.values(contestants)) for (let index = 0; index < iterations; index++) await call()
  for (let batch = 0; batch < batches; batch++) {
    for (const [name, call] of Object.entries(contestants)) {
      const cpuStarted = process.cpuUsage()
      const started = performance.now()
      for (let index = 0; index < iterations; index++) await call()
      const used = process.cpuUsage(cpuStarted)
      ;(cpu[name] ??= []).push((used.user + used.system) / iterations)
      ;(wall[name] ??= []).push(((performance.now() - started) * 1000) / iterations)
    }
  }
  await client.close()
  await httpClient.close()
  await pool.close()
  await upstream.stop()
  const result = Object.fromEntries(Object.keys(contestants).map((name) => [name, { cpuUs: round(median(cpu[name]!)), wallUs: round(median(wall[name]!)) }]))
  process.stderr.write(`${JSON.stringify(result)}\n`)
  emitResult(result)
}

await main()
