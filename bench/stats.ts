/**
 * Small statistics and timing helpers shared by the benchmarks: medians, percentiles, and a timing
 * loop that reports the median of several batches so one noisy batch does not decide a number.
 */

/** Median of `values` (NaN for none). */
export function median(values: number[]): number {
  return percentile(values, 50)
}

/** The `p`-th percentile (0–100) of `values`, nearest-rank on a sorted copy (NaN for none). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = Float64Array.from(values).sort()
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank]!
}

/** Nanoseconds since an arbitrary origin, as a number (fine for differences under ~100 days). */
export function nowNs(): number {
  return Number(process.hrtime.bigint())
}

/** Whether the run is the quick smoke mode (`BENCH_QUICK=1`). */
export const quick = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true'

export interface MeasureOptions {
  /** Target length of one measured batch; each contestant's batch size is calibrated to it. */
  batchMs: number
  /** Batches measured per contestant; the median batch is reported. */
  batches: number
  /** Time each contestant runs first, thrown away, so the JIT has settled (also calibrates the batch size). */
  warmupMs: number
  /** Awaited, untimed, before every batch: lets background work of earlier batches finish (flush) so it is not counted against the next contestant. */
  settle?: () => Promise<unknown>
}

/** Runs `operation` for about `durationMs`; returns how many operations that was. */
async function runFor(operation: () => unknown, durationMs: number): Promise<{ count: number; elapsedMs: number }> {
  const started = performance.now()
  let count = 0
  let elapsed = 0
  while (elapsed < durationMs) {
    for (let index = 0; index < 10; index++) await operation()
    count += 10
    elapsed = performance.now() - started
  }
  return { count, elapsedMs: elapsed }
}

/**
 * Measures several contestants interleaved (a batch of each in turn, repeated), so a change in the
 * machine's load hits them all alike. Each contestant's batch holds as many operations as fit in
 * `batchMs` after warm-up. `operation` may return a promise; it is awaited (so one await is in every
 * number, the same for every contestant). Returns the median ns per operation of each.
 */
export async function measureInterleaved(
  contestants: Record<string, () => unknown>,
  options: MeasureOptions,
): Promise<Record<string, number>> {
  const names = Object.keys(contestants)
  const iterations: Record<string, number> = {}
  for (const name of names) {
    const { count, elapsedMs } = await runFor(contestants[name]!, options.warmupMs)
    iterations[name] = Math.max(5, Math.round((count / elapsedMs) * options.batchMs))
  }
  const samples: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]))
  for (let batch = 0; batch < options.batches; batch++) {
    for (const name of names) {
      const operation = contestants[name]!
      const count = iterations[name]!
      await options.settle?.()
      const started = nowNs()
      for (let index = 0; index < count; index++) await operation()
      samples[name]!.push((nowNs() - started) / count)
    }
  }
  return Object.fromEntries(names.map((name) => [name, median(samples[name]!)]))
}

/** Rounds for display: 3 significant digits. */
export function round(value: number): number {
  if (!Number.isFinite(value)) return value
  if (value === 0) return 0
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(value))))
  return Number(value.toFixed(Math.min(digits, 6)))
}

/** Prints the result object as the last line of stdout, which the runner parses. */
export function emitResult(result: unknown): void {
  process.stdout.write(`\nBENCH_RESULT ${JSON.stringify(result)}\n`)
}
