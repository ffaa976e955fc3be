/**
 * `llm-onion serve --workers N` (LiteLLM's `--num_workers`): N worker processes on one port, through
 * node:cluster. The primary process serves nothing itself: it starts the workers, prints the summary
 * once they all listen, starts a new worker when one dies, and on SIGTERM / SIGINT asks every worker
 * to drain and flush (each does what a single `serve` does) and exits when they all have, non-zero
 * when any worker did (events dropped). It also answers the workers' requests for the metrics of
 * every worker, so `GET /metrics` on the one port covers the whole proxy (src/proxy/worker-metrics.ts).
 */
import cluster, { type Worker } from 'node:cluster'
import { createMetricsGathering } from './worker-metrics'

/** What a worker tells the primary. */
export type WorkerMessage = { type: 'llm-onion:listening'; url: string; summary: string }
/** What the primary tells a worker. */
export type PrimaryMessage = { type: 'llm-onion:shutdown'; signal: string }

/** A worker that dies within this long of its start, before listening, counts as failing to start. */
const restartDelayMs = 1_000
/** Replacements in a row that may fail to start before the primary gives up. */
const maxFailedStarts = 5

/**
 * Runs the primary of `count` workers; the workers re-run the command line (`cli.ts serve ...`),
 * recognise themselves with `cluster.isWorker`, and report with {@link WorkerMessage}.
 *
 * @example
 * ```ts
 * if (cluster.isPrimary && workers > 1) return runPrimary(workers)
 * ```
 */
export function runPrimary(count: number): Promise<never> {
  return new Promise<never>(() => {
    const listening = new Map<number, string>()
    const summaries: string[] = []
    let started = false
    let stopping = false
    let failedStarts = 0
    let worst = 0
    const gathering = createMetricsGathering(() => [...listening.keys()].flatMap((id) => cluster.workers?.[id] ?? []))

    const fork = (): Worker => {
      const worker = cluster.fork()
      worker.on('message', (message: WorkerMessage) => {
        if (gathering.receive(worker, message) || message?.type !== 'llm-onion:listening') return
        listening.set(worker.id, message.url)
        failedStarts = 0
        summaries.push(message.summary)
        if (started) console.log(`llm-onion: worker ${worker.process.pid} is serving`)
        if (!started && listening.size === count) {
          started = true
          console.log(withWorkers(summaries[0]!, count))
        }
      })
      return worker
    }

    const stopAll = (signal: string) => {
      if (stopping) {
        console.error(`llm-onion: ${signal} again, stopping the workers without waiting`)
        for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL')
        process.exit(1)
      }
      stopping = true
      console.log(`llm-onion: ${signal}: asking ${Object.keys(cluster.workers ?? {}).length} worker(s) to finish their requests and flush`)
      for (const worker of Object.values(cluster.workers ?? {})) worker?.send({ type: 'llm-onion:shutdown', signal } satisfies PrimaryMessage)
    }

    cluster.on('exit', (worker, code, signal) => {
      const wasListening = listening.delete(worker.id)
      gathering.ended(worker)
      // A worker's exit code at shutdown says whether it dropped events; a crash before is not counted.
      if (stopping) worst = Math.max(worst, code ?? 1)
      if (stopping || !started) {
        if (!started && !stopping) {
          // A worker that cannot start (a wrong config) has said why; the others would say the same.
          stopping = true
          for (const other of Object.values(cluster.workers ?? {})) other?.process.kill('SIGTERM')
        }
        if (Object.keys(cluster.workers ?? {}).length === 0) {
          if (!started) console.error('llm-onion: the workers could not start (see above)')
          else console.log(worst === 0 ? 'llm-onion: all workers stopped' : 'llm-onion: all workers stopped; some dropped events (see above)')
          process.exit(started ? worst : 1)
        }
        return
      }
      const how = signal ? `signal ${signal}` : `exit code ${code}`
      if (!wasListening && ++failedStarts >= maxFailedStarts) {
        console.error(`llm-onion: ${maxFailedStarts} replacement workers in a row failed to start; stopping`)
        stopAll('SIGTERM')
        return
      }
      console.error(`llm-onion: worker ${worker.process.pid} ended (${how}); starting another`)
      setTimeout(() => {
        if (!stopping) fork()
      }, wasListening ? 0 : restartDelayMs)
    })

    process.on('SIGTERM', () => stopAll('SIGTERM'))
    process.on('SIGINT', () => stopAll('SIGINT'))
    for (let index = 0; index < count; index++) fork()
  })
}

/** The first worker's summary, its first line unchanged (scripts read the port there), with the worker count. */
function withWorkers(summary: string, count: number): string {
  const [first, ...rest] = summary.split('\n')
  const lines = rest.map((line) => (line.startsWith('  shared state: memory') ? '  shared state: memory of each worker: they count apart (set REDIS_URL to share counts between workers and replicas)' : line))
  return [first, `  workers: ${count} processes on this port (node:cluster); each restarts if it dies`, ...lines].join('\n')
}
