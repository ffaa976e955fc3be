/**
 * What virtual keys, budgets and rate limits on Redis cost the proxy: two `llm-onion serve` processes
 * in front of the same mock upstream, measured one at a time (the other frozen) in interleaved rounds:
 * - `plain`: the proxy without them (no master key, no store), sent the same requests (an
 *   `Authorization` header, which it does not check);
 * - `keys`: the proxy with a master key and the machine's Redis as its shared store (a prefix of this
 *   run's own, deleted after), called with a virtual key that has a budget per period and requests and
 *   tokens per minute, so every request does the checks and every call records its spend and tokens
 *   (the limits are set high enough never to refuse);
 * - `keysParallel`: the same process, with a key that also has `max_parallel_requests` (a slot taken
 *   and given back per request: an increment in the store, unless the process holds a slot an
 *   earlier request gave back, src/proxy/keys/rate-windows.ts).
 * Per contestant: latency p50/p99 at 1,000 requests/s (open loop), the maximum throughput (a closed
 * loop with 64 in flight) and the proxy process's CPU per request during it (user + system time from
 * /proc: the steadier reading on a busy machine). Budget (DESIGN.md): the checks add under 0.3 ms at p50 and keep at least
 * 70% of the throughput. Run under `taskset -c 1` (the proxies run on core 0).
 *
 * `node --import tsx bench/proxy-keys.ts` prints progress and, last, `BENCH_RESULT {json}`.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { refusedPortUrl } from './integrations'
import { closedLoop, fixedRate, type LatencyResult, type Target } from './load'
import { cpuMicrosOf, startChild, tsNode, type Child } from './processes'
import { emitResult, median, quick, round } from './stats'

const root = new URL('..', import.meta.url).pathname
const rate = 1_000
const rounds = Number(process.env.BENCH_ROUNDS ?? (quick ? 1 : 3))
const rateSeconds = quick ? 1 : 3
const throughputRequests = quick ? 5_000 : 20_000
const masterKey = 'sk-bench-master-key-0000'
const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
const prefix = `llm-onion-bench-${randomBytes(4).toString('hex')}:`
const log = (line: string) => process.stderr.write(`${line}\n`)

interface Contestant {
  target: Target
  child: Child
}

function writeConfig(workdir: string, upstream: string, keyed: boolean): string {
  const file = join(workdir, `${keyed ? 'keys' : 'plain'}.yaml`)
  const lines = ['model_list:', '  - model_name: gpt-4o-mini', '    litellm_params:', '      model: openai/gpt-4o-mini', `      api_base: ${upstream}/v1`, '      api_key: sk-bench', '      input_cost_per_token: 0.00000015', '      output_cost_per_token: 0.0000006']
  if (keyed) lines.push('router_settings:', `  redis_url: ${redisUrl}`, `  redis_prefix: "${prefix}"`, 'general_settings:', `  master_key: ${masterKey}`)
  writeFileSync(file, `${lines.join('\n')}\n`)
  return file
}

async function startProxy(config: string): Promise<Child> {
  const url = await refusedPortUrl()
  const [command, args] = tsNode(join(root, 'src/proxy/cli.ts'), ['serve', '--config', config, '--port', new URL(url).port])
  // A proxy with virtual keys must not pick up a DATABASE_URL of the machine: keys in memory, counters in Redis.
  return startChild(command, args, { core: 0, url, probePath: '/health/liveliness', cwd: root, env: { ...process.env, DATABASE_URL: '', REDIS_URL: '', REDIS_HOST: '' } })
}

/** A virtual key with a budget and rate limits that never refuse (and a parallel limit, with `parallel`). */
async function virtualKey(url: string, parallel: boolean): Promise<string> {
  const response = await fetch(`${url}/key/generate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ max_budget: 1_000_000, budget_duration: '30d', rpm_limit: 100_000_000, tpm_limit: 1_000_000_000, ...(parallel ? { max_parallel_requests: 100_000 } : {}) }),
  })
  if (response.status !== 200) throw new Error(`/key/generate answered ${response.status}: ${await response.text()}`)
  return ((await response.json()) as { key: string }).key
}

/** Runs `measure` with the other proxies stopped (SIGSTOP), so the measured one has core 0 to itself. */
async function alone<T>(others: Child[], measure: () => Promise<T>): Promise<T> {
  for (const other of others) process.kill(other.pid, 'SIGSTOP')
  try {
    return await measure()
  } finally {
    for (const other of others) process.kill(other.pid, 'SIGCONT')
  }
}

/** Deletes this run's keys from Redis. */
async function cleanRedis(): Promise<number> {
  const { Redis } = await import('ioredis')
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await redis.connect()
  let deleted = 0
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    cursor = next
    if (keys.length > 0) deleted += await redis.del(...keys)
  } while (cursor !== '0')
  await redis.quit()
  return deleted
}

async function main(): Promise<void> {
  const workdir = mkdtempSync(join(tmpdir(), 'llm-onion-bench-keys-'))
  const [command, args] = tsNode(join(root, 'bench/mock-upstream.ts'), ['--latency-ms', '0', '--chunks', '20', '--chunk-interval-ms', '5'])
  const upstream = await startChild(command, args, { core: 1 })
  const plainChild = await startProxy(writeConfig(workdir, upstream.url, false))
  const keysChild = await startProxy(writeConfig(workdir, upstream.url, true))
  process.on('exit', () => {
    for (const child of [upstream, plainChild, keysChild]) child.process.kill('SIGKILL')
  })
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130))
  type Name = 'plain' | 'keys' | 'keysParallel'
  const contestants: Record<Name, Contestant> = {
    // A client sends its key whether the proxy checks it or not: the baseline request is the same request.
    plain: { child: plainChild, target: { name: 'plain', url: plainChild.url, path: '/v1/chat/completions', headers: { authorization: 'Bearer sk-bench-client-key-0000000000' } } },
    keys: { child: keysChild, target: { name: 'keys', url: keysChild.url, path: '/v1/chat/completions', headers: { authorization: `Bearer ${await virtualKey(keysChild.url, false)}` } } },
    keysParallel: { child: keysChild, target: { name: 'keysParallel', url: keysChild.url, path: '/v1/chat/completions', headers: { authorization: `Bearer ${await virtualKey(keysChild.url, true)}` } } },
  }
  for (const [name, each] of Object.entries(contestants)) {
    const check = await closedLoop(each.target, 5, 1)
    if (check.ok !== 5) throw new Error(`${name}: ${check.failed} of 5 requests failed before measuring`)
  }

  const names: Name[] = ['plain', 'keys', 'keysParallel']
  const latency: Record<string, LatencyResult[]> = { plain: [], keys: [], keysParallel: [] }
  const throughput: Record<string, number[]> = { plain: [], keys: [], keysParallel: [] }
  const cpuMicros: Record<string, number[]> = { plain: [], keys: [], keysParallel: [] }
  for (let index = 1; index <= rounds; index++) {
    // A different contestant goes first each round.
    const order = names.map((_, offset) => names[(offset + index) % names.length]!)
    for (const name of order) {
      const each = contestants[name]
      const others = [...new Set(Object.values(contestants).map((other) => other.child))].filter((child) => child !== each.child)
      log(`round ${index}/${rounds}: ${name} ...`)
      await alone(others, async () => {
        latency[name]!.push(await fixedRate(each.target, rate, rateSeconds * 1000))
        const cpuBefore = cpuMicrosOf(each.child.pid)
        const result = await closedLoop(each.target, throughputRequests, 64)
        if (result.failed > 0) throw new Error(`${name}: ${result.failed} requests failed under load`)
        throughput[name]!.push(result.perSecond)
        cpuMicros[name]!.push(Math.round((cpuMicrosOf(each.child.pid) - cpuBefore) / result.ok))
      })
    }
  }
  await Promise.all([plainChild.stop(), keysChild.stop()])
  await upstream.stop()
  const deleted = await cleanRedis()
  rmSync(workdir, { recursive: true, force: true })

  const p50 = (name: string) => median(latency[name]!.map((each) => each.p50Us))
  const p99 = (name: string) => median(latency[name]!.map((each) => each.p99Us))
  const share = (name: string) => round(median(throughput[name]!.map((value, index) => value / throughput.plain![index]!)))
  emitResult({
    rate,
    rounds,
    store: `Redis at ${redisUrl} (prefix ${prefix}, ${deleted} keys deleted after)`,
    latency,
    throughput,
    cpuMicrosPerRequest: cpuMicros,
    summary: {
      plainP50Ms: round(p50('plain') / 1000),
      keysP50Ms: round(p50('keys') / 1000),
      addedP50Ms: round((p50('keys') - p50('plain')) / 1000),
      addedP99Ms: round((p99('keys') - p99('plain')) / 1000),
      plainPerSecond: median(throughput.plain!),
      keysPerSecond: median(throughput.keys!),
      throughputShare: share('keys'),
      plainCpuMicrosPerRequest: median(cpuMicros.plain!),
      keysCpuMicrosPerRequest: median(cpuMicros.keys!),
      withParallel: {
        addedP50Ms: round((p50('keysParallel') - p50('plain')) / 1000),
        perSecond: median(throughput.keysParallel!),
        throughputShare: share('keysParallel'),
        cpuMicrosPerRequest: median(cpuMicros.keysParallel!),
      },
      budget: { addedP50Ms: 0.3, throughputShare: 0.7 },
    },
  })
}

await main()
