import { spawn, type ChildProcess } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createClient } from '../../src/client'

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url))
let dir: string
let server: Server | undefined
let children: ChildProcess[] = []

/** A receiver that answers 503 while `healthy` is false and counts the event ids of every batch it accepts. */
async function startReceiver() {
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
      const { items } = JSON.parse(Buffer.concat(parts).toString('utf8')) as { items: Array<{ id: string }> }
      for (const { id } of items) state.accepted.set(id, (state.accepted.get(id) ?? 0) + 1)
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
  return { state, url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}/events` }
}

/** Starts the fixture; resolves with it once it printed `line`, and with its whole output once it exits. */
function startChild(args: string[], line: string): { ready: Promise<void>; exited: Promise<{ code: number | null; signal: string | null; output: string }>; child: ChildProcess } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/delivery/fixtures/spool-crash-child.ts', ...args], {
    cwd: repositoryRoot,
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  let output = ''
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8')
      if (output.includes(`${line}\n`)) resolve()
    })
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
    child.on('exit', () => reject(new Error(`the child exited before printing "${line}": ${output}`)))
  })
  // Awaited only by tests that wait for `line`: an exit after it is no error.
  ready.catch(() => {})
  const exited = new Promise<{ code: number | null; signal: string | null; output: string }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, output })))
  return { ready, exited, child }
}

/** How many distinct ids of `run` the spool's segment files hold: what a crash now would keep. */
function spooledIds(run: string): number {
  const ids = new Set<string>()
  for (const name of readdirSync(dir).filter((each) => each.endsWith('.spool'))) {
    for (const id of readFileSync(join(dir, name), 'utf8').match(new RegExp(`${run}-\\d+`, 'g')) ?? []) ids.add(id)
  }
  return ids.size
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10))
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'llm-onion-spool-crash-'))
})

afterEach(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  children = []
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  server = undefined
  rmSync(dir, { recursive: true, force: true })
})

describe('durable spool of the delivery queue', () => {
  it('delivers every event id exactly once after a process killed with SIGKILL mid-outage is restarted with the sink healthy', async () => {
    const { state, url } = await startReceiver()
    const calls = 200
    const crashed = startChild([dir, url, 'first', String(calls), 'crash'], 'spooled')
    await crashed.ready
    // Mid-outage, once every event is on disk: the sink has refused batches and the queue is still retrying them.
    await until(() => state.refused >= 5 && spooledIds('first') === calls)
    crashed.child.kill('SIGKILL')
    expect((await crashed.exited).signal).toBe('SIGKILL')
    expect(state.accepted.size).toBe(0)

    state.healthy = true
    // The restarted process makes new calls too: the replayed events and the new ones all arrive.
    const restarted = startChild([dir, url, 'second', '20', 'finish'], 'closed')
    const { code, output } = await restarted.exited
    expect(code, output).toBe(0)
    const expected = [...Array.from({ length: calls }, (_, index) => `first-${index}`), ...Array.from({ length: 20 }, (_, index) => `second-${index}`)]
    expect([...state.accepted.keys()].sort()).toEqual(expected.sort())
    expect([...state.accepted.values()].filter((count) => count !== 1)).toEqual([])

    // Acknowledged means never sent again: a third start has nothing to replay.
    const third = startChild([dir, url, 'third', '0', 'finish'], 'closed')
    expect((await third.exited).code).toBe(0)
    expect(state.accepted.size).toBe(calls + 20)
    expect([...state.accepted.values()].filter((count) => count !== 1)).toEqual([])
  }, 60_000)

  it('replays what an earlier process left as soon as the exporter is added, without a new call', async () => {
    const { state, url } = await startReceiver()
    const crashed = startChild([dir, url, 'first', '30', 'crash'], 'spooled')
    await crashed.ready
    await until(() => spooledIds('first') === 30)
    crashed.child.kill('SIGKILL')
    await crashed.exited
    state.healthy = true
    const restarted = startChild([dir, url, 'second', '0', 'finish'], 'closed')
    expect((await restarted.exited).code).toBe(0)
    expect([...state.accepted.keys()].sort()).toEqual(Array.from({ length: 30 }, (_, index) => `first-${index}`).sort())
  }, 60_000)

  it('fails createClient naming queue.spool and the directory when the directory is in use', () => {
    const first = createClient({ queue: { spool: dir } })
    expect(() => createClient({ queue: { spool: dir } })).toThrow(/queue\.spool.*in use/s)
    expect(() => createClient({ queue: { spool: dir } })).toThrow(dir)
    return first.close()
  })

  it('refuses a spool option that is neither a directory nor { dir }, naming the field', () => {
    expect(() => createClient({ queue: { spool: { maxBytes: 10 } as never } })).toThrow(/spool/)
    expect(() => createClient({ queue: { spool: '' } })).toThrow(/spool.*must not be empty/s)
  })
})
