// The proxy part's numbers as docs/benchmarks.md shows them: latency added over the direct call per
// rate, throughput as a share of the pass-through, streams and memory, medians over the rounds; and
// the comparison with the Portkey gateway. Plain JavaScript, imported by report.mjs.

import { median } from './median.mjs'

/** Medians over the rounds of bench/proxy.ts's raw results, per gateway; undefined when the part did not run. */
export function proxyDerived(proxy) {
  if (!proxy) return undefined
  const names = Object.keys(proxy.latency ?? {})
  const rounds = proxy.latency?.direct?.length ?? 0
  const byRate = {}
  for (const name of names) {
    byRate[name] = proxy.rates.map((rate, rateIndex) => {
      const at = (round) => proxy.latency[name][round]?.[rateIndex]
      const direct = (round) => proxy.latency.direct[round]?.[rateIndex]
      const list = [...Array(rounds).keys()]
      return {
        rate,
        p50Us: median(list.map((round) => at(round)?.p50Us)),
        p99Us: median(list.map((round) => at(round)?.p99Us)),
        addedP50Us: median(list.map((round) => at(round)?.p50Us - direct(round)?.p50Us)),
        addedP99Us: median(list.map((round) => at(round)?.p99Us - direct(round)?.p99Us)),
        failed: list.reduce((sum, round) => sum + (at(round)?.failed ?? 0), 0),
        achieved: median(list.map((round) => at(round)?.achieved)),
      }
    })
  }
  // The share of the pass-through is the median of each round's own ratio (both measured in the same round).
  const runs = (name) => proxy.throughput[name] ?? []
  const throughput = Object.fromEntries(
    names.map((name) => [
      name,
      {
        perSecond: median(runs(name).map((each) => each.perSecond)),
        share: median(runs(name).map((each, round) => each.perSecond / runs('passthrough')[round]?.perSecond)),
        cpuMicrosPerRequest: median(runs(name).map((each) => each.cpuMicrosPerRequest)),
        failed: runs(name).reduce((sum, each) => sum + each.failed, 0),
        tool: runs(name)[0]?.tool,
        rounds: runs(name).length,
      },
    ]),
  )
  const streamField = (name, field) => median((proxy.streams[name] ?? []).map((each, round) => each[field] - proxy.streams.direct?.[round]?.[field]))
  const streams = Object.fromEntries(
    names.map((name) => [
      name,
      {
        ttfcP50Us: median((proxy.streams[name] ?? []).map((each) => each.ttfcP50Us)),
        addedTtfcP50Us: streamField(name, 'ttfcP50Us'),
        addedTtfcP99Us: streamField(name, 'ttfcP99Us'),
        gapP50Us: median((proxy.streams[name] ?? []).map((each) => each.gapP50Us)),
        addedGapP50Us: streamField(name, 'gapP50Us'),
        addedGapP99Us: streamField(name, 'gapP99Us'),
        addedDelayP50Us: streamField(name, 'chunkDelayP50Us'),
        addedDelayP99Us: streamField(name, 'chunkDelayP99Us'),
        failed: (proxy.streams[name] ?? []).reduce((sum, each) => sum + each.failed, 0),
      },
    ]),
  )
  const memory = Object.fromEntries(
    Object.entries(proxy.memory ?? {}).map(([name, each]) => {
      const samples = each.rssMb
      const half = samples[Math.floor(samples.length / 2) - 1]
      const last = samples[samples.length - 1]
      return [name, { ...each, halfMb: half, lastMb: last, peakMb: Math.max(...samples), growth: (last - half) / half }]
    }),
  )
  return { names, byRate, throughput, streams, memory }
}

/** Whether llm-onion serve is ahead of the Portkey gateway on every measure, and which ones it is behind on. */
export function portkeyComparison(proxy) {
  if (!proxy?.byRate.onion || !proxy.byRate.portkey) return { ok: undefined, summary: 'not measured' }
  const checks = []
  for (const [index, each] of proxy.byRate.onion.entries()) {
    const portkey = proxy.byRate.portkey[index]
    checks.push([`p50 @ ${each.rate}/s`, each.addedP50Us <= portkey.addedP50Us])
    checks.push([`p99 @ ${each.rate}/s`, each.addedP99Us <= portkey.addedP99Us])
  }
  checks.push(['throughput', proxy.throughput.onion.perSecond >= proxy.throughput.portkey.perSecond])
  checks.push(['first chunk', proxy.streams.onion.addedTtfcP50Us <= proxy.streams.portkey.addedTtfcP50Us])
  checks.push(['chunk delay', proxy.streams.onion.addedDelayP50Us <= proxy.streams.portkey.addedDelayP50Us])
  if (proxy.memory.onion && proxy.memory.portkey) checks.push(['memory', proxy.memory.onion.lastMb <= proxy.memory.portkey.lastMb])
  const behind = checks.filter(([, ok]) => !ok).map(([name]) => name)
  return { ok: behind.length === 0, summary: behind.length === 0 ? `ahead on all ${checks.length} measures` : `behind on ${behind.join(', ')} (ahead on ${checks.length - behind.length} of ${checks.length})` }
}
