/**
 * LiteLLM's routing strategies, counted in the shared store so that every worker and replica routes
 * on the same numbers: `simple-shuffle` (weighted random, no store), `least-busy` (fewest requests in
 * flight), `latency-based-routing` (lowest average latency over a window; time to first token for
 * streams) and `usage-based-routing` / `-v2` (most tpm/rpm headroom this minute, rpm enforced
 * atomically). Each orders a model group's deployments; the router tries them in that order.
 */
import type { Context } from '../context'
import { isTimeoutError } from '../errors'
import type { SharedStore } from '../shared-state/store'

/** The `routing_strategy` values llm-onion implements. */
export const routingStrategyNames = ['simple-shuffle', 'least-busy', 'latency-based-routing', 'usage-based-routing', 'usage-based-routing-v2'] as const
export type RoutingStrategyName = (typeof routingStrategyNames)[number]

/** The routing settings of a config (`router_settings`), defaults filled in. */
export interface RoutingSettings {
  strategy: RoutingStrategyName
  /** latency-based-routing: `routing_strategy_args.ttl`, the window averaged, in ms (default 60,000). */
  latencyWindowMs: number
  /** latency-based-routing: `routing_strategy_args.lowest_latency_buffer`: pick at random among those within (1 + buffer) × the lowest (default 0). */
  latencyBuffer: number
  /** `allowed_fails`: failures a deployment may have within `cooldown_time` before it cools down; absent, no cooldowns. */
  allowedFails?: number
  /** `cooldown_time` in ms (default 5,000, LiteLLM's): how long failures are counted, and how long a cooldown lasts. */
  cooldownTimeMs: number
  /** `disable_cooldowns`. */
  disableCooldowns: boolean
}

/** The routing of a config that says nothing about it. */
export const defaultRouting: RoutingSettings = { strategy: 'simple-shuffle', latencyWindowMs: 60_000, latencyBuffer: 0, cooldownTimeMs: 5_000, disableCooldowns: false }

/** What a strategy knows of a deployment. */
export interface RoutingCandidate {
  /** `model_info.id`. */
  id: string
  /** simple-shuffle's weight (`weight`, else `rpm`, else `tpm`). */
  weight: number
  /** `rpm` / `tpm` limits of the deployment, for usage-based routing. */
  rpm?: number
  tpm?: number
}

/** How an attempt at a deployment went. */
export interface AttemptOutcome {
  error?: unknown
  latencyMs: number
  /** Streams: ms from the attempt's start to its first chunk. */
  firstChunkMs?: number
  outputTokens?: number
  totalTokens?: number
}

/** One strategy: orders deployments, and counts what it needs around each attempt. */
export interface RoutingStrategy {
  readonly name: RoutingStrategyName
  /** The deployments in the order to try them, best first; may leave out those without headroom. */
  order<Candidate extends RoutingCandidate>(candidates: Candidate[], ctx: Context): Promise<Candidate[]>
  /** Before an attempt; false: this deployment may not take it (its rpm is used up), try the next. */
  started(candidate: RoutingCandidate): Promise<boolean>
  /** After an attempt; runs in the background. */
  finished(candidate: RoutingCandidate, outcome: AttemptOutcome): Promise<void>
}

const minuteMs = 60_000
/** LiteLLM's latency penalty for a deployment that timed out, in seconds. */
const timeoutPenalty = 1_000
/** An in-flight count outlives a crash of the process that made it by at most this long. */
const inFlightTtlMs = 10 * minuteMs

/**
 * The strategy `settings` names, counting in `store`.
 *
 * @example
 * ```ts
 * const strategy = createRoutingStrategy({ ...defaultRouting, strategy: 'least-busy' }, memoryStore())
 * const [first] = await strategy.order(deployments, ctx)
 * ```
 */
export function createRoutingStrategy(settings: RoutingSettings, store: SharedStore): RoutingStrategy {
  switch (settings.strategy) {
    case 'least-busy':
      return leastBusy(store)
    case 'latency-based-routing':
      return lowestLatency(store, settings)
    case 'usage-based-routing':
    case 'usage-based-routing-v2':
      return mostHeadroom(store, settings.strategy)
    default:
      return simpleShuffle()
  }
}

function simpleShuffle(): RoutingStrategy {
  return {
    name: 'simple-shuffle',
    async order(candidates) {
      const first = weightedPick(candidates)
      return [first, ...candidates.filter((candidate) => candidate !== first)]
    },
    started: async () => true,
    finished: async () => {},
  }
}

function leastBusy(store: SharedStore): RoutingStrategy {
  const key = (candidate: RoutingCandidate) => `routing:in-flight:${candidate.id}`
  return {
    name: 'least-busy',
    async order(candidates) {
      // A count can dip below zero when its key expired while requests were in flight.
      const counts = await Promise.all(candidates.map(async (candidate) => Math.max(0, Number((await store.get(key(candidate))) ?? 0))))
      return byScore(candidates, counts)
    },
    async started(candidate) {
      await store.increment(key(candidate), 1, { ttlMs: inFlightTtlMs })
      return true
    },
    async finished(candidate) {
      await store.increment(key(candidate), -1, { ttlMs: inFlightTtlMs })
    },
  }
}

function lowestLatency(store: SharedStore, settings: RoutingSettings): RoutingStrategy {
  const windowMs = settings.latencyWindowMs
  const latencyKey = (candidate: RoutingCandidate) => `routing:latency:${candidate.id}`
  const firstTokenKey = (candidate: RoutingCandidate) => `routing:first-token:${candidate.id}`
  const average = ({ sum, count }: { sum: number; count: number }) => (count === 0 ? undefined : sum / count)
  return {
    name: 'latency-based-routing',
    async order(candidates, ctx) {
      const averages = await Promise.all(
        candidates.map(async (candidate) => {
          const streamed = ctx.streaming ? average(await store.readWindow(firstTokenKey(candidate), windowMs)) : undefined
          // A deployment never measured counts 0, so it gets tried (LiteLLM's rule).
          return streamed ?? average(await store.readWindow(latencyKey(candidate), windowMs)) ?? 0
        }),
      )
      const sorted = byScore(candidates, averages)
      const lowest = Math.min(...averages)
      const close = sorted.filter((candidate) => averages[candidates.indexOf(candidate)]! <= lowest * (1 + settings.latencyBuffer))
      const first = close[Math.floor(Math.random() * close.length)]!
      return [first, ...sorted.filter((candidate) => candidate !== first)]
    },
    started: async () => true,
    async finished(candidate, outcome) {
      if (outcome.error !== undefined) {
        if (isTimeoutError(outcome.error)) await store.addToWindow(latencyKey(candidate), timeoutPenalty, windowMs)
        return
      }
      // Seconds per output token when the reply says how many (LiteLLM's measure), else seconds.
      const perToken = (ms: number) => (outcome.outputTokens ? ms / 1000 / outcome.outputTokens : ms / 1000)
      await store.addToWindow(latencyKey(candidate), perToken(outcome.latencyMs), windowMs)
      if (outcome.firstChunkMs !== undefined) await store.addToWindow(firstTokenKey(candidate), perToken(outcome.firstChunkMs), windowMs)
    },
  }
}

function mostHeadroom(store: SharedStore, name: 'usage-based-routing' | 'usage-based-routing-v2'): RoutingStrategy {
  const minute = () => Math.floor(Date.now() / minuteMs)
  const rpmKey = (candidate: RoutingCandidate) => `routing:rpm:${candidate.id}:${minute()}`
  const tpmKey = (candidate: RoutingCandidate) => `routing:tpm:${candidate.id}:${minute()}`
  const used = async (key: string) => Number((await store.get(key)) ?? 0)
  return {
    name,
    async order(candidates, ctx) {
      const inputTokens = candidates.some((candidate) => candidate.tpm !== undefined) ? await estimatedInputTokens(ctx) : 0
      const usage = await Promise.all(candidates.map(async (candidate) => ({ rpm: await used(rpmKey(candidate)), tpm: await used(tpmKey(candidate)) })))
      const open = candidates.filter((candidate, index) => {
        const { rpm, tpm } = usage[index]!
        return (candidate.rpm === undefined || rpm + 1 <= candidate.rpm) && (candidate.tpm === undefined || tpm + inputTokens <= candidate.tpm)
      })
      return byScore(open, open.map((candidate) => usage[candidates.indexOf(candidate)]!.tpm))
    },
    async started(candidate) {
      // The request is counted before it is sent, atomically: N replicas never pass rpm between them.
      const rpm = await store.increment(rpmKey(candidate), 1, { ttlMs: 2 * minuteMs })
      return candidate.rpm === undefined || rpm <= candidate.rpm
    },
    async finished(candidate, outcome) {
      if (outcome.error === undefined && outcome.totalTokens) await store.increment(tpmKey(candidate), outcome.totalTokens, { ttlMs: 2 * minuteMs })
    },
  }
}

/** Milliseconds until the next minute starts: when usage-based headroom comes back. */
export function untilNextMinute(): number {
  return minuteMs - (Date.now() % minuteMs)
}

/** `candidates` sorted by `scores`, lowest first; ties in random order. */
function byScore<Candidate>(candidates: Candidate[], scores: number[]): Candidate[] {
  const ranked = candidates.map((candidate, index) => ({ candidate, score: scores[index]!, tie: Math.random() }))
  ranked.sort((left, right) => left.score - right.score || left.tie - right.tie)
  return ranked.map((entry) => entry.candidate)
}

/** Weighted random pick (simple-shuffle). */
export function weightedPick<Candidate extends RoutingCandidate>(candidates: Candidate[]): Candidate {
  if (candidates.length === 1) return candidates[0]!
  let point = Math.random() * candidates.reduce((sum, candidate) => sum + candidate.weight, 0)
  for (const candidate of candidates) {
    point -= candidate.weight
    if (point < 0) return candidate
  }
  return candidates[candidates.length - 1]!
}

async function estimatedInputTokens(ctx: Context): Promise<number> {
  const { estimateInputTokens } = await import('../token-estimate')
  return estimateInputTokens(ctx.request)
}
