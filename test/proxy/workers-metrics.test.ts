/**
 * `GET /metrics` under `llm-onion serve --workers 2`, scraped as Prometheus does, on one port: each
 * scrape counts every worker's requests, whichever worker takes it, in an exposition promtool
 * accepts; a worker that does not answer counts as of its last answer and the scrape says so; a
 * worker that dies keeps its counts.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { get } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { afterAll, describe, expect, it } from 'vitest'
import { createProxyServer } from '../../src/proxy/index'
import { eventually, readRecords, spawnProxy, type SpawnedProxy } from './fixtures/spawn-proxy'

const started: SpawnedProxy[] = []
afterAll(async () => {
  await Promise.all(started.map((proxy) => proxy.stop()))
})

/** One scrape on a connection of its own, as each Prometheus scrape may be: status and body. */
function scrape(url: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    get(`${url}/metrics`, { agent: false }, (response) => {
      let text = ''
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk))
      response.on('end', () => resolve({ status: response.statusCode!, text }))
    }).on('error', reject)
  })
}

/** Runs Debian's `promtool check metrics`; throws with promtool's output when it objects. */
function promtoolCheck(exposition: string): string {
  return execFileSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] })
}

/** The value of one sample line, by its exact name and labels. */
function sample(exposition: string, series: string): number | undefined {
  const line = exposition.split('\n').find((candidate) => candidate.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

/** Sends rounds of 8 calls, 4 at a time, until both workers have served some; resolves to how many calls were made. */
async function callUntilBothServed(openai: OpenAI, logFile: string): Promise<number> {
  let sent = 0
  for (let round = 0; round < 20; round++) {
    for (let offset = 0; offset < 8; offset += 4) {
      await Promise.all(Array.from({ length: 4 }, (_, index) => openai.chat.completions.create({ model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: `call ${sent + offset + index}` }] })))
    }
    sent += 8
    await expect.poll(() => readRecords(logFile).length, { timeout: 10_000 }).toBe(sent)
    if (new Set(readRecords(logFile).map((record) => record.pid)).size === 2) return sent
  }
  return sent
}

async function startTwoWorkers(): Promise<{ proxy: SpawnedProxy; logFile: string; openai: OpenAI }> {
  const logFile = join(mkdtempSync(join(tmpdir(), 'llm-onion-worker-metrics-')), 'calls.jsonl')
  const proxy = await spawnProxy(['--config', 'test/proxy/fixtures/workers-metrics.yaml', '--workers', '2'], { PROXY_TEST_LOG: logFile })
  started.push(proxy)
  return { proxy, logFile, openai: new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'unused', maxRetries: 0 }) }
}

const chats = 'llm_onion_requests_total{provider="mock",model="gpt-3.5-turbo",status="success"}'

describe('GET /metrics under serve --workers', () => {
  it('counts the requests of every worker, whichever worker takes the scrape, in an exposition promtool accepts', async () => {
    const { proxy, logFile, openai } = await startTwoWorkers()
    const sent = await callUntilBothServed(openai, logFile)
    const pids = new Set(readRecords(logFile).map((record) => record.pid))
    expect(pids.size, proxy.output()).toBe(2)

    // Each scrape on a fresh connection: the primary deals connections to both workers, neither of which served all the calls.
    for (let index = 0; index < 6; index++) {
      const { status, text } = await scrape(proxy.url)
      expect(status).toBe(200)
      expect(promtoolCheck(text)).toBe('')
      expect(sample(text, chats)).toBe(sent)
      expect(sample(text, 'llm_onion_proxy_http_requests_total{route="/v1/chat/completions",status="200"}')).toBe(sent)
      expect(sample(text, 'llm_onion_request_duration_seconds_count{provider="mock",model="gpt-3.5-turbo",status="success"}')).toBe(sent)
      // The scrapes before this one, whichever worker answered them; this one is the request in flight.
      expect(sample(text, 'llm_onion_proxy_http_requests_total{route="/metrics",status="200"}') ?? 0).toBe(index)
      expect(sample(text, 'llm_onion_proxy_http_requests_in_flight')).toBe(1)
      expect(sample(text, 'llm_onion_metrics_workers_missing')).toBe(0)
      expect(text.match(/^# TYPE llm_onion_requests_total counter$/gm)).toHaveLength(1)
    }
    expect(await proxy.stop()).toBe(0)
  }, 90_000)

  it('counts a worker that does not answer as of its last answer, and one that ended as of its last answer, and says who is missing', async () => {
    const { proxy, logFile, openai } = await startTwoWorkers()
    const sent = await callUntilBothServed(openai, logFile)
    const [stopped] = [...new Set(readRecords(logFile).map((record) => record.pid as number))] as [number, number]
    const first = await scrape(proxy.url)
    expect(sample(first.text, chats)).toBe(sent)

    process.kill(stopped, 'SIGSTOP')
    try {
      // A connection dealt to the stopped worker waits; the primary deals no other to it, so one of three reaches the running one.
      const { status, text } = await Promise.any([scrape(proxy.url), scrape(proxy.url), scrape(proxy.url)])
      expect(status).toBe(200)
      expect(promtoolCheck(text)).toBe('')
      expect(text).toContain(`# llm-onion: worker(s) ${stopped} did not answer in time; their counters are as of their last answer, their gauges are left out`)
      expect(sample(text, 'llm_onion_metrics_workers_missing')).toBe(1)
      // Its calls still count: a total that dropped would look like a counter reset to Prometheus.
      expect(sample(text, chats)).toBe(sent)
    } finally {
      process.kill(stopped, 'SIGCONT')
    }

    // The stopped worker has answered since; now it dies, and a new one takes its place.
    await scrape(proxy.url)
    process.kill(stopped, 'SIGKILL')
    await eventually(() => proxy.output().includes(`worker ${stopped} ended (signal SIGKILL); starting another`))
    await eventually(() => /worker \d+ is serving/.test(proxy.output()), 30_000)
    for (let index = 0; index < 3; index++) {
      const { text } = await scrape(proxy.url)
      expect(promtoolCheck(text)).toBe('')
      expect(sample(text, chats)).toBe(sent)
      expect(sample(text, 'llm_onion_proxy_http_requests_total{route="/v1/chat/completions",status="200"}')).toBe(sent)
      expect(sample(text, 'llm_onion_metrics_workers_missing')).toBe(0)
    }
    expect(await proxy.stop()).toBe(0)
  }, 90_000)
})

describe('createProxyServer({ gatherMetrics })', () => {
  it('serves its own metrics without it, and what gatherMetrics gives with it, or 503 with the reason when that fails', async () => {
    const single = await createProxyServer()
    const { url } = await single.listen({ port: 0 })
    const own = await scrape(url)
    await single.close()
    expect(own.status).toBe(200)
    expect(own.text).toContain('# TYPE llm_onion_proxy_http_requests_in_flight gauge')
    expect(own.text).not.toContain('llm_onion_metrics_workers_missing')

    let fail = false
    const gathered = await createProxyServer({
      gatherMetrics: async () => {
        if (fail) throw new Error('GET /metrics: the primary process sent no merged metrics within 5 s')
        return `# merged\n${gathered.metrics()}`
      },
    })
    const address = await gathered.listen({ port: 0 })
    try {
      const merged = await scrape(address.url)
      expect(merged.status).toBe(200)
      expect(merged.text).toMatch(/^# merged\n# HELP llm_onion_requests_total /)
      expect(promtoolCheck(merged.text)).toBe('')
      fail = true
      const failed = await scrape(address.url)
      expect(failed.status).toBe(503)
      expect(JSON.parse(failed.text).error).toMatchObject({ code: 'metrics_unavailable', message: 'GET /metrics: the primary process sent no merged metrics within 5 s' })
    } finally {
      await gathered.close()
    }
  })
})
