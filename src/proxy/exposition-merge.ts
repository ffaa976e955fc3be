/**
 * One Prometheus exposition out of the expositions of every worker of `serve --workers`, so that a
 * scrape of the one port sees the whole proxy, as a single process would show it (what prom-client's
 * AggregatorRegistry does for cluster apps). Each family keeps one `# HELP` and `# TYPE`; samples of
 * the same name and labels are summed where a sum means the same as in one process, and are kept
 * apart under a `worker` label (the worker's pid) where it would not:
 *
 * - counters, and histograms (`_bucket`, `_sum`, `_count`): summed.
 * - summaries: `_sum` and `_count` summed; quantiles cannot be added, so each worker's are kept
 *   under `worker`. (The proxy's own metrics have no summaries today.)
 * - gauges in {@link summedGauges}: summed; each counts things in flight or waiting, and the proxy
 *   holds the sum of what its workers hold.
 * - any other gauge, and untyped samples: kept per worker. A gauge may be a per-process fact (a
 *   start time, a heap size) whose sum is meaningless; a new gauge that sums joins the list.
 *
 * Timestamps on sample lines are dropped: the merged sample is as of the scrape. Counters stay
 * monotonic across workers that miss a scrape or end, through {@link MergeOptions.carried}.
 */
import { parseExposition, type MetricFamily, type MetricType, type Sample } from './exposition-parse'

/**
 * The gauges summed across workers, each a count of things held right now:
 * - `llm_onion_proxy_http_requests_in_flight`: requests being answered; the proxy's are every worker's.
 * - `llm_onion_exporter_pending`: items waiting in the delivery queues, by sink; every worker has its own queue.
 * The proxy always renders with the `llm_onion_` prefix (src/proxy/layers.ts builds `prometheus()` without one).
 */
export const summedGauges: ReadonlySet<string> = new Set(['llm_onion_proxy_http_requests_in_flight', 'llm_onion_exporter_pending'])

/** One worker's exposition. */
export interface WorkerExposition {
  /** The value of the `worker` label on its per-worker samples: its pid. */
  worker: string
  text: string
}

interface MergedFamily {
  name: string
  help?: string
  type: MetricType
  /** Name and sorted labels → the sample, in order of first appearance. */
  samples: Map<string, Sample>
}

/** What {@link mergeExpositions} adds besides the answers. */
export interface MergeOptions {
  /** Pids of the workers that did not answer in time: a comment names them and `llm_onion_metrics_workers_missing` counts them. */
  missing?: string[]
  /**
   * Expositions whose summed samples (counters, histograms, summary `_sum` and `_count`, summed
   * gauges excepted) are added as well: the last answers of workers that missed this scrape, and
   * the counters of workers that have ended ({@link carriedCounters}), so that totals never go down
   * (Prometheus would take a drop for a counter reset). Their gauges and per-worker samples are stale
   * and left out.
   */
  carried?: string[]
}

/**
 * Merges the expositions of the workers that answered, with what `options` carries over, and
 * counts the workers that did not answer.
 *
 * @example
 * ```ts
 * mergeExpositions([
 *   { worker: '101', text: '# TYPE requests_total counter\nrequests_total 2\n' },
 *   { worker: '102', text: '# TYPE requests_total counter\nrequests_total 3\n' },
 * ])
 * // '# TYPE requests_total counter\nrequests_total 5\n...'
 * ```
 */
export function mergeExpositions(answered: WorkerExposition[], options: MergeOptions = {}): string {
  const missing = options.missing ?? []
  const lines = renderFamilies(mergeFamilies(answered, options.carried ?? []))
  if (missing.length > 0) lines.push(`# llm-onion: worker(s) ${missing.join(', ')} did not answer in time; their counters are as of their last answer, their gauges are left out`)
  lines.push(
    '# HELP llm_onion_metrics_workers_missing Workers that did not answer this scrape in time; their counters are as of their last answer, their gauges are left out.',
    '# TYPE llm_onion_metrics_workers_missing gauge',
    `llm_onion_metrics_workers_missing ${missing.length}`,
  )
  return `${lines.join('\n')}\n`
}

/**
 * The summed samples of `expositions` added together, as one exposition: what the primary keeps of
 * the workers that have ended, to carry into every later merge.
 *
 * @example
 * ```ts
 * ended = carriedCounters([ended, lastAnswerOfTheWorkerThatEnded])
 * ```
 */
export function carriedCounters(expositions: string[]): string {
  const lines = renderFamilies(mergeFamilies([], expositions))
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`
}

function mergeFamilies(answered: WorkerExposition[], carried: string[]): MergedFamily[] {
  const families = new Map<string, MergedFamily>()
  // The workers repeat the same label sets: each is read, and its key built, once per merge.
  const labelCache = new Map<string, Sample['labels']>()
  const keys = new Map<Sample['labels'], string>()
  const keyOf = (labels: Sample['labels']) => {
    let key = keys.get(labels)
    if (key === undefined) keys.set(labels, (key = [...labels].sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0)).map(([name, value]) => `${name}=${value}`).join('\u0000')))
    return key
  }
  const add = (text: string, worker: string | undefined) => {
    for (const family of parseExposition(text, labelCache)) {
      let merged = families.get(family.name)
      for (const sample of family.samples) {
        const sums = summed(family, sample)
        // A carried exposition is stale: its counts still hold, what it held at the time does not.
        if (worker === undefined && (!sums || family.type === 'gauge')) continue
        if (!merged) families.set(family.name, (merged = { name: family.name, help: family.help, type: family.type, samples: new Map() }))
        const key = `${sample.name}\u0000${keyOf(sample.labels)}${sums ? '' : `\u0000\u0000${worker}`}`
        const existing = merged.samples.get(key)
        if (existing) existing.value += sample.value
        else merged.samples.set(key, { name: sample.name, labels: sums ? sample.labels : [...sample.labels.filter(([name]) => name !== 'worker'), ['worker', worker!] as const], value: sample.value })
      }
      // A family an answer names keeps its HELP and TYPE even with no samples, as the worker wrote it.
      if (!merged && worker !== undefined) families.set(family.name, { name: family.name, help: family.help, type: family.type, samples: new Map() })
    }
  }
  for (const { worker, text } of answered) add(text, worker)
  for (const text of carried) add(text, undefined)
  return [...families.values()]
}

function renderFamilies(families: MergedFamily[]): string[] {
  const lines: string[] = []
  for (const family of families) {
    if (family.help !== undefined) lines.push(`# HELP ${family.name} ${family.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`)
    lines.push(`# TYPE ${family.name} ${family.type}`)
    for (const sample of family.samples.values()) lines.push(renderSample(sample))
  }
  return lines
}

/** Whether samples of this kind are summed across workers (else kept per worker). */
function summed(family: MetricFamily, sample: Sample): boolean {
  switch (family.type) {
    case 'counter':
    case 'histogram':
      return true
    case 'summary':
      return sample.name !== family.name
    case 'gauge':
      return summedGauges.has(family.name)
    default:
      return false
  }
}

function renderSample(sample: Sample): string {
  const labels = sample.labels.map(([name, value]) => `${name}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')
  return `${sample.name}${labels ? `{${labels}}` : ''} ${formatValue(sample.value)}`
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Infinity) return '+Inf'
  if (value === -Infinity) return '-Inf'
  return String(value)
}
