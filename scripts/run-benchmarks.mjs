// `npm run bench`: installs what the benchmarks need (Portkey's gateway into .bench-deps/, wrk from
// Debian when missing), runs every benchmark in bench/ on pinned cores, takes the medians of several
// runs and writes docs/benchmarks.md (and the raw numbers to bench/results/latest.json).
// BENCH_QUICK=1: a fast smoke run (short batches, one round, 10,000 requests for memory); its
// numbers are not worth recording. Benchmarks are never part of `npm test`.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { renderReport } from '../bench/report.mjs'

const root = new URL('..', import.meta.url).pathname
const quick = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true'
const inProcessRuns = Number(process.env.BENCH_RUNS ?? (quick ? 1 : 3))
const only = process.argv.slice(2).filter((argument) => !argument.startsWith('--')) // e.g. `npm run bench -- proxy`
const started = Date.now()
const log = (line) => process.stderr.write(`[bench] ${line}\n`)
const has = (command, args = ['--version']) => spawnSync(command, args, { stdio: 'ignore' }).error === undefined
const pinned = (core) => (core !== undefined && has('taskset') ? ['taskset', '-c', String(core)] : [])

// The versions the recorded numbers were taken with; @hono/node-server is pinned to what was current
// when this Portkey release shipped (see bench/portkey-node-fix.mjs for the one fix it needs on Node).
const benchDependencies = { '@portkey-ai/gateway': '1.15.2', '@hono/node-server': '1.19.17' }

function setup() {
  const folder = join(root, '.bench-deps')
  const installed = (name) => {
    try {
      return JSON.parse(readFileSync(join(folder, 'node_modules', name, 'package.json'), 'utf8')).version
    } catch {
      return undefined
    }
  }
  if (Object.entries(benchDependencies).some(([name, version]) => installed(name) !== version)) {
    log('installing the Portkey gateway into .bench-deps/ (not a project dependency) ...')
    mkdirSync(folder, { recursive: true })
    writeFileSync(join(folder, 'package.json'), JSON.stringify({ name: 'llm-onion-bench-deps', private: true, dependencies: benchDependencies }, null, 2))
    const result = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--prefix', folder], { stdio: ['ignore', 'ignore', 'inherit'] })
    if (result.status !== 0) log('npm install into .bench-deps/ failed: the Portkey column will say so')
  }
  if (!has('wrk') && process.getuid?.() === 0 && has('apt-get', ['--version'])) {
    log('installing wrk from Debian (apt-get install -y wrk) ...')
    spawnSync('sh', ['-c', 'apt-get install -y -qq wrk >/dev/null 2>&1 || (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq wrk >/dev/null 2>&1)'], { stdio: 'inherit' })
  }
  if (!has('wrk')) log('wrk is not available: maximum throughput falls back to a closed loop in Node')
}

/** Runs one benchmark file and returns the object it printed after `BENCH_RESULT`. */
function runBenchmark(file, core) {
  const command = [...pinned(core), process.execPath, '--import', 'tsx', join(root, 'bench', file)]
  const result = spawnSync(command[0], command.slice(1), { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NODE_NO_WARNINGS: '1' } })
  const line = result.stdout.split('\n').find((each) => each.startsWith('BENCH_RESULT '))
  if (result.status !== 0 || !line) throw new Error(`bench/${file} failed (exit ${result.status}):\n${result.stdout.slice(-3000)}`)
  return JSON.parse(line.slice('BENCH_RESULT '.length))
}

function machine() {
  const cpuModel = (() => {
    try {
      return /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim()
    } catch {
      return undefined
    }
  })()
  return {
    cpu: cpuModel ?? os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
    load: os.loadavg().map((value) => Math.round(value * 100) / 100),
  }
}

// `npm run bench -- --render`: rewrite docs/benchmarks.md from bench/results/latest.json (after editing bench/notes.md or bench/report.mjs), measuring nothing.
if (process.argv.includes('--render')) {
  const recorded = JSON.parse(readFileSync(join(root, 'bench/results/latest.json'), 'utf8'))
  const notes = existsSync(join(root, 'bench/notes.md')) ? readFileSync(join(root, 'bench/notes.md'), 'utf8') : ''
  writeFileSync(join(root, 'docs/benchmarks.md'), renderReport(recorded, notes))
  log('rewrote docs/benchmarks.md from bench/results/latest.json')
  process.exit(0)
}

const wanted = (name) => only.length === 0 || only.includes(name)
// Portkey and wrk serve the proxy parts; a run of the in-process part alone installs nothing.
if (!(only.length > 0 && only.every((name) => name === 'in-process'))) setup()
const before = machine()
log(`load average before: ${before.load.join(', ')}${before.load[0] > 1 ? ' (busy: numbers will be noisy; see the doc)' : ''}`)
const results = { quick, date: new Date().toISOString(), command: `${quick ? 'BENCH_QUICK=1 ' : ''}npm run bench${only.length ? ` -- ${only.join(' ')}` : ''}`, machine: before }

if (wanted('in-process')) {
  results.inProcess = []
  for (let run = 1; run <= inProcessRuns; run++) {
    log(`in-process, run ${run}/${inProcessRuns} (core 0) ...`)
    results.inProcess.push(runBenchmark('in-process.ts', 0))
  }
}
// One part each: its name for `npm run bench -- <name>`, its key in the results, its script, the core it runs on and what the log says.
const parts = [
  ['exporter-impact', 'exporterImpact', 'exporter-impact.ts', undefined, 'exporter impact (calls on core 0, sink on core 1)'],
  ['sink-isolation', 'sinkIsolation', 'sink-isolation.ts', 0, 'sink isolation (queue on core 0, receiver on core 1)'],
  ['provider-path', 'providerPath', 'provider-path.ts', 0, 'provider path (caller on core 0, mock upstream on core 1)'],
  ['spool', 'spool', 'spool.ts', 0, 'spool: append() per event on the call path, the background write (core 0)'],
  ['large-content', 'largeContent', 'large-content.ts', 0, "large content: the guide's exporters with a 264 KB picture per call, cut and whole (core 0, receiver on core 1)"],
  ['stream-window', 'streamWindow', 'stream-window.ts', 0, "stream window: CPU per chunk of the guardrails' look-ahead (core 0)"],
  ['cache', 'cache', 'cache.ts', 0, 'cache: a hit from memory and from Redis, what a miss adds, the key alone (core 0)'],
  ['cold-start', 'coldStart', 'cold-start.ts', 0, 'cold start (fresh processes on core 0)'],
  ['proxy', 'proxy', 'proxy.ts', 1, 'proxy (gateways on core 0, load and mock upstream on core 1)'],
  ['proxy-callbacks', 'proxyCallbacks', 'proxy-callbacks.ts', 1, "proxy with callbacks: none, the guide's set, every integration; delivery worker on and off (proxy on core 0, load, upstream and receiver on core 1)"],
  ['request-thread-callbacks', 'requestThreadCallbacks', 'request-thread-callbacks.ts', undefined, "request thread with callbacks: the proxy's work per request in one process, none, the guide's set, every integration (the delivery worker's thread and the receiver elsewhere)"],
  ['proxy-keys', 'proxyKeys', 'proxy-keys.ts', 1, 'proxy with virtual keys, budgets and rate limits on Redis (proxies on core 0, load and upstream on core 1)'],
  ['workers', 'workers', 'workers.ts', undefined, 'workers: serve --workers 2 against one worker (unpinned; load and upstream share the cores)'],
]
for (const [name, key, script, core, description] of parts) {
  if (!wanted(name)) continue
  log(`${description} ...`)
  results[key] = runBenchmark(script, core)
}
results.loadAfter = machine().load
results.seconds = Math.round((Date.now() - started) / 1000)

// `BENCH_INTEGRATIONS=a,b npm run bench -- in-process --supplement`: the integrations' rows (each
// alone, BENCH_RUNS runs) are kept in bench/results/latest.json as perIntegrationSupplement, marked
// in docs/benchmarks.md as measured after the recorded run, until the next full run replaces them.
if (process.argv.includes('--supplement')) {
  if (quick || !process.env.BENCH_INTEGRATIONS || only.join(' ') !== 'in-process') {
    log('--supplement takes BENCH_INTEGRATIONS, `-- in-process` alone and no BENCH_QUICK; nothing recorded')
    process.exit(1)
  }
  const latest = join(root, 'bench/results/latest.json')
  const recordedText = readFileSync(latest, 'utf8')
  const recordedResults = JSON.parse(recordedText)
  recordedResults.perIntegrationSupplement = {
    date: results.date,
    command: `BENCH_INTEGRATIONS=${process.env.BENCH_INTEGRATIONS} npm run bench -- in-process --supplement`,
    load: results.machine.load,
    loadAfter: results.loadAfter,
    observability: results.inProcess[results.inProcess.length - 1].observability,
    runs: results.inProcess.map((run) => run.perIntegration),
  }
  // Written with the file's own indentation, so the diff is the supplement alone.
  writeFileSync(latest, `${JSON.stringify(recordedResults, null, /^\{\n( +)"/.exec(recordedText)?.[1]?.length ?? 1)}\n`)
  const notes = existsSync(join(root, 'bench/notes.md')) ? readFileSync(join(root, 'bench/notes.md'), 'utf8') : ''
  writeFileSync(join(root, 'docs/benchmarks.md'), renderReport(recordedResults, notes))
  log(`kept ${Object.keys(results.inProcess[0].perIntegration).length} integrations' rows in bench/results/latest.json (perIntegrationSupplement) and rewrote docs/benchmarks.md`)
  process.exit(0)
}

// Only a full run of everything is recorded; a quick or partial run goes to ignored *.tmp files.
const recorded = !quick && only.length === 0
mkdirSync(join(root, 'bench/results'), { recursive: true })
const json = join(root, recorded ? 'bench/results/latest.json' : 'bench/results/last-run.json.tmp')
const markdown = join(root, recorded ? 'docs/benchmarks.md' : 'bench/results/last-run.md.tmp')
writeFileSync(json, `${JSON.stringify(results, null, 1)}\n`)
const notes = existsSync(join(root, 'bench/notes.md')) ? readFileSync(join(root, 'bench/notes.md'), 'utf8') : ''
writeFileSync(markdown, renderReport(results, notes))
log(`done in ${results.seconds} s; wrote ${markdown.replace(root, '')} and ${json.replace(root, '')}${recorded ? '' : ' (a quick or partial run leaves docs/benchmarks.md alone)'}`)
