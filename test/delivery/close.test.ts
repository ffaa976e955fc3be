/**
 * `client.close()` keeps its deadline in a real process: with a sink down, silent or slow, in a
 * process with nothing else alive and in one with a server running, it returns, the process exits 0,
 * and what was still pending is counted as dropped and reported once on stderr.
 */
import { spawn } from 'node:child_process'
import { afterAll, describe, expect, it } from 'vitest'
import type { DeliveryStats } from '../../src/delivery/queue'
import { refusedUrl, startCountingReceiver, startSilentServer } from '../fakes/delivery-receivers'

const closers: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const close of closers) await close()
})

interface ChildResult {
  code: number | null
  stdout: string
  stderr: string
}

function runChild(env: Record<string, string>): Promise<ChildResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fakes/close-child.ts'], {
    cwd: process.cwd(),
    env: { ...process.env, NODE_NO_WARNINGS: '1', CLOSE_TIMEOUT_MS: '1500', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text))
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text))
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })))
}

const sinks: Record<string, () => Promise<{ url: string; concurrency?: string }>> = {
  down: async () => ({ url: await refusedUrl() }),
  silent: async () => {
    const server = await startSilentServer()
    closers.push(server.close)
    return { url: server.url }
  },
  // Answers each request after 400 ms, one at a time: a few of the 40 events get through in time.
  slow: async () => {
    const receiver = await startCountingReceiver({ latencyMs: 400 })
    closers.push(receiver.close)
    return { url: receiver.url, concurrency: '1' }
  },
}

describe.concurrent('client.close() deadline', () => {
  for (const [kind, start] of Object.entries(sinks)) {
    for (const keepServer of [false, true]) {
      const where = keepServer ? 'a process with a server running' : 'a process with nothing else alive'
      it(`returns by closeTimeoutMs with a sink ${kind} in ${where}, counting and reporting once what was still pending`, { timeout: 90_000 }, async () => {
        const sink = await start()
        const result = await runChild({ SINK_URL: `${sink.url}/log`, SINK_CONCURRENCY: sink.concurrency ?? '4', ...(keepServer ? { KEEP_SERVER: '1' } : {}) })
        expect(result.code, result.stderr).toBe(0)
        const { pendingBefore, after } = JSON.parse(result.stdout.trim()) as { pendingBefore: number; after: DeliveryStats }
        expect(pendingBefore).toBe(40)
        const dropped = after.dropped.closed ?? 0
        expect(after).toMatchObject({ enqueued: 40, pending: 0 })
        // Everything pending at the deadline is dropped as closed; nothing is lost uncounted.
        expect(after.delivered + dropped).toBe(40)
        expect(dropped).toBeGreaterThan(0)
        if (kind !== 'slow') expect(dropped).toBe(40)
        const reports = result.stderr.match(/delivery queue closed with (\d+) item\(s\) still undelivered.*dropped as closed: target (\d+)/g) ?? []
        expect(reports).toHaveLength(1)
        expect(reports[0]).toContain(`closed with ${dropped} item(s)`)
        expect(reports[0]).toContain(`target ${dropped}`)
      })
    }
  }
})
