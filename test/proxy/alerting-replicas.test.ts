/**
 * Alerts of two `llm-onion serve` replicas sharing the machine's Redis (a prefix of this file's own,
 * removed after) and PostgreSQL (a database of this file's own, dropped after), posting to one fake
 * Slack webhook, driven with the official `openai` SDK: a budget crossed is alerted once per
 * threshold, not once per replica; a model's average latency over the window is alerted once; a
 * deployment failing over the window is alerted once per outage level; a call hanging past the
 * threshold is alerted. The upstream key and the master key appear in no alert.
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startOpenAIFake, type OpenAIFake } from '../../src/testing/openai-server'
import { startReceiver, type Receiver } from '../../src/testing/receiver'
import { inspector, machineRedisUrl, removePrefix, uniquePrefix } from '../fakes/redis-server'
import { spawnProxy, type SpawnedProxy } from './fixtures/spawn-proxy'
import { ask, costOf, generateKey, sdk, thrownBy } from './keys/fixtures/key-client'

const database = `llm_onion_alerts_${randomBytes(4).toString('hex')}`
const masterKey = 'sk-master-alerts-9d8c7b6a5f'
const upstreamKey = 'sk-flaky-upstream-key-7781'
const prefix = uniquePrefix('alerts-replicas')
const admin = new pg.Client({ connectionString: 'postgresql://postgres@127.0.0.1:5432/postgres' })
const started: SpawnedProxy[] = []
let slackHook: Receiver
let flaky: OpenAIFake
let one: SpawnedProxy
let two: SpawnedProxy

interface SlackMessage {
  text: string
  blocks: unknown[]
}
const messages = () => slackHook.requests.map((request) => request.json as SlackMessage)
const titled = (pattern: RegExp) => messages().filter((message) => pattern.test(message.text))
/** Waits until `pattern` has matched `count` messages, then a little longer, so a duplicate would have arrived. */
async function settle(pattern: RegExp, count: number): Promise<SlackMessage[]> {
  const deadline = Date.now() + 15_000
  while (titled(pattern).length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
  await new Promise((resolve) => setTimeout(resolve, 1_000))
  return titled(pattern)
}

beforeAll(async () => {
  await admin.connect()
  await admin.query(`CREATE DATABASE ${database}`)
  slackHook = await startReceiver({ responseBody: 'ok', contentType: 'text/plain' })
  flaky = await startOpenAIFake()
  const env = {
    KEYS_MASTER_KEY: masterKey,
    DATABASE_URL: `postgresql://postgres@127.0.0.1:5432/${database}`,
    REDIS_URL: machineRedisUrl,
    LLM_ONION_REDIS_PREFIX: prefix,
    SLACK_WEBHOOK_URL: `${slackHook.url}/services/T0/B0/alerts`,
    FLAKY_API_BASE: `${flaky.url}/v1`,
  }
  ;[one, two] = await Promise.all([spawnProxy(['--config', 'test/proxy/fixtures/alerting.yaml'], env), spawnProxy(['--config', 'test/proxy/fixtures/alerting.yaml'], env)])
  started.push(one, two)
}, 60_000)

afterAll(async () => {
  await Promise.all(started.map((proxy) => proxy.stop()))
  await slackHook?.close()
  await flaky?.close()
  const redis = inspector()
  await removePrefix(redis, prefix)
  redis.disconnect()
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
  await admin.end()
})

describe('alerts of two replicas sharing Redis', () => {
  it('say at start which alerts they send, and which LiteLLM alert types they do not', () => {
    expect(one.output()).toContain('alerts(slack: llm_too_slow, llm_requests_hanging, budget_alerts, outage_alerts, daily_reports)')
    expect(one.output()).toContain('"db_exceptions" is a LiteLLM alert llm-onion does not send')
  })

  it('send a budget threshold once, not once per replica: 80% then exceeded, across both', async () => {
    const prompt = ask('what does the budget alert say?')
    // The cost of one call, measured with a key without a budget.
    const probe = await generateKey(one.url, masterKey)
    const cost = costOf('gpt-test', (await sdk(one.url, probe.key).chat.completions.create({ model: 'gpt-test', messages: prompt })).usage)
    expect(cost).toBeGreaterThan(0)

    const { key } = await generateKey(two.url, masterKey, { max_budget: cost * 2.5, key_alias: 'budget-alerted', budget_duration: '1d' })
    const clients = [sdk(one.url, key), sdk(two.url, key)]
    // 40%: nothing. 80%: "80% reached" (50% is passed with it, and not sent on its own).
    await clients[0]!.chat.completions.create({ model: 'gpt-test', messages: prompt })
    await clients[1]!.chat.completions.create({ model: 'gpt-test', messages: prompt })
    const reached = await settle(/^Budget 80% reached: budget-alerted/, 1)
    expect(reached).toHaveLength(1)
    expect(titled(/^Budget 50% reached: budget-alerted/)).toHaveLength(0)
    // Over 100% with calls on both replicas at once: whichever are let in under budget, both replicas check the total after them, one alert goes out.
    const outcomes = await Promise.allSettled([clients[0]!.chat.completions.create({ model: 'gpt-test', messages: prompt }), clients[1]!.chat.completions.create({ model: 'gpt-test', messages: prompt })])
    expect(outcomes.some((outcome) => outcome.status === 'fulfilled')).toBe(true)
    const exceeded = await settle(/^Budget exceeded: budget-alerted/, 1)
    expect(exceeded).toHaveLength(1)
    expect(JSON.stringify(exceeded[0]!.blocks)).toContain('*Budget*')
    // Refused calls (over budget) add nothing and alert nothing more.
    expect(await thrownBy(clients[1]!.chat.completions.create({ model: 'gpt-test', messages: prompt }))).toMatchObject({ status: 400 })
    expect(await settle(/^Budget .*budget-alerted/, 2)).toHaveLength(2)
  }, 60_000)

  it("send a model's average latency over the window once, though both replicas see it above the threshold", async () => {
    const key = (await generateKey(one.url, masterKey)).key
    const clients = [sdk(one.url, key), sdk(two.url, key)]
    // slow-model answers after 400 ms (latency_ms), over the 0.25 s average of the window.
    await Promise.all(Array.from({ length: 6 }, (_, index) => clients[index % 2]!.chat.completions.create({ model: 'slow-model', messages: ask(`slow ${index}`) })))
    await Promise.all(Array.from({ length: 4 }, (_, index) => clients[index % 2]!.chat.completions.create({ model: 'gpt-test', messages: ask(`fast ${index}`) })))
    const alerts = await settle(/^Average latency of slow-model is/, 1)
    expect(alerts).toHaveLength(1)
    expect(alerts[0]!.text).toMatch(/^Average latency of slow-model is \d+ ms over the last 1 min \(threshold 250 ms, \d+ calls?\)$/)
    // latency_models names slow-model only.
    expect(titled(/latency of gpt-test/)).toHaveLength(0)
  }, 60_000)

  it('send an outage of a failing deployment once per level: minor at 3 failures, major at 6', async () => {
    for (let index = 0; index < 8; index++) flaky.enqueue({ kind: 'error', status: 503, message: 'upstream overloaded' })
    const key = (await generateKey(one.url, masterKey)).key
    const clients = [sdk(one.url, key), sdk(two.url, key)]
    for (let index = 0; index < 8; index++) await thrownBy(clients[index % 2]!.chat.completions.create({ model: 'flaky', messages: ask(`outage ${index}`) }))
    const minor = await settle(/^Minor outage: openai\/flaky/, 1)
    const major = await settle(/^Major outage: openai\/flaky/, 1)
    expect(minor).toHaveLength(1)
    expect(major).toHaveLength(1)
    // The alert is checked in the background after the 3rd failure: the other replica's 4th may be counted by then.
    const [, failed, calls] = /failed (\d+) of (\d+) calls in the last 1 min/.exec(minor[0]!.text) ?? []
    expect(Number(failed)).toBeGreaterThanOrEqual(3)
    expect(Number(failed)).toBeLessThan(6)
    expect(calls).toBe(failed)
    // The upstream key and the master key travel in no alert.
    for (const message of messages()) {
      expect(JSON.stringify(message)).not.toContain(upstreamKey)
      expect(JSON.stringify(message)).not.toContain(masterKey)
    }
  }, 60_000)

  it('send a call hanging past the threshold while it still runs', async () => {
    const key = (await generateKey(two.url, masterKey)).key
    // hang-model takes 2.5 s; the threshold is 1 s: the alert arrives before the reply.
    const reply = sdk(two.url, key).chat.completions.create({ model: 'hang-model', messages: ask('are you there?') })
    const hanging = await slackHook.waitFor(messages().length + 1, 10_000).then(() => titled(/^A call to hang-model/))
    expect(hanging.length).toBeGreaterThanOrEqual(1)
    expect(JSON.stringify(hanging[0]!.blocks)).toContain('LLM call hanging: hang-model has not answered after 1.0 s')
    await reply
  }, 60_000)
})
