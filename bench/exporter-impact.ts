/**
 * Exporter impact: the latency of a call with every integration on is the same whether their sinks
 * are healthy or down (connection refused), read against the same calls with no integration. Each
 * mode runs in its own process (core 0) at a fixed call rate; the modes alternate over several
 * rounds and the runner takes medians.
 *
 * `node --import tsx bench/exporter-impact.ts` runs every round and prints `BENCH_RESULT {json}`;
 * `--mode none|healthy|down` runs one mode (what the rounds spawn).
 */
import { parseArgs } from 'node:util'
import { createClient } from '../src/client'
import { cannedProvider, request } from './contestants'
import { guardNetwork, integrationEnvironment, loadObservability, refusedPortUrl } from './integrations'
import { startChild, tsNode } from './processes'
import { emitResult, median, percentile, quick, round } from './stats'

// A rate the healthy configuration sustains on one core with every export delivered (at 1,000/s the
// delivery work of 14 integrations saturated the core when this was written), with 1,000 calls per
// mode and round so p90 is stable.
const rate = 200
const seconds = quick ? 2 : 5
const rounds = quick ? 1 : 3

const modes = ['none', 'healthy', 'down'] as const
type Mode = (typeof modes)[number]

interface ModeResult {
  mode: string
  integrations: string[]
  calls: number
  p50Us: number
  p90Us: number
  p99Us: number
  meanUs: number
  queue: { enqueued: number; delivered: number; retries: number; dropped: Record<string, number> }
}

/** One mode, in this process: calls at `rate`/s for `seconds`, each call's latency in µs. */
async function runMode(mode: Mode, sinkUrl: string): Promise<ModeResult> {
  guardNetwork()
  Object.assign(process.env, integrationEnvironment(sinkUrl).env)
  const loaded = await loadObservability()
  // `none`: the same calls with no integration, the baseline both other modes are read against.
  const observability = mode === 'none' ? { ...loaded, layers: [], names: [] } : loaded
  // The default queue, as a user gets it; drops are counted, not printed.
  const client = createClient({ providers: { canned: cannedProvider }, middleware: observability.layers, queue: { onDrop: () => {} }, onHookError: () => {} })
  const latencies: number[] = []
  const run = async (total: number, record: boolean) => {
    const pending: Promise<void>[] = []
    const started = performance.now()
    let sent = 0
    await new Promise<void>((resolve) => {
      const tick = () => {
        const due = Math.min(total, Math.floor(((performance.now() - started) * rate) / 1000) + 1)
        while (sent < due) {
          sent++
          const callStarted = performance.now()
          pending.push(
            client.chat(request).then(() => {
              if (record) latencies.push((performance.now() - callStarted) * 1000)
            }),
          )
        }
        if (sent < total) setTimeout(tick, 1)
        else resolve()
      }
      tick()
    })
    await Promise.all(pending)
  }
  await run(rate, false) // one second of warm-up
  await run(rate * seconds, true)
  const stats = client.services.queue.stats()
  // Leave without waiting out the down sinks' retries (close() would, up to its timeout).
  return {
    mode,
    integrations: observability.names,
    calls: latencies.length,
    p50Us: round(percentile(latencies, 50)),
    p90Us: round(percentile(latencies, 90)),
    p99Us: round(percentile(latencies, 99)),
    meanUs: round(latencies.reduce((sum, value) => sum + value, 0) / latencies.length),
    queue: { enqueued: stats.enqueued, delivered: stats.delivered, retries: stats.retries, dropped: stats.dropped },
  }
}

async function runRounds(): Promise<void> {
  const [sinkCommand, sinkArgs] = tsNode(new URL('./fake-sink.ts', import.meta.url).pathname)
  const sink = await startChild(sinkCommand, sinkArgs, { core: 1 })
  process.on('exit', () => sink.process.kill('SIGKILL'))
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130))
  const down = await refusedPortUrl()
  const results: Record<Mode, ModeResult[]> = { none: [], healthy: [], down: [] }
  try {
    for (let index = 1; index <= rounds; index++) {
      for (const mode of modes) {
        process.stderr.write(`round ${index}/${rounds}: sinks ${mode} ...\n`)
        const [command, args] = tsNode(new URL(import.meta.url).pathname, ['--mode', mode, '--sink', mode === 'down' ? down : sink.url])
        const child = await startChild(command, args, { core: 0, timeoutMs: 120_000 })
        results[mode].push(JSON.parse(decodeURIComponent(child.url)) as ModeResult)
        await child.stop()
      }
    }
  } finally {
    await sink.stop()
  }
  const summary = (mode: Mode) => ({
    p50Us: round(median(results[mode].map((each) => each.p50Us))),
    p90Us: round(median(results[mode].map((each) => each.p90Us))),
    p99Us: round(median(results[mode].map((each) => each.p99Us))),
    meanUs: round(median(results[mode].map((each) => each.meanUs))),
  })
  const healthy = summary('healthy')
  const downSummary = summary('down')
  emitResult({
    rate,
    seconds,
    rounds,
    integrations: results.healthy[0]?.integrations ?? [],
    none: summary('none'),
    healthy,
    down: downSummary,
    ratio: { p50: round(downSummary.p50Us / healthy.p50Us), p90: round(downSummary.p90Us / healthy.p90Us), p99: round(downSummary.p99Us / healthy.p99Us), mean: round(downSummary.meanUs / healthy.meanUs) },
    runs: results,
  })
}

const { values } = parseArgs({ options: { mode: { type: 'string' }, sink: { type: 'string' } } })
if (modes.includes(values.mode as Mode)) {
  const result = await runMode(values.mode as Mode, values.sink!)
  // The parent reads this line as the child's "URL" (see startChild): the result, URI-encoded.
  process.stdout.write(`LISTENING ${encodeURIComponent(JSON.stringify(result))}\n`)
  // Stay until the parent stops this process, so its exit is never mistaken for a failure.
  setInterval(() => undefined, 60_000)
} else {
  await runRounds()
}
