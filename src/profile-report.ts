/**
 * The slowest layers over a window of calls: what `llm-onion serve --profile` prints.
 */
import type { LayerTime } from './profile'

/** What {@link createProfileReport} returns. */
export interface ProfileReport {
  /** Adds one call's layers (pass it as `createClient({ profile: { onProfile: report.add } })`). */
  add(layers: LayerTime[]): void
  /** The window's layers, slowest mean own time first, as text; empties the window. Undefined when no call came. */
  take(): string | undefined
}

/**
 * Collects the layers' own times of many calls and renders the slowest, by mean own time per call.
 *
 * @example
 * ```ts
 * const report = createProfileReport({ top: 5 })
 * const client = createClient({ profile: { onProfile: report.add } })
 * setInterval(() => { const text = report.take(); if (text) console.log(text) }, 10_000)
 * ```
 */
export function createProfileReport(options: { top?: number } = {}): ProfileReport {
  const top = options.top ?? 10
  let calls = 0
  let totals = new Map<string, { before: number; after: number; calls: number }>()
  return {
    add(layers) {
      calls++
      for (const layer of layers) {
        const entry = totals.get(layer.name)
        if (entry) {
          entry.before += layer.beforeUs
          entry.after += layer.afterUs
          entry.calls++
        } else totals.set(layer.name, { before: layer.beforeUs, after: layer.afterUs, calls: 1 })
      }
    },
    take() {
      if (calls === 0) return undefined
      const rows = [...totals]
        .map(([name, entry]) => ({ name, before: entry.before / entry.calls, after: entry.after / entry.calls, calls: entry.calls }))
        .sort((a, b) => b.before + b.after - (a.before + a.after))
        .slice(0, top)
      const width = Math.max(5, ...rows.map((row) => row.name.length))
      const format = (microseconds: number) => microseconds.toFixed(1).padStart(10)
      const lines = [
        `llm-onion profile: ${calls} call(s); own time per call in µs, slowest first`,
        `  ${'layer'.padEnd(width)}  ${'total'.padStart(10)}  ${'before'.padStart(10)}  ${'after'.padStart(10)}  calls`,
        ...rows.map((row) => `  ${row.name.padEnd(width)}  ${format(row.before + row.after)}  ${format(row.before)}  ${format(row.after)}  ${row.calls}`),
      ]
      calls = 0
      totals = new Map()
      return lines.join('\n')
    },
  }
}
