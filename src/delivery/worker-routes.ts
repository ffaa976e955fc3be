/**
 * Which exporters the delivery worker can run: an integration built from its catalogue descriptor
 * with options that are plain data (no functions, no class instances) can be built again, the same
 * way, in the worker thread. Every `defineExporter` made while such a factory runs is recorded in
 * order, so "the 2nd exporter of helicone({ ... })" names the same sink and mapping on both threads.
 * Integrations built from user closures (a custom `toItems`, a `fetch` option) are never routed.
 */
import type { Sink } from './sink-contract'

/** An integration as the worker builds it again: its catalogue name and its (plain-data) options. */
export interface IntegrationSpec {
  name: string
  options: unknown
}

/** Where an exporter's items go in the worker: its integration, and its place among that integration's exporters. */
export interface WorkerRoute {
  spec: IntegrationSpec
  index: number
}

/** One exporter an integration made: its sink, and its mapping when it has one. */
export interface RecordedExporter {
  sink: Sink<unknown>
  map: ((source: never) => unknown) | undefined
}

interface Build {
  spec: IntegrationSpec
  /** The name of the integration `collectExporters` builds: its own `buildRouted` records into this build. */
  claim?: string
  routable: boolean
  exporters: RecordedExporter[]
}

let building: Build | undefined
const routes = new WeakMap<Sink<unknown>, Map<unknown, WorkerRoute>>()

/**
 * Runs an integration's factory, recording the exporters it defines. Their sinks are routed to the
 * delivery worker when `options` are plain data (the worker builds the same integration from them).
 *
 * @example
 * ```ts
 * const layer = buildRouted('helicone', { apiKey: 'hc-key' }, () => helicone({ apiKey: 'hc-key' }))
 * ```
 */
export function buildRouted<Result>(name: string, options: unknown, build: () => Result): Result {
  if (building?.claim === name) {
    building.claim = undefined
    return build()
  }
  const { result, exporters, routable } = collectExporters(name, options, build)
  if (routable) {
    const spec = exporters.length > 0 ? { name, options } : undefined
    exporters.forEach((exporter, index) => {
      let byMap = routes.get(exporter.sink)
      if (!byMap) routes.set(exporter.sink, (byMap = new Map()))
      byMap.set(exporter.map ?? noMapping, { spec: spec!, index })
    })
  }
  return result
}

/**
 * Runs `build` and returns what it made with the exporters it defined, in order (the worker uses
 * this to find the sink and mapping behind a route).
 *
 * @example
 * ```ts
 * const { exporters } = collectExporters('helicone', options, () => heliconeIntegration.factory(options))
 * ```
 */
export function collectExporters<Result>(name: string, options: unknown, build: () => Result): { result: Result; exporters: RecordedExporter[]; routable: boolean } {
  const outer = building
  const current: Build = { spec: { name, options }, claim: name, routable: isPlainData(options), exporters: [] }
  building = current
  try {
    return { result: build(), exporters: current.exporters, routable: current.routable }
  } finally {
    building = outer
  }
}

/** Called by `defineExporter`: records the exporter for the integration being built, if any. */
export function recordExporter(sink: Sink<never>, map: ((source: never) => unknown) | undefined): void {
  building?.exporters.push({ sink: sink as Sink<unknown>, map })
}

const noMapping = Symbol('no mapping')

/**
 * The worker route of `sink` with mapping `map` (`undefined`: items already mapped), or undefined
 * when this exporter stays on the calling thread.
 *
 * @example
 * ```ts
 * const route = routeOf(sink, toItems)
 * ```
 */
export function routeOf(sink: Sink<unknown>, map?: unknown): WorkerRoute | undefined {
  const byMap = routes.get(sink)
  if (!byMap) return undefined
  if (map === undefined) return byMap.values().next().value
  return byMap.get(map)
}

/** Whether `value` survives a structured clone unchanged: primitives, arrays and plain objects only. */
export function isPlainData(value: unknown, depth = 0): boolean {
  if (depth > 20) return false
  if (value === null || value === undefined) return true
  const type = typeof value
  if (type === 'string' || type === 'number' || type === 'boolean' || type === 'bigint') return true
  if (type !== 'object') return false
  if (Array.isArray(value)) return value.every((each) => isPlainData(each, depth + 1))
  const prototype = Object.getPrototypeOf(value)
  if (prototype !== Object.prototype && prototype !== null) return false
  return Object.values(value as Record<string, unknown>).every((each) => isPlainData(each, depth + 1))
}
