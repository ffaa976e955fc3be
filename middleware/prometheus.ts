/**
 * Prometheus metrics kept in memory (no dependency): requests, tokens, cost, latency and
 * time-to-first-chunk by provider, model and status, plus the delivery queue's counters, served by
 * `metrics()` in the text exposition format.
 */
import { z } from 'zod'
import type { Context } from '../src/context'
import type { DeliveryQueue } from '../src/delivery/queue'
import { integrationOptionsSchema } from '../src/integrations/options'
import { defineObservingLayer } from '../src/integrations/observing-layer'
import type { ClientServices } from '../src/services'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { defaultMoments } from '../src/integrations/exporter'
import { defineIntegration } from '../src/integrations/descriptor'
import { lazySchema } from '../src/lazy-schema'
import { whenProfiled, type LayerTime } from '../src/profile'

const buckets = lazySchema(() =>
  z
    .array(z.number().positive())
    .min(1)
    .refine((values) => values.every((value, index) => index === 0 || value > values[index - 1]!), 'must be in increasing order'),
)

const prometheusOptionsSchema = lazySchema(() =>
  integrationOptionsSchema
    .pick({ moments: true })
    .extend({
      prefix: z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, 'must be a Prometheus metric name prefix').optional(),
      latencyBuckets: buckets.optional(),
      firstChunkBuckets: buckets.optional(),
      layerBuckets: buckets.optional(),
      maxModels: z.number().int().min(1).optional(),
    })
    .strict(),
)

/**
 * Options of {@link prometheus}.
 * - `prefix`: starts every metric name, default `llm_onion_`.
 * - `latencyBuckets`: seconds, default `[0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]`.
 * - `firstChunkBuckets`: seconds, default `[0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]`.
 * - `layerBuckets`: seconds, default `[0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1]`
 *   (10 µs to 1 s), for the per-layer histogram of a client with `profile: true`.
 * - `moments`: which calls count, default `['success', 'failure']` (`failure` includes cancelled calls).
 * - `maxModels`: distinct `model` label values kept, default 500. Calls for any model first seen
 *   after that are counted under `model="other"`, and `llm_onion_model_label_overflow_total` counts
 *   them, so a client inventing model names cannot grow `/metrics` without bound.
 */
export type PrometheusOptions = z.input<typeof prometheusOptionsSchema>

/** The layer {@link prometheus} returns: a middleware that also renders its metrics. */
export interface PrometheusLayer extends Middleware {
  /** The metrics in the Prometheus text exposition format (version 0.0.4). */
  metrics(): string
  /** The `Content-Type` to serve `metrics()` with. */
  readonly contentType: string
}

interface Series {
  labels: string
  requests: number
  inputTokens: number
  outputTokens: number
  costUsd: number
  cacheHits: number
  savedCostUsd: number
  latency: Histogram
  firstChunk: Histogram
}

/**
 * prometheus() in the catalogue: the names it answers to, what switches it on, its place in the onion.
 *
 * @example
 * ```ts
 * prometheusIntegration.factory({ moments: ['failure'] }) // what callbacks({ failure: ['prometheus'] }) builds
 * ```
 */
export const prometheusIntegration = defineIntegration({
  name: 'prometheus',
  aliases: [],
  switchedOnBy: [],
  position: 'local',
  takesEnv: false,
  factory: prometheus,
})

/**
 * Counts every call by `provider`, `model` and `status` and renders Prometheus metrics:
 * `llm_onion_requests_total`, `llm_onion_input_tokens_total`, `llm_onion_output_tokens_total`,
 * `llm_onion_cost_usd_total`, `llm_onion_cache_hits_total`, `llm_onion_cache_saved_cost_usd_total`
 * (calls a cache answered, and what they would have cost), `llm_onion_request_duration_seconds` (histogram),
 * `llm_onion_time_to_first_chunk_seconds` (histogram, streams), `llm_onion_model_label_overflow_total`
 * (calls counted under `model="other"` past `maxModels`), on a client with `profile: true`
 * `llm_onion_layer_duration_seconds{layer,phase}` (histogram of each layer's own time, `phase` `before`
 * or `after` `next()`; docs/profile.md), and from the delivery queue of each
 * client it served `llm_onion_exporter_delivered_total`, `llm_onion_exporter_retries_total`,
 * `llm_onion_exporter_dropped_total{sink,reason}` and `llm_onion_exporter_pending`.
 *
 * @example
 * ```ts
 * const metrics = prometheus()
 * client.use(metrics)
 * http.createServer((request, response) => {
 *   if (request.url === '/metrics') response.writeHead(200, { 'content-type': metrics.contentType }).end(metrics.metrics())
 * })
 * ```
 */
export function prometheus(options: PrometheusOptions = {}): PrometheusLayer {
  const settings = validate(prometheusOptionsSchema, options, 'prometheus() options')
  const prefix = settings.prefix ?? 'llm_onion_'
  const latencyBuckets = settings.latencyBuckets ?? [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]
  const firstChunkBuckets = settings.firstChunkBuckets ?? [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
  const moments = settings.moments ?? defaultMoments
  const maxModels = settings.maxModels ?? 500
  const layerBuckets = settings.layerBuckets ?? [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1]
  // layer name → its before and after histograms; names come from the client's stack, so they are few.
  const layerSeries = new Map<string, { before: Histogram; after: Histogram }>()
  const observeLayers = (layers: LayerTime[]) => {
    for (const layer of layers) {
      let entry = layerSeries.get(layer.name)
      if (!entry) layerSeries.set(layer.name, (entry = { before: new Histogram(layerBuckets), after: new Histogram(layerBuckets) }))
      entry.before.observe(layer.beforeUs / 1_000_000)
      entry.after.observe(layer.afterUs / 1_000_000)
    }
  }
  // Every model name given a series of its own, across providers; past maxModels, new names share "other".
  const modelNames = new Set<string>()
  let overflow = 0
  // provider → model → status → series: lookups by the strings the call already has, no key built per call.
  const series = new Map<string, Map<string, Map<string, Series>>>()
  const allSeries: Series[] = []
  const queues = new Set<DeliveryQueue>()
  const seenServices = new WeakSet<ClientServices>()
  // Counters of clients already closed, so totals never go down when one closes.
  const closedTotals = new Map<string, number>()

  const watchQueue = (services: ClientServices) => {
    if (seenServices.has(services)) return
    seenServices.add(services)
    const queue = services.queue
    queues.add(queue)
    services.onClose(() => {
      for (const [key, value] of queueCounters(queue)) closedTotals.set(key, (closedTotals.get(key) ?? 0) + value)
      queues.delete(queue)
    })
  }

  const record = (ctx: Context, status: string) => {
    const provider = ctx.provider ?? 'unknown'
    const model = ctx.model
    let byModel = series.get(provider)
    if (!byModel) series.set(provider, (byModel = new Map()))
    let byStatus = byModel.get(model)
    let modelLabel = model
    if (!byStatus) {
      if (modelNames.size < maxModels || modelNames.has(model)) {
        modelNames.add(model)
        byModel.set(model, (byStatus = new Map()))
      } else {
        overflow++
        modelLabel = 'other'
        // A key no model name can be, so a real model called "other" keeps its own series.
        byStatus = byModel.get(overflowKey)
        if (!byStatus) byModel.set(overflowKey, (byStatus = new Map()))
      }
    }
    let entry = byStatus.get(status)
    if (!entry) {
      entry = {
        labels: `provider="${escapeLabel(provider)}",model="${escapeLabel(modelLabel)}",status="${status}"`,
        requests: 0,
        inputTokens: 0,
        outputTokens: 0,
        costUsd: 0,
        cacheHits: 0,
        savedCostUsd: 0,
        latency: new Histogram(latencyBuckets),
        firstChunk: new Histogram(firstChunkBuckets),
      }
      byStatus.set(status, entry)
      allSeries.push(entry)
    }
    entry.requests++
    if (ctx.usage) {
      entry.inputTokens += ctx.usage.inputTokens
      entry.outputTokens += ctx.usage.outputTokens
    }
    if (ctx.cost) entry.costUsd += ctx.cost.total
    if (ctx.cacheHit) entry.cacheHits++
    if (ctx.savedCost) entry.savedCostUsd += ctx.savedCost.total
    const start = ctx.timing.start
    entry.latency.observe(((ctx.timing.end ?? Date.now()) - start) / 1000)
    if (ctx.timing.firstChunk !== undefined) entry.firstChunk.observe((ctx.timing.firstChunk - start) / 1000)
  }

  const layer = defineObservingLayer({
    name: 'prometheus',
    moments,
    start: (ctx) => {
      watchQueue(ctx.services)
      // The layers outside this one finish after it: their times are observed once the outermost has.
      if (ctx.profile) whenProfiled(ctx, observeLayers)
    },
    success: (ctx) => record(ctx, 'success'),
    failure: (ctx) => record(ctx, 'failure'),
    cancelled: (ctx) => record(ctx, 'cancelled'),
  })

  const metrics = () => {
    const families: MetricFamily[] = [
      counter(`${prefix}requests_total`, 'LLM calls, by provider, model and status.', allSeries.map((entry) => [entry.labels, entry.requests])),
      counter(`${prefix}input_tokens_total`, 'Prompt (input) tokens.', allSeries.map((entry) => [entry.labels, entry.inputTokens])),
      counter(`${prefix}output_tokens_total`, 'Completion (output) tokens.', allSeries.map((entry) => [entry.labels, entry.outputTokens])),
      counter(`${prefix}cost_usd_total`, 'Cost in US dollars, of calls whose price is known.', allSeries.map((entry) => [entry.labels, entry.costUsd])),
      counter(`${prefix}cache_hits_total`, 'Calls answered from a cache, by provider, model and status.', allSeries.map((entry) => [entry.labels, entry.cacheHits])),
      counter(`${prefix}cache_saved_cost_usd_total`, 'What the calls a cache answered would have cost, in US dollars.', allSeries.map((entry) => [entry.labels, entry.savedCostUsd])),
      { name: `${prefix}request_duration_seconds`, help: 'Latency of LLM calls, start to last byte, in seconds.', type: 'histogram', histograms: allSeries.map((entry) => [entry.labels, entry.latency]) },
      {
        name: `${prefix}time_to_first_chunk_seconds`,
        help: 'Time from the start of a streamed call to its first chunk, in seconds.',
        type: 'histogram',
        histograms: allSeries.filter((entry) => entry.firstChunk.count > 0).map((entry) => [entry.labels, entry.firstChunk]),
      },
      {
        name: `${prefix}layer_duration_seconds`,
        help: 'Own time of each layer before and after next(), the layers inside it excluded, in seconds (clients with profile: true).',
        type: 'histogram',
        histograms: [...layerSeries].flatMap(([name, entry]): Array<[string, Histogram]> => [
          [`layer="${escapeLabel(name)}",phase="before"`, entry.before],
          [`layer="${escapeLabel(name)}",phase="after"`, entry.after],
        ]),
      },
      counter(`${prefix}model_label_overflow_total`, `Calls counted under model="other" because ${maxModels} distinct model names already had series of their own.`, [['', overflow]]),
      ...exporterFamilies(prefix, queues, closedTotals),
    ]
    return renderExposition(families)
  }

  return Object.assign(layer, { metrics, contentType: 'text/plain; version=0.0.4; charset=utf-8' })
}

const overflowKey = '\u0000other'

function counter(name: string, help: string, samples: Array<[string, number]>): MetricFamily {
  return { name, help, type: 'counter', samples }
}

/** The queue's counters as `metric\u0000labels` → value, pending included. */
function queueCounters(queue: DeliveryQueue): Map<string, number> {
  const counters = new Map<string, number>()
  const stats = queue.stats()
  for (const [sink, sinkStats] of Object.entries(stats.sinks ?? {})) {
    const sinkLabel = `sink="${escapeLabel(sink)}"`
    counters.set(`delivered\u0000${sinkLabel}`, sinkStats.delivered)
    counters.set(`retries\u0000${sinkLabel}`, sinkStats.retries)
    for (const [reason, count] of Object.entries(sinkStats.dropped)) {
      counters.set(`dropped\u0000${sinkLabel},reason="${escapeLabel(reason)}"`, count ?? 0)
    }
  }
  return counters
}

function exporterFamilies(prefix: string, queues: Set<DeliveryQueue>, closedTotals: Map<string, number>): MetricFamily[] {
  const totals = new Map(closedTotals)
  const pending = new Map<string, number>()
  for (const queue of queues) {
    for (const [key, value] of queueCounters(queue)) totals.set(key, (totals.get(key) ?? 0) + value)
    for (const [sink, sinkStats] of Object.entries(queue.stats().sinks ?? {})) {
      const label = `sink="${escapeLabel(sink)}"`
      pending.set(label, (pending.get(label) ?? 0) + sinkStats.pending)
    }
  }
  const pick = (metric: string): Array<[string, number]> =>
    [...totals].filter(([key]) => key.startsWith(`${metric}\u0000`)).map(([key, value]) => [key.slice(metric.length + 1), value])
  return [
    counter(`${prefix}exporter_delivered_total`, 'Items the delivery queue delivered, by sink.', pick('delivered')),
    counter(`${prefix}exporter_retries_total`, 'Delivery retries, by sink.', pick('retries')),
    counter(`${prefix}exporter_dropped_total`, 'Items the delivery queue dropped, by sink and reason.', pick('dropped')),
    { name: `${prefix}exporter_pending`, help: 'Items waiting for delivery, by sink.', type: 'gauge', samples: [...pending] },
  ]
}

/** Cumulative buckets as Prometheus counts them: each bucket counts every value at or below its bound. */
class Histogram {
  readonly counts: number[]
  sum = 0
  count = 0
  constructor(readonly bounds: number[]) {
    this.counts = new Array<number>(bounds.length).fill(0)
  }

  observe(value: number): void {
    this.sum += value
    this.count++
    // Only the first bucket that fits is counted here; render() accumulates.
    const bounds = this.bounds
    for (let index = 0; index < bounds.length; index++) {
      if (value <= bounds[index]!) {
        this.counts[index]!++
        return
      }
    }
  }
}

type MetricFamily =
  | { name: string; help: string; type: 'counter' | 'gauge'; samples: Array<[string, number]> }
  | { name: string; help: string; type: 'histogram'; histograms: Array<[string, Histogram]> }

/** Renders families in the text exposition format: HELP and TYPE, then the samples. */
function renderExposition(families: MetricFamily[]): string {
  const lines: string[] = []
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${family.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${family.name} ${family.type}`)
    if (family.type !== 'histogram') {
      for (const [labels, value] of family.samples) lines.push(`${family.name}${labels ? `{${labels}}` : ''} ${formatValue(value)}`)
      continue
    }
    for (const [labels, histogram] of family.histograms) {
      const prefix = labels ? `${labels},` : ''
      let cumulative = 0
      histogram.bounds.forEach((bound, index) => {
        cumulative += histogram.counts[index]!
        lines.push(`${family.name}_bucket{${prefix}le="${formatValue(bound)}"} ${cumulative}`)
      })
      lines.push(`${family.name}_bucket{${prefix}le="+Inf"} ${histogram.count}`)
      lines.push(`${family.name}_sum${labels ? `{${labels}}` : ''} ${formatValue(histogram.sum)}`)
      lines.push(`${family.name}_count${labels ? `{${labels}}` : ''} ${histogram.count}`)
    }
  }
  return `${lines.join('\n')}\n`
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Infinity) return '+Inf'
  if (value === -Infinity) return '-Inf'
  return String(value)
}

/** Escapes a label value: backslash, double quote and line feed. */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}
