/**
 * Sink isolation: how much a healthy sink delivers when the sink next to it in the same delivery
 * queue is dead (connection refused), against both healthy. Two sinks share one default queue, as
 * two integrations of one client do: a PostHog-like one (batches of 100) and a Helicone-like one
 * (one item per request). Every event goes to both, offered at a fixed rate; the receiver runs in its
 * own process (core 1). The modes alternate over several rounds and the runner takes medians.
 *
 * `node --import tsx bench/sink-isolation.ts` prints `BENCH_RESULT {json}`.
 */
import { readFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { createDeliveryQueue } from '../src/delivery/queue'
import { httpSink } from '../src/delivery/http-sink'
import { refusedPortUrl } from './integrations'
import { startChild, tsNode } from './processes'
import { emitResult, median, quick, round } from './stats'

/** Events per second offered to each sink: 16,000 in a round, more than the old shared bound (10,000) held with a dead sink. */
const rate = 2_000
const seconds = quick ? 2 : 8
const rounds = quick ? 1 : 3
const modes = ['healthy', 'oneDead'] as const
type Mode = (typeof modes)[number]

interface ModeResult {
  offered: number
  /** Share of the offered events the batch sink delivered. */
  healthyDeliveredShare: number
  /** Events/s the batch sink delivered, from the first event offered to its last delivery. */
  healthyPerSecond: number
  healthyDropped: Record<string, number>
  otherDelivered: number
  otherDropped: Record<string, number>
}

async function runMode(mode: Mode, receiverUrl: string, deadUrl: string): Promise<ModeResult> {
  const queue = createDeliveryQueue({ onDrop: () => {} })
  const batchSink = httpSink<{ id: number }>({ name: 'batch', url: `${receiverUrl}/batch`, encode: (events) => ({ batch: events }) })
  const oneItemSink = httpSink<{ id: number }>({ name: 'one-item', url: `${mode === 'oneDead' ? deadUrl : receiverUrl}/log`, maxBatchSize: 1, encode: (events) => events[0] })
  const total = rate * seconds
  const started = performance.now()
  let sent = 0
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) * rate) / 1000) + 1)
    for (; sent < due; sent++) {
      queue.enqueue(batchSink, { id: sent })
      queue.enqueue(oneItemSink, { id: sent })
    }
    await sleep(1)
  }
  // The batch sink's last delivery ends its measurement (bounded: a sink that never drains is a result too).
  const drainDeadline = performance.now() + 30_000
  while (queue.stats().sinks.batch!.pending > 0 && performance.now() < drainDeadline) await sleep(1)
  const elapsedSeconds = (performance.now() - started) / 1000
  const stats = queue.stats()
  await queue.close({ timeoutMs: mode === 'oneDead' ? 0 : 10_000 })
  await Promise.all([batchSink.close?.(), oneItemSink.close?.()])
  return {
    offered: total,
    healthyDeliveredShare: stats.sinks.batch!.delivered / total,
    healthyPerSecond: round(stats.sinks.batch!.delivered / elapsedSeconds),
    healthyDropped: stats.sinks.batch!.dropped,
    otherDelivered: stats.sinks['one-item']!.delivered,
    otherDropped: stats.sinks['one-item']!.dropped,
  }
}

const [receiverCommand, receiverArgs] = tsNode(new URL('./fake-sink.ts', import.meta.url).pathname)
const receiver = await startChild(receiverCommand, receiverArgs, { core: 1 })
process.on('exit', () => receiver.process.kill('SIGKILL'))
const deadUrl = await refusedPortUrl()
const results: Record<Mode, ModeResult[]> = { healthy: [], oneDead: [] }
try {
  for (let index = 1; index <= rounds; index++) {
    for (const mode of modes) {
      process.stderr.write(`round ${index}/${rounds}: ${mode} ...\n`)
      results[mode].push(await runMode(mode, receiver.url, deadUrl))
    }
  }
} finally {
  await receiver.stop()
}
const summary = (mode: Mode) => ({
  healthyDeliveredShare: median(results[mode].map((each) => each.healthyDeliveredShare)),
  healthyPerSecond: round(median(results[mode].map((each) => each.healthyPerSecond))),
})
const healthy = summary('healthy')
const oneDead = summary('oneDead')
const cpu = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown CPU'
emitResult({
  date: new Date().toISOString(),
  measuredOn: `${cpu}, ${cpus().length} cores, Node ${process.version}`,
  load: loadavg().map((value) => round(value)),
  rate,
  seconds,
  rounds,
  healthy,
  oneDead,
  ratio: round(oneDead.healthyPerSecond / healthy.healthyPerSecond),
  runs: results,
})
process.exit(0)
