import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { eventually, runCli, spawnProxy, type SpawnedProxy } from './fixtures/spawn-proxy'

let dir: string
let server: Server | undefined
let started: SpawnedProxy[] = []
const noProviderKeys = { OPENAI_API_KEY: '', GEMINI_API_KEY: '', GOOGLE_API_KEY: '' }

/** Helicone's receiver: 503 while `healthy` is false; counts the `spool-event-<n>` ids of every log it accepts. */
async function startHelicone() {
  const state = { healthy: false, refused: 0, accepted: new Map<string, number>() }
  server = createServer((request, response) => {
    const parts: Buffer[] = []
    request.on('data', (part: Buffer) => parts.push(part))
    request.on('end', () => {
      if (!state.healthy) {
        state.refused++
        response.writeHead(503).end('{"error":"down"}')
        return
      }
      // The request and the mock's echo both carry the id: counted once per log.
      for (const id of new Set(Buffer.concat(parts).toString('utf8').match(/spool-event-\d+/g))) state.accepted.set(id, (state.accepted.get(id) ?? 0) + 1)
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
  return { state, url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}` }
}

/** A config with helicone as success callback, and `general_settings.spool_dir` when given. */
function writeConfig(spoolDir?: string): string {
  const file = join(dir, `config-${spoolDir ? 'spool' : 'plain'}.yaml`)
  const general = spoolDir ? `general_settings:\n  spool_dir: ${JSON.stringify(spoolDir)}\n` : ''
  writeFileSync(file, `model_list:\n  - model_name: gpt-test\n    litellm_params:\n      model: mock/gpt-test\nlitellm_settings:\n  success_callback: ["helicone"]\n${general}`)
  return file
}

/** The distinct event ids written to the spool's segment files so far. */
function spooledIds(spoolDir: string): Set<string> {
  const ids = new Set<string>()
  for (const name of readdirSync(spoolDir).filter((each) => each.endsWith('.spool'))) {
    for (const id of readFileSync(join(spoolDir, name), 'utf8').match(/spool-event-\d+/g) ?? []) ids.add(id)
  }
  return ids
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'llm-onion-serve-spool-'))
})

afterEach(async () => {
  for (const proxy of started) if (proxy.child.exitCode === null && proxy.child.signalCode === null) proxy.child.kill('SIGKILL')
  started = []
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  server = undefined
  rmSync(dir, { recursive: true, force: true })
})

describe('serve --spool', () => {
  it('delivers every helicone log exactly once after serve is killed with SIGKILL mid-outage and restarted with the receiver healthy', async () => {
    const helicone = await startHelicone()
    const spoolDir = join(dir, 'spool')
    const env = { ...noProviderKeys, HELICONE_API_KEY: 'sk-helicone-test', HELICONE_API_BASE: helicone.url }
    // First start: the spool from general_settings.spool_dir.
    const first = await spawnProxy(['--config', writeConfig(spoolDir)], env)
    started.push(first)
    const calls = 40
    for (let index = 0; index < calls; index++) {
      const reply = await fetch(`${first.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: `spool-event-${index}` }] }),
      })
      expect(reply.status).toBe(200)
    }
    // Mid-outage, once every log is on disk: Helicone has refused some and the queue is retrying.
    await eventually(() => helicone.state.refused >= 5)
    await eventually(() => spooledIds(spoolDir).size === calls)
    first.child.kill('SIGKILL')
    await first.exited
    expect(helicone.state.accepted.size).toBe(0)

    // Restarted with --spool (the config names no spool), Helicone healthy, and no new call.
    helicone.state.healthy = true
    const second = await spawnProxy(['--config', writeConfig(), '--spool', spoolDir], env)
    started.push(second)
    await eventually(() => helicone.state.accepted.size >= calls)
    expect(await second.stop()).toBe(0)
    expect([...helicone.state.accepted.keys()].sort()).toEqual(Array.from({ length: calls }, (_, index) => `spool-event-${index}`).sort())
    expect([...helicone.state.accepted.values()].filter((count) => count !== 1)).toEqual([])
  }, 60_000)

  it('exits 1 naming --spool / general_settings.spool_dir and the directory when the spool directory cannot be created', async () => {
    const blocker = join(dir, 'a-file')
    writeFileSync(blocker, 'not a directory')
    const { code, output } = await runCli(['serve', '--port', '0', '--spool', join(blocker, 'spool')], noProviderKeys)
    expect(code).toBe(1)
    expect(output).toContain('--spool / general_settings.spool_dir')
    expect(output).toContain(join(blocker, 'spool'))
    expect(output).not.toMatch(/\n\s+at /)
  })
})
