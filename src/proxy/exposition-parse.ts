/**
 * Reads the Prometheus text exposition format (version 0.0.4) into metric families, so that the
 * expositions of `serve --workers` can be merged (src/proxy/exposition-merge.ts). It reads what
 * Prometheus clients write: `# HELP` and `# TYPE` lines, then samples `name{label="value",...} value`
 * with an optional timestamp; other comment lines and blank lines are skipped.
 */

/** The metric types of the text format. */
export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'

/** One sample line. */
export interface Sample {
  /** The sample's own name: `requests_total`, or `duration_seconds_bucket` in a histogram. */
  name: string
  /** Label names and values (unescaped), in the order the line gave them; shared by samples with the same label text. */
  labels: ReadonlyArray<readonly [string, string]>
  value: number
}

/** A `# TYPE` (and `# HELP`) and the samples that follow it. */
export interface MetricFamily {
  name: string
  help?: string
  type: MetricType
  samples: Sample[]
}

const types = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped'])
const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?\s*$/
const labelPair = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/y

/** The sample names a family of `type` called `name` owns. */
function owns(family: MetricFamily, sample: string): boolean {
  if (sample === family.name) return family.type !== 'histogram'
  if (family.type !== 'histogram' && family.type !== 'summary') return false
  const suffix = sample.startsWith(family.name) ? sample.slice(family.name.length) : ''
  return suffix === '_sum' || suffix === '_count' || (family.type === 'histogram' && suffix === '_bucket')
}

/**
 * Parses an exposition into its families, in their order. A sample with no `# TYPE` before it
 * (or not of the family above it) becomes an `untyped` family of its own. `labelCache` lets the
 * expositions of several workers, which repeat the same label sets, read each one once.
 *
 * @example
 * ```ts
 * parseExposition('# TYPE requests_total counter\nrequests_total{status="ok"} 3\n')
 * // [{ name: 'requests_total', type: 'counter', samples: [{ name: 'requests_total', labels: [['status', 'ok']], value: 3 }] }]
 * ```
 */
export function parseExposition(text: string, labelCache = new Map<string, Sample['labels']>()): MetricFamily[] {
  const families: MetricFamily[] = []
  const byName = new Map<string, MetricFamily>()
  const family = (name: string): MetricFamily => {
    let found = byName.get(name)
    if (!found) {
      found = { name, type: 'untyped', samples: [] }
      byName.set(name, found)
      families.push(found)
    }
    return found
  }
  let current: MetricFamily | undefined
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim()
    if (line === '') continue
    if (line.startsWith('#')) {
      const [, keyword, name, rest = ''] = /^#\s*(HELP|TYPE)\s+(\S+)\s?(.*)$/.exec(line) ?? []
      if (keyword === undefined || name === undefined) continue
      current = family(name)
      if (keyword === 'HELP') current.help = rest.replace(/\\n/g, '\n').replace(/\\\\/g, '\\')
      else if (types.has(rest.trim() as MetricType)) current.type = rest.trim() as MetricType
      else throw new Error(`line ${index + 1}: unknown metric type "${rest.trim()}" in "${line}"; the types are ${[...types].join(', ')}`)
      continue
    }
    const match = sampleLine.exec(line)
    if (!match) throw new Error(`line ${index + 1}: not a sample line: "${line}"; expected name{label="value"} value`)
    const [, name, labelText, valueText] = match as unknown as [string, string, string | undefined, string]
    let labels = labelCache.get(labelText ?? '')
    if (!labels) labelCache.set(labelText ?? '', (labels = parseLabels(labelText ?? '', index + 1)))
    const sample: Sample = { name, labels, value: parseValue(valueText, index + 1) }
    if (!current || !owns(current, name)) current = family(name)
    current.samples.push(sample)
  }
  return families
}

function parseLabels(text: string, lineNumber: number): Array<[string, string]> {
  const labels: Array<[string, string]> = []
  labelPair.lastIndex = 0
  while (labelPair.lastIndex < text.length) {
    const start = labelPair.lastIndex
    const match = labelPair.exec(text)
    if (!match) throw new Error(`line ${lineNumber}: labels unreadable from "${text.slice(start)}"; expected name="value", separated by commas`)
    labels.push([match[1]!, match[2]!.replace(/\\(.)/g, (_, character: string) => (character === 'n' ? '\n' : character))])
    if (match[3] === '') break
  }
  return labels
}

function parseValue(text: string, lineNumber: number): number {
  if (text === '+Inf' || text === 'Inf') return Infinity
  if (text === '-Inf') return -Infinity
  if (text === 'NaN') return NaN
  const value = Number(text)
  if (Number.isNaN(value)) throw new Error(`line ${lineNumber}: the value "${text}" is not a number`)
  return value
}
