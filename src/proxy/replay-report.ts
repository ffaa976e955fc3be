/**
 * The cost report of `llm-onion replay`: per recorded model, what its calls cost when recorded, what
 * they cost re-run through a config, and what their recorded tokens would cost on other models, all
 * priced by the cost layer's own price book (src/cost.ts: the config's custom prices, then the
 * bundled `@pydantic/genai-prices` data). A table for people, JSON for machines.
 */
import type { Cost, Usage } from '../call-facts'
import { priceUsage, type PriceBook } from '../cost'
import { providerForBareModel } from '../providers/router'
import type { CassetteEntry } from '../testing/cassette-format'

/** A USD sum with how many calls it could not price. */
export interface PricedSum {
  usd: number
  unpriced: number
}

/** What re-running one recorded call through the config gave. */
export interface RerunResult {
  /** `provider/model` that answered, when one did. */
  servedBy?: string
  cost?: Cost
  usage?: Usage
  error?: string
}

/** The report's row of one recorded model. */
export interface ModelReport {
  model: string
  calls: number
  /** Calls that failed when recorded. */
  failed: number
  inputTokens: number
  outputTokens: number
  cachedInputTokens: number
  recorded: PricedSum
  rerun?: PricedSum & { calls: number; failed: number; servedBy: Record<string, number>; errors: string[] }
  /** By `--price-as` model: the recorded tokens at its prices. */
  priceAs: Record<string, PricedSum>
}

export interface ReplayReport {
  sources: string[]
  config?: string
  recordings: number
  /** Recordings whose content was redacted: re-run with `"[redacted]"` in place of the prompt. */
  redacted: number
  priceAs: string[]
  models: ModelReport[]
  total: Omit<ModelReport, 'model'>
}

/** `openai/gpt-4o-mini` → provider `openai`, model `gpt-4o-mini`; a bare name by its known prefix. */
export function splitModel(model: string): { provider?: string; model: string } {
  const slash = model.indexOf('/')
  if (slash > 0) return { provider: model.slice(0, slash), model: model.slice(slash + 1) }
  return { provider: providerForBareModel(model), model }
}

/** The cost of `usage` on `model` by `book`, or undefined with no price for it. */
export function priceOn(book: PriceBook, model: string, usage: Usage): Cost | undefined {
  const { provider, model: name } = splitModel(model)
  return priceUsage(book.lookup(provider, model, name), usage)
}

/**
 * Adds up `entries` (and, when re-run, `reruns` in the same order) per recorded model.
 *
 * @example
 * ```ts
 * const report = buildReport(entries, undefined, { book: createPriceBook(), priceAs: ['openai/gpt-4o-mini'], sources: ['cassettes'] })
 * ```
 */
export function buildReport(
  entries: ReadonlyArray<CassetteEntry>,
  reruns: ReadonlyArray<RerunResult> | undefined,
  options: { book: PriceBook; priceAs: ReadonlyArray<string>; sources: string[]; config?: string },
): ReplayReport {
  const rows = new Map<string, ModelReport>()
  const empty = (model: string): ModelReport => ({
    model,
    calls: 0,
    failed: 0,
    inputTokens: 0,
    outputTokens: 0,
    cachedInputTokens: 0,
    recorded: { usd: 0, unpriced: 0 },
    ...(reruns ? { rerun: { usd: 0, unpriced: 0, calls: 0, failed: 0, servedBy: {}, errors: [] } } : {}),
    priceAs: Object.fromEntries(options.priceAs.map((model) => [model, { usd: 0, unpriced: 0 }])),
  })
  const total = empty('total')
  entries.forEach((entry, index) => {
    const model = String(entry.request.model)
    const row = rows.get(model) ?? empty(model)
    rows.set(model, row)
    for (const target of [row, total]) {
      target.calls++
      if (entry.error) target.failed++
      add(target.recorded, entry.cost)
      if (entry.usage) {
        target.inputTokens += entry.usage.inputTokens
        target.outputTokens += entry.usage.outputTokens
        target.cachedInputTokens += entry.usage.cachedInputTokens ?? 0
      }
      for (const other of options.priceAs) {
        // A call without usage (most failures) cost nothing on any model; it is not "unpriced".
        if (entry.usage) addPriced(target.priceAs[other]!, priceOn(options.book, other, entry.usage))
      }
      const rerun = reruns?.[index]
      if (rerun && target.rerun) {
        target.rerun.calls++
        if (rerun.error) {
          target.rerun.failed++
          if (target.rerun.errors.length < 3 && !target.rerun.errors.includes(rerun.error)) target.rerun.errors.push(rerun.error)
        } else addPriced(target.rerun, rerun.cost)
        if (rerun.servedBy) target.rerun.servedBy[rerun.servedBy] = (target.rerun.servedBy[rerun.servedBy] ?? 0) + 1
      }
    }
    // A recorded call that failed has no cost to miss; one that succeeded without one is unpriced.
    if (!entry.cost && !entry.error && entry.usage) for (const target of [row, total]) target.recorded.unpriced++
  })
  const redacted = entries.filter((entry) => entry.redacted).length
  const { model: _total, ...totals } = total
  return { sources: options.sources, config: options.config, recordings: entries.length, redacted, priceAs: [...options.priceAs], models: [...rows.values()], total: totals }
}

function add(sum: PricedSum, cost: Cost | undefined): void {
  if (cost) sum.usd += cost.total
}

/** Adds a cost that should exist: a missing one counts as unpriced. */
function addPriced(sum: PricedSum, cost: Cost | undefined): void {
  if (cost) sum.usd += cost.total
  else sum.unpriced++
}

/** `$0.001234`; `-` for nothing, with `*` when some calls had no price. */
function usd(sum: PricedSum | undefined): string {
  if (!sum) return '-'
  return `$${sum.usd.toFixed(6)}${sum.unpriced > 0 ? '*' : ''}`
}

/**
 * The report as an aligned table, with notes on what was re-run, what failed and what has no price.
 *
 * @example
 * ```ts
 * console.log(formatReport(report))
 * ```
 */
export function formatReport(report: ReplayReport): string {
  const rerun = report.total.rerun !== undefined
  const header = ['model', 'calls', 'failed', 'input tokens', 'output tokens', 'recorded', ...(rerun ? ['re-run', 're-run failed'] : []), ...report.priceAs.map((model) => `on ${model}`)]
  const row = (label: string, data: Omit<ModelReport, 'model'>) => [
    label,
    String(data.calls),
    String(data.failed),
    String(data.inputTokens),
    String(data.outputTokens),
    usd(data.recorded),
    ...(rerun ? [usd(data.rerun), String(data.rerun?.failed ?? 0)] : []),
    ...report.priceAs.map((model) => usd(data.priceAs[model])),
  ]
  const table = [header, ...report.models.map((model) => row(model.model, model)), row('total', report.total)]
  const widths = header.map((_, column) => Math.max(...table.map((cells) => cells[column]!.length)))
  const lines = [`${report.recordings} recorded call${report.recordings === 1 ? '' : 's'} from ${report.sources.join(', ')}${report.config ? `, re-run through ${report.config}` : ''}`, '']
  for (const [index, cells] of table.entries()) {
    lines.push(cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ').trimEnd())
    if (index === 0 || index === table.length - 2) lines.push(widths.map((width) => '-'.repeat(width)).join('  '))
  }
  lines.push('')
  lines.push('recorded: what the calls cost when recorded; on <model>: the recorded tokens at that model\'s prices (@pydantic/genai-prices, or the config\'s custom prices).')
  if (rerun) {
    lines.push('re-run: what the same requests cost through the config.')
    for (const model of report.models) {
      const served = Object.entries(model.rerun!.servedBy).map(([by, count]) => `${by} (${count})`).join(', ')
      if (served) lines.push(`  ${model.model} was served by ${served}`)
      for (const error of model.rerun!.errors) lines.push(`  ${model.model} failed: ${error}`)
    }
  }
  if (report.redacted > 0) lines.push(`note: ${report.redacted} recording${report.redacted === 1 ? ' has' : 's have'} redacted content; re-run, the prompts are "[redacted]".`)
  if (table.some((cells) => cells.some((cell) => cell.endsWith('*')))) lines.push('*: some calls have no price for that model; set one in the config (input_cost_per_token, output_cost_per_token).')
  return lines.join('\n')
}
