/**
 * `llm-onion serve --workers 2` against one worker: maximum throughput (wrk, 64 keep-alive
 * connections, or a closed loop when wrk is missing) and latency at a fixed rate, against the same
 * local mock upstream, in interleaved rounds with fresh processes each round. Nothing is pinned: the
 * workers are meant to spread over the cores, and on a machine with two cores they share them with
 * the upstream and the load generator, so the gain is bounded by that (the numbers say how much).
 *
 * `node --import tsx bench/workers.ts` (or `npm run bench -- workers`) prints progress and, last,
 * `BENCH_RESULT {json}`.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync as readText, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { refusedPortUrl } from './integrations'
import { chatBody, closedLoop, fixedRate, type Target } from './load'
import { cpuMicrosOf, startChild, tsNode, type Child } from './processes'
import { emitResult, median, quick } from './stats'

const root = new URL('..', import.meta.url).pathname
const rounds = Number(process.env.BENCH_ROUNDS ?? (quick ? 1 : 3))
const seconds = quick ? 2 : 5
const rate = 1_000
const log = (line: string) => process.stderr.write(`[workers] ${line}\n`)
const hasWrk = spawnSync('wrk', ['--version']).error === undefined

/** The CLI bundled as plain JavaScript (as tsup builds it), so workers start without tsx's loader. */
function onionCommand(args: string[]): [string, string[]] {
  const cli = join(root, 'src/proxy/cli.ts')
  const bundle = join(root, 'node_modules/.cache/llm-onion-bench/cli.mjs')
  const built = spawnSync(join(root, 'node_modules/.bin/esbuild'), [cli, '--bundle', '--platform=node', '--format=esm', '--packages=external', '--target=node20', `--outfile=${bundle}`, '--log-level=error'], { encoding: 'utf8' })
  return built.status === 0 ? [process.execPath, [bundle, ...args]] : tsNode(cli, args)
}

/** The pid and its children's pids (the workers of a cluster primary). */
function processTree(pid: number): number[] {
  try {
    const children = readText(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
    return [pid, ...children.flatMap(processTree)]
  } catch {
    return [pid]
  }
}

interface Measure {
  perSecond: number
  failed: number
  cpuMicrosPerRequest?: number
  p50Ms: number
  p99Ms: number
}

function wrk(target: Target, workdir: string, duration: number): { perSecond: number; failed: number; requests: number } {
  const script = join(workdir, 'post.lua')
  writeFileSync(script, [`wrk.method = "POST"`, `wrk.body = ${JSON.stringify(chatBody)}`, `wrk.headers["content-type"] = "application/json"`].join('\n'))
  const result = spawnSync('wrk', ['-t1', '-c64', `-d${duration}s`, '-s', script, `${target.url}${target.path}`], { encoding: 'utf8' })
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(result.stdout)?.[1] ?? 0)
  return { perSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(result.stdout)?.[1] ?? 0), failed: non2xx, requests: Number(/(\d+) requests in/.exec(result.stdout)?.[1] ?? 0) }
}

async function measure(workers: number, upstream: string, workdir: string): Promise<Measure> {
  const config = join(workdir, 'config.yaml')
  writeFileSync(config, ['model_list:', '  - model_name: gpt-4o-mini', '    litellm_params:', '      model: openai/gpt-4o-mini', `      api_base: ${upstream}/v1`, '      api_key: sk-bench', ''].join('\n'))
  const url = await refusedPortUrl()
  const [command, args] = onionCommand(['serve', '--config', config, '--port', new URL(url).port, '--workers', String(workers)])
  const proxy: Child = await startChild(command, args, { url, probePath: '/health/liveliness', cwd: root, timeoutMs: 60_000 })
  try {
    // The first worker answers the probe; give the others a moment to listen too (the warm-up follows).
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    const target: Target = { name: `workers-${workers}`, url, path: '/v1/chat/completions', headers: {} }
    let perSecond: number
    let failed: number
    let cpuMicrosPerRequest: number | undefined
    if (hasWrk) {
      wrk(target, workdir, 2) // warm-up
      const pids = processTree(proxy.pid)
      const cpuBefore = pids.reduce((sum, pid) => sum + cpuMicrosOf(pid), 0)
      const result = wrk(target, workdir, seconds)
      const cpu = pids.reduce((sum, pid) => sum + cpuMicrosOf(pid), 0) - cpuBefore
      ;({ perSecond, failed } = result)
      cpuMicrosPerRequest = result.requests > 0 ? Math.round(cpu / result.requests) : undefined
    } else {
      await closedLoop(target, 2_000, 64)
      const result = await closedLoop(target, quick ? 5_000 : 20_000, 64)
      ;({ perSecond, failed } = result)
    }
    const latency = await fixedRate(target, rate, quick ? 1_000 : 3_000)
    return { perSecond: Math.round(perSecond), failed: failed + latency.failed, cpuMicrosPerRequest, p50Ms: latency.p50Us / 1000, p99Ms: latency.p99Us / 1000 }
  } finally {
    await proxy.stop()
  }
}

async function main(): Promise<void> {
  const workdir = mkdtempSync(join(tmpdir(), 'llm-onion-bench-workers-'))
  const [command, args] = tsNode(join(root, 'bench/mock-upstream.ts'), ['--port', '0'])
  const upstream = await startChild(command, args)
  const results: Record<string, Measure[]> = { '1': [], '2': [] }
  for (let round = 1; round <= rounds; round++) {
    for (const workers of round % 2 === 1 ? [1, 2] : [2, 1]) {
      log(`round ${round}/${rounds}: --workers ${workers} ...`)
      results[String(workers)]!.push(await measure(workers, upstream.url, workdir))
    }
  }
  await upstream.stop()
  rmSync(workdir, { recursive: true, force: true })
  const summary = (list: Measure[]) => ({
    perSecond: median(list.map((each) => each.perSecond)),
    p50Ms: median(list.map((each) => each.p50Ms)),
    p99Ms: median(list.map((each) => each.p99Ms)),
    cpuMicrosPerRequest: list[0]?.cpuMicrosPerRequest === undefined ? undefined : median(list.map((each) => each.cpuMicrosPerRequest!)),
    failed: list.reduce((sum, each) => sum + each.failed, 0),
  })
  const one = summary(results['1']!)
  const two = summary(results['2']!)
  emitResult({
    tool: hasWrk ? `wrk -t1 -c64, ${seconds} s after 2 s of warm-up; latency at ${rate} req/s (open loop)` : 'closed loop, 64 in flight (wrk not installed)',
    cores: (await import('node:os')).cpus().length,
    rounds,
    oneWorker: one,
    twoWorkers: two,
    throughputRatio: one.perSecond > 0 ? Math.round((two.perSecond / one.perSecond) * 100) / 100 : undefined,
    raw: results,
  })
}

await main()
