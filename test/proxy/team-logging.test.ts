/**
 * Per-team and per-key logging on a `serve` child, driven by the official `openai` client with each
 * team's virtual key: `default_team_settings` sends team A's calls to team A's Langfuse with team A's
 * keys and team B's to team B's; a key's `metadata.logging` wins over its team; the proxy's own
 * Langfuse gets only the calls no team or key claims. `no-log` and `x-litellm-disable-callbacks` send
 * nothing anywhere, unless `global_disable_no_log_param` forbids it. Planted secrets: a team's
 * Langfuse secret reaches only its own receiver, never the others, the proxy's output or a reply.
 */
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startReceiver, type Receiver } from 'llm-onion/testing'
import { decodeOtlpTraces } from '../fakes/otlp-decoder'
import { spawnProxy, type SpawnedProxy } from './fixtures/spawn-proxy'
import { generateKey, manage } from './keys/fixtures/key-client'

const masterKey = 'sk-master-team-logging-1234'
const secrets = {
  global: 'sk-lf-global-planted-0a1b2c3d4e',
  teamA: 'sk-lf-team-a-planted-5f6a7b8c9d',
  teamB: 'sk-lf-team-b-planted-e0f1a2b3c4',
  key: 'sk-lf-key-c-planted-d5e6f7a8b9',
}
const publicKeys = { global: 'pk-lf-global', teamA: 'pk-lf-team-a', teamB: 'pk-lf-team-b', key: 'pk-lf-key-c' }
type Name = keyof typeof secrets
const names: Name[] = ['global', 'teamA', 'teamB', 'key']

let receivers: Record<Name, Receiver>
let open: SpawnedProxy
let forbidden: SpawnedProxy
const replies: string[] = []

function environment(): Record<string, string> {
  return {
    KEYS_MASTER_KEY: masterKey,
    LANGFUSE_PUBLIC_KEY: publicKeys.global,
    LANGFUSE_SECRET_KEY: secrets.global,
    LANGFUSE_HOST: receivers.global.url,
    TEAM_A_LANGFUSE_PUBLIC_KEY: publicKeys.teamA,
    TEAM_A_LANGFUSE_SECRET: secrets.teamA,
    TEAM_A_LANGFUSE_HOST: receivers.teamA.url,
    TEAM_B_LANGFUSE_PUBLIC_KEY: publicKeys.teamB,
    TEAM_B_LANGFUSE_SECRET: secrets.teamB,
    TEAM_B_LANGFUSE_HOST: receivers.teamB.url,
    // The key's settings name these, as LiteLLM recommends: secrets stay in the proxy's environment.
    KEY_C_LANGFUSE_PUBLIC_KEY: publicKeys.key,
    KEY_C_LANGFUSE_SECRET: secrets.key,
  }
}

beforeAll(async () => {
  const started = await Promise.all(names.map(() => startReceiver()))
  receivers = Object.fromEntries(names.map((name, index) => [name, started[index]!])) as Record<Name, Receiver>
  ;[open, forbidden] = await Promise.all([
    spawnProxy(['--config', 'test/proxy/fixtures/team-logging.yaml'], environment()),
    spawnProxy(['--config', 'test/proxy/fixtures/team-logging-forbidden.yaml'], environment()),
  ])
})

afterAll(async () => {
  await open?.stop()
  await forbidden?.stop()
  for (const receiver of Object.values(receivers ?? {})) await receiver.close()
})

const made = new Map<SpawnedProxy, ReturnType<typeof makeKeys>>()
/** Team A and B, a key of each, a key of team A with its own logging, and a key with no team but its own logging; made once per proxy. */
function keysOf(proxy: SpawnedProxy): ReturnType<typeof makeKeys> {
  if (!made.has(proxy)) made.set(proxy, makeKeys(proxy))
  return made.get(proxy)!
}

async function makeKeys(proxy: SpawnedProxy) {
  for (const team_id of ['team-a', 'team-b']) expect((await manage(proxy.url, masterKey, '/team/new', { team_id })).status).toBe(200)
  const keyLogging = [
    {
      callback_name: 'langfuse',
      callback_type: 'success',
      callback_vars: { langfuse_public_key: 'os.environ/KEY_C_LANGFUSE_PUBLIC_KEY', langfuse_secret_key: 'os.environ/KEY_C_LANGFUSE_SECRET', langfuse_host: receivers.key.url },
    },
  ]
  // A team with logging in its own metadata (LiteLLM's team metadata.logging): used when its key has none.
  expect((await manage(proxy.url, masterKey, '/team/new', { team_id: 'team-c', metadata: { logging: keyLogging } })).status).toBe(200)
  return {
    teamC: (await generateKey(proxy.url, masterKey, { team_id: 'team-c' })).key,
    teamA: (await generateKey(proxy.url, masterKey, { team_id: 'team-a' })).key,
    teamB: (await generateKey(proxy.url, masterKey, { team_id: 'team-b' })).key,
    teamAWithOwn: (await generateKey(proxy.url, masterKey, { team_id: 'team-a', metadata: { logging: keyLogging } })).key,
    noTeamWithOwn: (await generateKey(proxy.url, masterKey, { metadata: { logging: keyLogging } })).key,
  }
}

async function ask(proxy: SpawnedProxy, key: string, content: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<void> {
  const client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: key, maxRetries: 0, defaultHeaders: headers })
  const reply = await client.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content }], ...extra } as OpenAI.ChatCompletionCreateParamsNonStreaming)
  replies.push(JSON.stringify(reply))
}

/** The user prompts of every span a receiver got, with the authorization each request carried. */
function delivered(receiver: Receiver): { prompts: string[]; authorizations: Set<string> } {
  const prompts: string[] = []
  const authorizations = new Set<string>()
  for (const request of receiver.requests) {
    expect(request.path).toBe('/api/public/otel/v1/traces')
    authorizations.add(String(request.headers.authorization))
    for (const span of decodeOtlpTraces(request.body)) {
      const messages = JSON.parse(String(span.attributes['gen_ai.input.messages'])) as Array<{ parts: Array<{ content?: string }> }>
      for (const message of messages) for (const part of message.parts) if (part.content) prompts.push(part.content)
    }
  }
  return { prompts, authorizations }
}

/** Waits until every prompt of `expected` reached its receiver, then a little longer for strays. */
async function waitForPrompts(expected: Partial<Record<Name, string[]>>): Promise<void> {
  const deadline = Date.now() + 15_000
  for (;;) {
    const missing = Object.entries(expected).flatMap(([name, prompts]) => prompts!.filter((prompt) => !delivered(receivers[name as Name]).prompts.includes(prompt)).map((prompt) => `${name}: ${prompt}`))
    if (missing.length === 0) break
    if (Date.now() > deadline) throw new Error(`not delivered: ${missing.join(', ')}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  await new Promise((resolve) => setTimeout(resolve, 500))
}

const basic = (name: Name) => `Basic ${Buffer.from(`${publicKeys[name]}:${secrets[name]}`).toString('base64')}`

describe('team and key logging in serve', () => {
  it("sends each team's calls to its own Langfuse with its own keys, a key's own logging first, the rest to the proxy's", async () => {
    const keys = await keysOf(open)
    await ask(open, keys.teamA, 'alpha-call')
    await ask(open, keys.teamB, 'bravo-call')
    await ask(open, keys.teamAWithOwn, 'alpha-own-key-call')
    await ask(open, keys.noTeamWithOwn, 'charlie-key-call')
    await ask(open, keys.teamC, 'delta-team-metadata-call')
    await ask(open, masterKey, 'master-call')
    await waitForPrompts({ teamA: ['alpha-call'], teamB: ['bravo-call'], key: ['alpha-own-key-call', 'charlie-key-call', 'delta-team-metadata-call'], global: ['master-call'] })

    const got = Object.fromEntries(names.map((name) => [name, delivered(receivers[name])])) as Record<Name, ReturnType<typeof delivered>>
    expect(got.teamA.prompts).toEqual(['alpha-call'])
    expect(got.teamB.prompts).toEqual(['bravo-call'])
    expect(got.key.prompts.sort()).toEqual(['alpha-own-key-call', 'charlie-key-call', 'delta-team-metadata-call'])
    expect(got.global.prompts).toEqual(['master-call'])
    for (const name of names) expect([...got[name].authorizations]).toEqual([basic(name)])
  })

  it('honours no-log and x-litellm-disable-callbacks for team and key logging', async () => {
    const keys = await keysOf(open)
    const before = Object.fromEntries(names.map((name) => [name, delivered(receivers[name]).prompts.length]))
    await ask(open, keys.teamA, 'alpha-no-log', { 'no-log': true })
    await ask(open, keys.teamA, 'alpha-disabled', {}, { 'x-litellm-disable-callbacks': 'langfuse' })
    await ask(open, keys.noTeamWithOwn, 'charlie-no-log', { 'no-log': true })
    await ask(open, keys.teamB, 'bravo-marker')
    await waitForPrompts({ teamB: ['bravo-marker'] })
    for (const name of names) {
      const prompts = delivered(receivers[name]).prompts
      for (const optedOut of ['alpha-no-log', 'alpha-disabled', 'charlie-no-log']) expect(prompts).not.toContain(optedOut)
      expect(prompts.length, name).toBe(before[name]! + (name === 'teamB' ? 1 : 0))
    }
  })

  it('logs them anyway under global_disable_no_log_param, each to its own team', async () => {
    const keys = await keysOf(forbidden)
    await ask(forbidden, keys.teamA, 'forced-alpha-no-log', { 'no-log': true })
    await ask(forbidden, keys.teamB, 'forced-bravo-disabled', {}, { 'x-litellm-disable-callbacks': 'langfuse' })
    await ask(forbidden, keys.noTeamWithOwn, 'forced-charlie-no-log', { metadata: { 'no-log': true } })
    await waitForPrompts({ teamA: ['forced-alpha-no-log'], teamB: ['forced-bravo-disabled'], key: ['forced-charlie-no-log'] })
    expect(delivered(receivers.global).prompts).not.toContain('forced-alpha-no-log')
    expect(delivered(receivers.teamB).prompts).not.toContain('forced-alpha-no-log')
  })

  it("planted secret: a team's Langfuse secret never reaches another receiver, the proxy's output or a reply", async () => {
    const everything = (name: Name) => receivers[name].requests.map((request) => `${JSON.stringify(request.headers)}\n${request.body.toString('latin1')}`).join('\n')
    expect(receivers.teamA.requests.length).toBeGreaterThan(0)
    for (const owner of names) {
      const encoded = basic(owner).slice('Basic '.length)
      for (const other of names.filter((name) => name !== owner)) {
        const seen = everything(other)
        expect(seen, `${owner}'s secret at ${other}`).not.toContain(secrets[owner])
        expect(seen, `${owner}'s credentials at ${other}`).not.toContain(encoded)
      }
      for (const proxy of [open, forbidden]) expect(proxy.output()).not.toContain(secrets[owner])
      expect(replies.join('\n')).not.toContain(secrets[owner])
    }
    // The key's settings hold references, not values: what /key/info answers names no secret either.
    const info = await manage(open.url, masterKey, '/key/generate', { metadata: { logging: [{ callback_name: 'langfuse', callback_vars: { langfuse_secret_key: 'os.environ/KEY_C_LANGFUSE_SECRET' } }] } })
    expect(JSON.stringify(info.body)).not.toContain(secrets.key)
  })
})
