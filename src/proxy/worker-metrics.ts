/**
 * `GET /metrics` under `serve --workers N`: the worker that takes the scrape asks the primary, the
 * primary asks every listening worker for its exposition over the cluster's IPC channel, merges
 * what arrives within {@link collectTimeoutMs} (src/proxy/exposition-merge.ts) and sends the merged
 * text back, so a scrape of the one port sees the whole proxy. A single `serve` never loads this.
 *
 * Counters never go down between scrapes, as Prometheus expects of them: a worker that misses a
 * scrape counts with its last answer, and the counters of a worker that ended (and was replaced)
 * stay in every later scrape, as of its last answer. (What it counted after that answer is lost.)
 *
 * The messages, all `{ type, id }` with `id` chosen by the asker:
 * worker → primary `llm-onion:metrics-request`; primary → each worker `llm-onion:metrics-collect`;
 * each worker → primary `llm-onion:metrics-text` (with `text`); primary → asker `llm-onion:metrics-merged` (with `text`).
 */
import type { Worker } from 'node:cluster'
import { carriedCounters, mergeExpositions, type WorkerExposition } from './exposition-merge'

/** How long the primary waits for the workers' expositions; a worker later than this counts as of its last answer. */
const collectTimeoutMs = 2_000
/** How long a worker waits for the merged text before answering the scrape with an error. */
const mergedTimeoutMs = collectTimeoutMs + 3_000

/** The metrics messages between the primary and its workers. */
export type MetricsMessage =
  | { type: 'llm-onion:metrics-request'; id: number }
  | { type: 'llm-onion:metrics-collect'; id: number }
  | { type: 'llm-onion:metrics-text'; id: number; text: string }
  | { type: 'llm-onion:metrics-merged'; id: number; text: string }

/** The primary's side: started by `runPrimary()`, fed every message a worker sends. */
export interface MetricsGathering {
  /** Handles `message` if it is a metrics message from `worker`; false for any other message. */
  receive(worker: Worker, message: unknown): boolean
  /** `worker` has exited: its last answer's counters are kept for every later scrape. */
  ended(worker: Worker): void
}

/**
 * The primary's side. `listening` gives the workers that serve (a worker still starting has no
 * metrics yet, and asking it would only make the scrape wait).
 *
 * @example
 * ```ts
 * const gathering = createMetricsGathering(() => listeningWorkers())
 * worker.on('message', (message) => { if (gathering.receive(worker, message)) return; ... })
 * ```
 */
export function createMetricsGathering(listening: () => Worker[]): MetricsGathering {
  // Rounds in progress, by the primary's own id (askers' ids may collide between workers).
  const rounds = new Map<number, { waiting: Map<number, string>; replies: Map<number, WorkerExposition>; finish(): void }>()
  let nextRound = 0
  // Each listening worker's last answer, by worker id; and the counters of the workers that ended.
  const lastAnswers = new Map<number, string>()
  let endedCounters = ''

  const startRound = (asker: Worker, askerId: number) => {
    const round = nextRound++
    const workers = listening()
    const waiting = new Map(workers.map((worker) => [worker.id, String(worker.process.pid)]))
    const replies = new Map<number, WorkerExposition>()
    const finish = () => {
      clearTimeout(timer)
      rounds.delete(round)
      const carried = [endedCounters, ...[...waiting.keys()].flatMap((id) => lastAnswers.get(id) ?? [])]
      const text = mergeExpositions([...replies.values()], { missing: [...waiting.values()], carried })
      if (asker.isConnected()) asker.send({ type: 'llm-onion:metrics-merged', id: askerId, text } satisfies MetricsMessage, undefined, ignoreSendError)
    }
    const timer = setTimeout(finish, collectTimeoutMs)
    rounds.set(round, { waiting, replies, finish })
    for (const worker of workers) {
      if (worker.isConnected()) worker.send({ type: 'llm-onion:metrics-collect', id: round } satisfies MetricsMessage, undefined, ignoreSendError)
    }
    if (waiting.size === 0) finish()
  }

  return {
    receive(worker, message) {
      const metrics = message as MetricsMessage | undefined
      if (metrics?.type === 'llm-onion:metrics-request') startRound(worker, metrics.id)
      else if (metrics?.type === 'llm-onion:metrics-text') {
        const round = rounds.get(metrics.id)
        const pid = round?.waiting.get(worker.id)
        if (round === undefined || pid === undefined) return true
        round.waiting.delete(worker.id)
        round.replies.set(worker.id, { worker: pid, text: metrics.text })
        lastAnswers.set(worker.id, metrics.text)
        if (round.waiting.size === 0) round.finish()
      } else return false
      return true
    },
    ended(worker) {
      const last = lastAnswers.get(worker.id)
      lastAnswers.delete(worker.id)
      // Its counters now come from endedCounters alone, not also from an answer of a round still open.
      for (const round of rounds.values()) {
        round.replies.delete(worker.id)
        if (round.waiting.delete(worker.id) && round.waiting.size === 0) round.finish()
      }
      if (last !== undefined) endedCounters = carriedCounters([endedCounters, last])
    },
  }
}

/** A worker that has gone away is left out by the round's timeout; the send error says nothing more. */
function ignoreSendError(): void {}

/** A worker's side: asks the primary for the merged metrics, and answers the primary with its own. */
export interface WorkerMetrics {
  /** What `GET /metrics` serves: the merged exposition of every worker, from the primary. */
  gather(): Promise<string>
  /** Answers the primary's requests with `render()`, this process's exposition, from now on. */
  answerWith(render: () => string): void
}

/**
 * A worker's side of the metrics messages.
 *
 * @example
 * ```ts
 * const workerMetrics = createWorkerMetrics()
 * const proxy = await buildProxyServer({ gatherMetrics: workerMetrics.gather })
 * workerMetrics.answerWith(proxy.metrics)
 * ```
 */
export function createWorkerMetrics(): WorkerMetrics {
  const waiting = new Map<number, (text: string) => void>()
  let nextId = 0
  process.on('message', (message: MetricsMessage | undefined) => {
    if (message?.type === 'llm-onion:metrics-merged') waiting.get(message.id)?.(message.text)
  })
  return {
    gather: () =>
      new Promise<string>((resolve, reject) => {
        const id = nextId++
        const fail = (why: string) => {
          clearTimeout(timer)
          waiting.delete(id)
          reject(new Error(`GET /metrics: ${why}, so the metrics of the workers cannot be merged; the scrape can be retried. Run without --workers for metrics that need no primary.`))
        }
        const timer = setTimeout(() => fail(`the primary process sent no merged metrics within ${mergedTimeoutMs / 1000} s`), mergedTimeoutMs)
        waiting.set(id, (text) => {
          clearTimeout(timer)
          waiting.delete(id)
          resolve(text)
        })
        if (!process.connected || !process.send) return fail('this worker is no longer connected to the primary process')
        process.send({ type: 'llm-onion:metrics-request', id } satisfies MetricsMessage, undefined, {}, (error) => error && fail(`the request to the primary process failed (${error.message})`))
      }),
    answerWith(render) {
      process.on('message', (message: MetricsMessage | undefined) => {
        if (message?.type === 'llm-onion:metrics-collect') process.send?.({ type: 'llm-onion:metrics-text', id: message.id, text: render() } satisfies MetricsMessage, undefined, {}, ignoreSendError)
      })
    },
  }
}
