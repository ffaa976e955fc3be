/**
 * Redis for the tests: the machine's (127.0.0.1:6379, which .ci/run starts; `LLM_ONION_TEST_REDIS_URL`
 * points elsewhere) under a unique key prefix removed afterwards, and throwaway `redis-server`
 * processes on free ports for the tests that stop Redis in the middle of a run.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createServer, type AddressInfo } from 'node:net'
import { Redis } from 'ioredis'

/** The machine's Redis, which the shared-state tests use under their own prefix. */
export const machineRedisUrl = process.env.LLM_ONION_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** A prefix no other test (or engineer) uses: `llm-onion-test-<label>-<random>:`. */
export function uniquePrefix(label: string): string {
  return `llm-onion-test-${label}-${randomBytes(4).toString('hex')}:`
}

/** A plain client on the machine's Redis, to look at what the store wrote and to clean up. */
export function inspector(url = machineRedisUrl): Redis {
  return new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 })
}

/** Deletes every key under `prefix`. */
export async function removePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500)
    if (keys.length > 0) await redis.del(...keys)
    cursor = next
  } while (cursor !== '0')
}

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** A throwaway Redis that can be stopped and started again on the same port. */
export interface ThrowawayRedis {
  port: number
  url: string
  start(): Promise<void>
  stop(): Promise<void>
}

/** Starts `redis-server` on a free port (no persistence), optionally with `requirepass`. */
export async function startThrowawayRedis(options: { password?: string } = {}): Promise<ThrowawayRedis> {
  const port = await freePort()
  let child: ChildProcess | undefined
  const start = async () => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']
    if (options.password !== undefined) args.push('--requirepass', options.password)
    const started = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    child = started
    let output = ''
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start on port ${port} within 10 s: ${output}`)), 10_000)
      started.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString()
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer)
          resolve()
        }
      })
      started.once('error', (error) => reject(new Error(`cannot run redis-server (is Debian's redis-server installed? .ci/run installs it): ${error.message}`)))
      started.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)))
    })
  }
  const stop = async () => {
    const running = child
    child = undefined
    if (!running || running.exitCode !== null) return
    const gone = new Promise((resolve) => running.once('exit', resolve))
    running.kill('SIGKILL')
    await gone
  }
  await start()
  return { port, url: `redis://127.0.0.1:${port}`, start, stop }
}
