/**
 * `llm-onion serve --workers N` (and LiteLLM's `--num_workers`) as a user runs it: N processes on one
 * port, driven with the official `openai` client. Requests reach every worker (each counts under its
 * pid in the shared Redis store), SIGTERM drains and flushes all of them, a worker that dies is
 * replaced, and a config that cannot start fails once instead of restarting forever.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { afterAll, describe, expect, it } from 'vitest'
import { startReceiver, type Receiver } from '../../src/testing/receiver'
import { inspector, machineRedisUrl, removePrefix, uniquePrefix } from '../fakes/redis-server'
import { eventually, readRecords, runCli, spawnProxy, type SpawnedProxy } from './fixtures/spawn-proxy'

const started: SpawnedProxy[] = []
const receivers: Receiver[] = []
const prefix = uniquePrefix('workers')
const redis = inspector()

afterAll(async () => {
  await Promise.all(started.map((proxy) => proxy.stop()))
  await Promise.all(receivers.map((receiver) => receiver.close()))
  await removePrefix(redis, prefix)
  redis.disconnect()
})

/** The pids that counted calls in the store under `keyPrefix`, with their counts. */
async function countsByWorker(keyPrefix: string): Promise<Map<number, number>> {
  const keys = await redis.keys(`${keyPrefix}worker:*`)
  const counts = new Map<number, number>()
  for (const key of keys) counts.set(Number(key.slice(key.lastIndexOf(':') + 1)), Number(await redis.get(key)))
  return counts
}

async function chatMany(openai: OpenAI, count: number, user: string): Promise<void> {
  // A few at a time, on fresh connections, so the primary hands them to different workers.
  for (let offset = 0; offset < count; offset += 4) {
    await Promise.all(
      Array.from({ length: Math.min(4, count - offset) }, (_, index) =>
        openai.chat.completions.create({ model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: `call ${offset + index}` }], user }),
      ),
    )
  }
}

/**
 * Sends rounds of calls until `pids` workers have served (the primary deals out connections, not
 * requests, so a few rounds may go to one worker); resolves to how many calls were made.
 */
async function callUntilServedBy(openai: OpenAI, keyPrefix: string, pids: number, user: string): Promise<number> {
  const total = async () => [...(await countsByWorker(keyPrefix)).values()].reduce((sum, count) => sum + count, 0)
  const before = await total()
  let sent = 0
  for (let round = 0; round < 20; round++) {
    await chatMany(openai, 8, user)
    sent += 8
    // The counting hook runs right after each reply; give the last ones a moment.
    const deadline = Date.now() + 5_000
    while (Date.now() < deadline && (await total()) - before < sent) await new Promise((resolve) => setTimeout(resolve, 25))
    if ((await countsByWorker(keyPrefix)).size >= pids) return sent
  }
  return sent
}

describe('llm-onion serve --workers', () => {
  it('serves from two workers on one port, and on SIGTERM drains and flushes both before exiting 0', async () => {
    const helicone = await startReceiver()
    receivers.push(helicone)
    const logFile = join(mkdtempSync(join(tmpdir(), 'llm-onion-workers-')), 'calls.jsonl')
    const keyPrefix = `${prefix}flush:`
    const proxy = await spawnProxy(['--config', 'test/proxy/fixtures/workers.yaml', '--workers', '2'], {
      PROXY_TEST_LOG: logFile,
      PROXY_TEST_SUCCESS_DELAY_MS: '400',
      HELICONE_API_KEY: 'sk-helicone-test',
      HELICONE_API_BASE: helicone.url,
      REDIS_URL: machineRedisUrl,
      LLM_ONION_REDIS_PREFIX: keyPrefix,
    })
    started.push(proxy)
    expect(proxy.output()).toContain('workers: 2 processes on this port')
    const openai = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'unused', maxRetries: 0 })
    const sent = await callUntilServedBy(openai, keyPrefix, 2, 'workers-user')

    // Every call counted (the hook runs after the reply, so on a busy machine the last ones come a little later) ...
    await expect.poll(async () => [...(await countsByWorker(keyPrefix)).values()].reduce((sum, count) => sum + count, 0), { timeout: 15_000 }).toBe(sent)
    // ... by both workers, neither of them the primary.
    const counts = await countsByWorker(keyPrefix)
    expect(counts.size).toBe(2)
    expect(counts.has(proxy.child.pid!)).toBe(false)

    // Right away, while every worker still holds delayed callback lines and Helicone events.
    expect(await proxy.stop()).toBe(0)
    const lines = readRecords(logFile).filter((record) => record.user === 'workers-user')
    expect(lines).toHaveLength(sent)
    expect(new Set(lines.map((line) => line.pid))).toEqual(new Set(counts.keys()))
    const delivered = helicone.requests.filter((request) => request.text.includes('workers-user'))
    expect(delivered).toHaveLength(sent)
    expect(proxy.output()).toContain('all workers stopped')
  }, 60_000)

  it('accepts --num_workers, and starts a new worker when one dies, which serves in its place', async () => {
    const logFile = join(mkdtempSync(join(tmpdir(), 'llm-onion-workers-')), 'calls.jsonl')
    const keyPrefix = `${prefix}restart:`
    const helicone = await startReceiver()
    receivers.push(helicone)
    const proxy = await spawnProxy(['--config', 'test/proxy/fixtures/workers.yaml', '--num_workers', '2'], {
      PROXY_TEST_LOG: logFile,
      HELICONE_API_KEY: 'sk-helicone-test',
      HELICONE_API_BASE: helicone.url,
      REDIS_URL: machineRedisUrl,
      LLM_ONION_REDIS_PREFIX: keyPrefix,
    })
    started.push(proxy)
    const openai = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'unused', maxRetries: 0 })
    await callUntilServedBy(openai, keyPrefix, 2, 'before')
    const before = [...(await countsByWorker(keyPrefix)).keys()]
    expect(before).toHaveLength(2)
    process.kill(before[0]!, 'SIGKILL')
    await eventually(() => proxy.output().includes(`worker ${before[0]} ended (signal SIGKILL); starting another`))
    await eventually(() => /worker \d+ is serving/.test(proxy.output()), 30_000)
    // Requests go on being served, and a third pid appears among those serving them.
    await callUntilServedBy(openai, keyPrefix, 3, 'after')
    const after = [...(await countsByWorker(keyPrefix)).keys()]
    expect(after, proxy.output()).toHaveLength(3)
    expect(after).toEqual(expect.arrayContaining(before))
    expect(await proxy.stop()).toBe(0)
  }, 60_000)

  it('fails once, with the config error, when the workers cannot start', async () => {
    const { code, output } = await runCli(['serve', '--port', '0', '--config', 'test/proxy/fixtures/bad-config.yaml', '--workers', '2'])
    expect(code).toBe(1)
    expect(output).toContain('the workers could not start')
    expect(output).not.toContain('starting another')
  })

  it('refuses --workers and --num_workers together, and a count that is not a number', async () => {
    const both = await runCli(['serve', '--workers', '2', '--num_workers', '2'])
    expect(both.code).toBe(1)
    expect(both.output).toContain('give --workers or --num_workers (the same setting), not both')
    const wrong = await runCli(['serve', '--workers', 'many'])
    expect(wrong.output).toContain('--workers must be a whole number')
  })
})
