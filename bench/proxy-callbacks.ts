/**
 * What callbacks cost `llm-onion serve` (issue 19): the proxy without callbacks, with the guide's set
 * (`success_callback: [langfuse, helicone, posthog, datadog]`, `failure_callback: [sentry, slack]`)
 * with and without the delivery worker, and with every integration that can point at a local
 * receiver. The proxy runs on core 0; wrk, the mock upstream and the accepting receiver
 * (bench/fake-sink.ts) on core 1. Rounds are interleaved, each config in a fresh process, warmed
 * for 2 s before it is measured; the runner reports medians.
 *
 * Per config: maximum throughput (wrk -c64), p50/p99 at 1,000 req/s (open loop), and CPU per
 * request of the proxy's request-serving thread (its main thread, /proc/<pid>/task/<pid>/stat)
 * and of the delivery worker's thread beside the whole process (every thread: GC helpers, libuv).
 *
 * With callbacks, answered requests are not the whole story: when delivery falls behind, the queue
 * drops what it cannot hold (`queue_full`). So the guide's set's configs also find the fastest rate
 * at which every event arrives: wrk runs with fewer connections (a bisection over 1–64, fewer
 * connections waiting for their answers making a slower rate), keeping the fastest that ended with
 * nothing dropped and under a quarter of a second of events waiting. The share of the no-callback
 * proxy is judged on that rate; the other configs show their drops beside their answered rate.
 *
 * Also per config: CPU per request of the receiver and of the mock upstream, which share core 1
 * with wrk and, in "delivery worker on core 1", with the worker.
 *
 * `node --import tsx bench/proxy-callbacks.ts` prints progress and, last, `BENCH_RESULT {json}`.
 * `BENCH_CONFIGS=core,no` measures only the configs whose names contain one of those words;
 * `BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/profiles"` passes flags to the proxy's node (a
 * profile of each thread: the request-serving one and the delivery worker).
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { integrationEnvironment, refusedPortUrl } from './integrations'
import { chatBody, closedLoop, fixedRate, type LatencyResult, type Target } from './load'
import { cpuMicrosOf, startChild, tsNode, type Child } from './processes'
import { emitResult, median, quick } from './stats'

const root = new URL('..', import.meta.url).pathname
const rounds = Number(process.env.BENCH_THROUGHPUT_ROUNDS ?? (quick ? 1 : 5))
const seconds = quick ? 2 : 3
const warmUpSeconds = 2
const rate = 1_000
const log = (line: string) => process.stderr.write(`${line}\n`)

const guide = { success: ['langfuse', 'helicone', 'posthog', 'datadog'], failure: ['sentry', 'slack'] }
/**
 * The guide's set with Helicone's per-call log swapped for OpenLLMetry spans in OTLP batches (the
 * shape Helicone's own async SDK sends to its `/v1/trace/log`), here `traceloop`'s: what batching
 * Helicone would buy. Not a configuration llm-onion ships: that endpoint keeps no HTTP status,
 * parameters or stream flag (docs/integrations/helicone.md).
 */
const guideHeliconeBatched = { success: ['langfuse', 'traceloop', 'posthog', 'datadog'], failure: ['sentry', 'slack'] }
const every = { success: ['langfuse', 'helicone', 'posthog', 'datadog', 'lunary', 'athina', 'traceloop', 'logfire', 'loki', 'langsmith'], failure: ['sentry', 'slack'] }

interface Config {
  name: string
  callbacks?: { success: string[]; failure: string[] }
  worker: boolean
  /** Search for the highest rate with every event delivered (the configs the goal judges, and what-ifs beside them). */
  searched?: boolean
  /**
   * The delivery worker's thread moved to core 1 once it runs, the request-serving thread staying on
   * core 0: what a 2-core machine's scheduler does with a proxy that is not pinned (wrk, the mock
   * upstream and the receiver share core 1 with it).
   */
  workerOnCore1?: boolean
}

const configs: Config[] = [
  { name: 'no callbacks', worker: true },
  { name: "guide's set, delivery worker", callbacks: guide, worker: true, searched: true },
  { name: "guide's set, on the request thread", callbacks: guide, worker: false, searched: true },
  { name: "guide's set, delivery worker on core 1", callbacks: guide, worker: true, workerOnCore1: true, searched: true },
  { name: "what-if: Helicone batched in the guide's set, delivery worker on core 1", callbacks: guideHeliconeBatched, worker: true, workerOnCore1: true, searched: true },
  { name: 'all integrations, delivery worker', callbacks: every, worker: true },
  { name: 'all integrations, delivery worker on core 1', callbacks: every, worker: true, workerOnCore1: true },
  { name: 'all integrations, on the request thread', callbacks: every, worker: false },
].filter((config) => !process.env.BENCH_CONFIGS || process.env.BENCH_CONFIGS.split(',').some((wanted) => config.name.includes(wanted)))

/** The CLI and the delivery worker bundled by esbuild side by side, run by node (like `npx llm-onion serve`). */
function bundle(): string {
  const folder = join(root, 'node_modules/.cache/llm-onion-bench')
  const esbuild = join(root, 'node_modules/.bin/esbuild')
  const common = ['--bundle', '--platform=node', '--format=esm', '--packages=external', '--target=node20', '--log-level=error']
  for (const [entry, out] of [['src/proxy/cli.ts', 'cli.mjs'], ['middleware/delivery-worker.ts', 'delivery-worker.mjs']]) {
    const built = spawnSync(esbuild, [join(root, entry!), ...common, `--outfile=${join(folder, out!)}`], { encoding: 'utf8' })
    if (built.status !== 0) throw new Error(`esbuild ${entry} failed: ${built.stderr}`)
  }
  return join(folder, 'cli.mjs')
}

/** CPU µs of every thread of `pid`, by thread id. */
function threadCpuTimes(pid: number): Map<number, number> {
  return new Map(readdirSync(`/proc/${pid}/task`).map((tid) => [Number(tid), cpuMicrosOf(pid, Number(tid))]))
}

interface Run {
  /** Requests per second wrk got answered. */
  perSecond: number
  /** The highest rate at which every event of the callbacks arrived (= perSecond without callbacks). */
  sustainedPerSecond: number
  /** The runs of the search that found it. */
  searchRuns: SearchRun[]
  failed: number
  requestThreadMicros: number
  /** CPU µs per request of the delivery worker's thread (0 without one). */
  workerThreadMicros: number
  totalMicros: number
  /** CPU µs per request of the receiver and of the mock upstream, which share core 1 with wrk (and the worker). */
  sinkMicros: number
  upstreamMicros: number
  /** Items the delivery queue held when the throughput run ended (a backlog left for after it). */
  pendingAtEnd: number
  /** Items the delivery queue dropped by the end of the config's run (any reason). */
  dropped: number
  latency: LatencyResult
}

/** Connections of the saturating runs; fewer connections, each waiting for its answer, make a slower rate. */
const saturatingConnections = 64

/** wrk on core 1, as fast as `connections` connections go (one request at a time on each). */
function wrk(target: Target, workdir: string, duration: number, connections = saturatingConnections): { perSecond: number; failed: number; requests: number } {
  const script = join(workdir, 'wrk.lua')
  const headers = { 'content-type': 'application/json', ...target.headers }
  writeFileSync(script, [`wrk.method = "POST"`, `wrk.body = ${JSON.stringify(chatBody)}`, ...Object.entries(headers).map(([name, value]) => `wrk.headers[${JSON.stringify(name)}] = ${JSON.stringify(value)}`)].join('\n'))
  const result = spawnSync('taskset', ['-c', '1', 'wrk', '-t1', `-c${connections}`, `-d${duration}s`, '-s', script, `${target.url}${target.path}`], { encoding: 'utf8' })
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(result.stdout)?.[1] ?? 0)
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(result.stdout)
  return {
    perSecond: Math.round(Number(/Requests\/sec:\s+([\d.]+)/.exec(result.stdout)?.[1] ?? 0)),
    failed: non2xx + (socket ? socket.slice(1).reduce((sum, value) => sum + Number(value), 0) : 0),
    requests: Number(/(\d+) requests in/.exec(result.stdout)?.[1] ?? 0),
  }
}

/** The delivery queue's counters as `serve`'s /metrics exposes them, summed over sinks: items waiting, items dropped. */
async function exporterCounts(url: string): Promise<{ pending: number; dropped: number }> {
  const lines = (await (await fetch(`${url}/metrics`)).text()).split('\n')
  const sum = (metric: string) => lines.filter((line) => line.startsWith(metric)).reduce((total, line) => total + Number(line.slice(line.lastIndexOf(' ') + 1)), 0)
  return { pending: sum('llm_onion_exporter_pending{'), dropped: sum('llm_onion_exporter_dropped_total{') }
}

/** Waits (up to 5 s) until the delivery queue holds nothing, so a run of the search starts without a backlog. */
async function drained(url: string): Promise<void> {
  for (let waited = 0; waited < 5_000 && (await exporterCounts(url)).pending > 0; waited += 250) await new Promise((resolve) => setTimeout(resolve, 250))
}

/** One run of the search for the sustained rate: its rate, events dropped in it and waiting at its end, CPU µs per request as in {@link Run}'s order (request thread, worker thread, process, receiver, upstream). */
interface SearchRun {
  perSecond: number
  dropped: number
  pending: number
  cpu: number[]
}

/** Runs of the search for the sustained rate (each halves the interval of connections it is in: 64 → 1). */
const searchSteps = 6

/** Whether delivery kept pace in a run: nothing dropped, and under a quarter of a second of events left waiting. */
const keptUp = (attempt: { perSecond: number; dropped: number; pending: number }) => attempt.dropped === 0 && attempt.pending < attempt.perSecond / 4

/**
 * The highest request rate at which every event of the callbacks arrives: a bisection over wrk's
 * connections (more connections, a higher rate), below the saturating 64, keeping the fastest run
 * where delivery kept pace.
 */
async function sustainedRate(target: Target, workdir: string, url: string, sample: () => number[]): Promise<{ perSecond: number; tries: SearchRun[] }> {
  const tries: SearchRun[] = []
  let low = 0
  let high = saturatingConnections
  let best = 0
  for (let step = 0; step < searchSteps && high - low > 1; step++) {
    const connections = Math.round((low + high) / 2)
    await drained(url)
    const before = await exporterCounts(url)
    const cpuBefore = sample()
    const run = wrk(target, workdir, seconds, connections)
    const cpuAfter = sample()
    const after = await exporterCounts(url)
    const attempt = { perSecond: run.perSecond, dropped: after.dropped - before.dropped, pending: after.pending, cpu: cpuAfter.map((used, index) => Math.round((used - cpuBefore[index]!) / Math.max(1, run.requests))) }
    tries.push(attempt)
    if (keptUp(attempt)) {
      low = connections
      best = Math.max(best, run.perSecond)
    } else high = connections
  }
  return { perSecond: best, tries }
}

async function measure(config: Config, cli: string, upstream: Child, sink: Child, workdir: string): Promise<Run> {
  const sinkUrl = sink.url
  const lines = ['model_list:', '  - model_name: gpt-4o-mini', '    litellm_params:', '      model: openai/gpt-4o-mini', `      api_base: ${upstream.url}/v1`, '      api_key: sk-bench']
  if (config.callbacks) lines.push('litellm_settings:', `  success_callback: [${config.callbacks.success.join(', ')}]`, `  failure_callback: [${config.callbacks.failure.join(', ')}]`)
  const file = join(workdir, 'config.yaml')
  writeFileSync(file, `${lines.join('\n')}\n`)
  const url = await refusedPortUrl()
  const args = [...(process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ') : []), cli, 'serve', '--config', file, '--port', new URL(url).port, '--host', '127.0.0.1', config.worker ? '--delivery-worker' : '--no-delivery-worker']
  const env: NodeJS.ProcessEnv = { ...process.env, ...integrationEnvironment(sinkUrl).env, NODE_NO_WARNINGS: '1' }
  // integrationEnvironment() points every *_URL variable it finds quoted in middleware/ at the
  // receiver, REDIS_URL (cache.ts) included: the proxy would take the receiver for its Redis and refuse
  // to start. Shared state is not what this benchmark measures.
  for (const name of Object.keys(env)) if (name.startsWith('REDIS_')) delete env[name]
  const child: Child = await startChild(process.execPath, args, { core: 0, url, probePath: '/health/liveliness', cwd: root, env })
  try {
    const target: Target = { name: config.name, url, path: '/v1/chat/completions', headers: { authorization: 'Bearer sk-bench' } }
    const check = await closedLoop(target, 5, 1)
    if (check.ok !== 5) throw new Error(`${config.name}: ${check.failed} of 5 requests failed`)
    // The delivery worker is the thread (besides the main one) that works most while calls are delivered.
    let workerTid: number | undefined
    if (config.callbacks && config.worker) {
      const before = threadCpuTimes(child.pid)
      wrk(target, workdir, 1)
      workerTid = [...threadCpuTimes(child.pid)].filter(([tid]) => tid !== child.pid).sort(([a, used], [b, other]) => other - (before.get(b) ?? 0) - (used - (before.get(a) ?? 0)))[0]?.[0]
      if (config.workerOnCore1 && (!workerTid || spawnSync('taskset', ['-p', '-c', '1', String(workerTid)]).status !== 0)) throw new Error(`${config.name}: could not move the delivery worker's thread to core 1`)
    }
    wrk(target, workdir, warmUpSeconds)
    const sample = () => [cpuMicrosOf(child.pid, child.pid), workerTid ? cpuMicrosOf(child.pid, workerTid) : 0, cpuMicrosOf(child.pid), cpuMicrosOf(sink.pid), cpuMicrosOf(upstream.pid)]
    const countsBefore = config.callbacks ? await exporterCounts(url) : undefined
    const before = sample()
    const run = wrk(target, workdir, seconds)
    const after = sample()
    const countsAfter = config.callbacks ? await exporterCounts(url) : undefined
    // Events the queue still held when the load stopped: a backlog means the CPU above left work for later.
    const pendingAtEnd = countsAfter?.pending ?? 0
    // Every event must arrive: with callbacks, what counts is the fastest rate their delivery keeps pace with.
    const saturatedKeptUp = !countsBefore || !countsAfter || keptUp({ perSecond: run.perSecond, dropped: countsAfter.dropped - countsBefore.dropped, pending: pendingAtEnd })
    // Searched for the configs marked so, the guide's set the goal judges and the what-if beside it (a
    // search takes half a minute); the others show the saturated run's rate, with its drops beside it.
    const searched = config.searched === true && !saturatedKeptUp
    const sustained = searched ? await sustainedRate(target, workdir, url, sample) : { perSecond: saturatedKeptUp ? run.perSecond : Number.NaN, tries: [] }
    const [requestThreadMicros, workerThreadMicros, totalMicros, sinkMicros, upstreamMicros] = after.map((used, index) => Math.round((used - before[index]!) / Math.max(1, run.requests)))
    // Let the backlog of deliveries drain before the fixed-rate phase.
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    const latency = await fixedRate(target, rate, (quick ? 1 : 2) * 1000)
    const dropped = config.callbacks ? (await exporterCounts(url)).dropped : 0
    return { perSecond: run.perSecond, sustainedPerSecond: sustained.perSecond, searchRuns: sustained.tries, failed: run.failed, requestThreadMicros: requestThreadMicros!, workerThreadMicros: workerThreadMicros!, totalMicros: totalMicros!, sinkMicros: sinkMicros!, upstreamMicros: upstreamMicros!, pendingAtEnd, dropped, latency }
  } finally {
    await child.stop()
  }
}

async function main(): Promise<void> {
  const workdir = mkdtempSync(join(tmpdir(), 'llm-onion-bench-callbacks-'))
  const [upstreamCommand, upstreamArgs] = tsNode(join(root, 'bench/mock-upstream.ts'), ['--latency-ms', '0', '--chunks', '20', '--chunk-interval-ms', '5'])
  const upstream = await startChild(upstreamCommand, upstreamArgs, { core: 1 })
  const [sinkCommand, sinkArgs] = tsNode(join(root, 'bench/fake-sink.ts'))
  const sink = await startChild(sinkCommand, sinkArgs, { core: 1 })
  process.on('exit', () => {
    upstream.process.kill('SIGKILL')
    sink.process.kill('SIGKILL')
  })
  const cli = bundle()
  const runs: Record<string, Run[]> = {}
  try {
    for (let round = 1; round <= rounds; round++) {
      // A different config first each round.
      const order = configs.map((_, index) => configs[(index + round) % configs.length]!)
      for (const config of order) {
        log(`round ${round}/${rounds}: ${config.name} ...`)
        ;(runs[config.name] ??= []).push(await measure(config, cli, upstream, sink, workdir))
      }
    }
  } finally {
    await upstream.stop()
    await sink.stop()
    rmSync(workdir, { recursive: true, force: true })
  }
  const baseline = runs['no callbacks']?.map((run) => run.perSecond)
  const table = configs.map((config) => {
    const each = runs[config.name]!
    const delivered = each.every((run) => Number.isFinite(run.sustainedPerSecond))
    return {
      config: config.name,
      callbacks: config.callbacks ?? null,
      throughput: median(each.map((run) => run.perSecond)),
      // Calls per second whose events all arrived: the throughput the goal is judged on (not searched: undefined).
      sustainedThroughput: delivered ? median(each.map((run) => run.sustainedPerSecond)) : undefined,
      // The share of the no-callback proxy: the median of the rounds' own ratios, on calls whose events
      // all arrived where that was measured, else on answered requests.
      shareOfNoCallbacks: baseline ? median(each.map((run, index) => (delivered ? run.sustainedPerSecond : run.perSecond) / baseline[index]!)) : undefined,
      // The same share on answered requests only, events delivered or not (what earlier runs reported).
      answeredShareOfNoCallbacks: baseline ? median(each.map((run, index) => run.perSecond / baseline[index]!)) : undefined,
      p50Ms: median(each.map((run) => run.latency.p50Us)) / 1000,
      p99Ms: median(each.map((run) => run.latency.p99Us)) / 1000,
      requestThreadMicrosPerRequest: median(each.map((run) => run.requestThreadMicros)),
      workerThreadMicrosPerRequest: median(each.map((run) => run.workerThreadMicros)),
      totalMicrosPerRequest: median(each.map((run) => run.totalMicros)),
      sinkMicrosPerRequest: median(each.map((run) => run.sinkMicros)),
      upstreamMicrosPerRequest: median(each.map((run) => run.upstreamMicros)),
      failed: each.reduce((sum, run) => sum + run.failed + run.latency.failed, 0),
      pendingAtEnd: median(each.map((run) => run.pendingAtEnd)),
      dropped: each.reduce((sum, run) => sum + run.dropped, 0),
      runs: each,
    }
  })
  for (const row of table) {
    log(`${row.config}: ${row.throughput} req/s answered (${Math.round((row.answeredShareOfNoCallbacks ?? 1) * 100)}%), ${row.sustainedThroughput ?? 'not searched'} with every event delivered (${Math.round((row.shareOfNoCallbacks ?? 1) * 100)}%), p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms at ${rate}/s, CPU/request ${row.requestThreadMicrosPerRequest} µs request thread, ${row.workerThreadMicrosPerRequest} µs worker thread, ${row.totalMicrosPerRequest} µs total, receiver ${row.sinkMicrosPerRequest} µs, upstream ${row.upstreamMicrosPerRequest} µs, ${row.pendingAtEnd} events pending when the load stopped, ${row.dropped} dropped`)
  }
  emitResult({ rounds, seconds, rate, table })
}

await main()
