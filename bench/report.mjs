// Turns the raw results of scripts/run-benchmarks.mjs into docs/benchmarks.md: medians across runs,
// ratios against the baselines of the same run, and a verdict for every line of DESIGN.md's
// "Performance budget". Plain JavaScript so the runner can import it without a loader.

import { median } from './median.mjs'
import { portkeyComparison, proxyDerived } from './proxy-derived.mjs'

const fixed = (value, digits) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a')
const us = (value) => (Number.isFinite(value) ? (Math.abs(value) >= 100 ? fixed(value, 0) : fixed(value, 1)) : 'n/a')
const ms = (microseconds) => fixed(microseconds / 1000, 2)
const ns = (value) => fixed(value, 0)
const ratio = (value) => (Number.isFinite(value) ? `${fixed(value, 2)}×` : 'n/a')
const percent = (value) => (Number.isFinite(value) ? `${fixed(value * 100, 0)}%` : 'n/a')
const mark = (ok) => (ok === undefined ? '—' : ok ? 'met' : '**missed**')

/** Median of one numeric field over the in-process runs. */
function inProcessMedian(runs, section, field) {
  return median(runs.map((run) => run[section]?.[field]))
}

/**
 * The table of each integration alone, median over the in-process runs; rows of a later partial run
 * (`npm run bench -- in-process --supplement` with `BENCH_INTEGRATIONS`, kept as
 * `perIntegrationSupplement`) take the place of the recorded ones and are marked, and the
 * integrations not benched are named with why.
 */
function perIntegrationTable(push, runs, supplement) {
  const last = runs[runs.length - 1]
  const measuredNames = [...new Set(runs.flatMap((run) => Object.keys(run.perIntegration ?? {})))]
  const supplementNames = Object.keys(supplement?.runs?.[0] ?? {})
  const deliveries = runs.some((run) => Object.values(run.perIntegration ?? {}).some((row) => row.delivered !== undefined)) || supplementNames.length > 0
  push('', 'Each integration alone (`observability({ detect: false, <name>: true })`), median over runs: µs added to the call path with batches held back, and CPU µs per call with every export delivered (the median of 5 samples of 1,000 calls and a flush, less the bare client\'s; 2 samples of 200 calls before 2026-12-06).' + (deliveries ? ' "Delivered / dropped": the events its queue delivered to the sink and dropped over the measurement (a row that dropped everything measures failing, not delivering; n/a: the run predates the count).' : ''), '')
  push(`| Integration | Call path, µs added | CPU with delivery, µs per call |${deliveries ? ' Delivered / dropped |' : ''}`, `| --- | --- | --- |${deliveries ? ' --- |' : ''}`)
  const counts = (row) => (row?.delivered === undefined ? 'n/a' : `${row.delivered} / ${row.dropped}`)
  const line = (name, rows, mark) =>
    `| ${name}${mark} | ${us(median(rows.map((row) => row?.callPathAddedUs)))} | ${us(median(rows.map((row) => row?.cpuWithDeliveryUs)))} |${deliveries ? ` ${counts(rows[rows.length - 1])} |` : ''}`
  // A name measured again after the recorded run shows its later rows, in its place.
  for (const name of measuredNames) {
    if (supplementNames.includes(name)) push(line(name, supplement.runs.map((run) => run[name]), ' †'))
    else push(line(name, runs.map((run) => run.perIntegration?.[name]), ''))
  }
  for (const name of supplementNames.filter((each) => !measuredNames.includes(each))) push(line(name, supplement.runs.map((run) => run[name]), ' †'))
  if (supplementNames.length > 0) {
    push('', `† Measured alone after the run above, on ${supplement.date.slice(0, 16).replace('T', ' ')} UTC (\`${supplement.command}\`, median of ${supplement.runs.length} run(s), load average ${supplement.load.join(', ')} before and ${supplement.loadAfter.join(', ')} after); the next full run measures them with the others. The call path is wall time, taken turn about with the bare call: on a busy machine a negative value is within the noise, and the CPU column is the steadier reading.`)
  }
  const alone = last.observability?.alone ?? supplement?.observability?.alone ?? []
  if (alone.length > 0) push('', `Measured alone only, not in the preset's lines above (their settings are not a key beside a base URL, so the variable scan that switches the preset's integrations on does not find them; bench/integrations.ts gives them): ${alone.join(', ')}. The alerts (slack, pagerduty, teams, discord, resendEmail, sendgridEmail) send nothing for a successful call: their row is the cost of watching.`)
  const notBenched = last.observability?.notBenched ?? supplement?.observability?.notBenched
  if (notBenched && Object.keys(notBenched).length > 0) push('', 'Not benched:', '', ...Object.entries(notBenched).map(([name, why]) => `- ${name}: ${why}.`))
}

/** The integrations of bench/proxy-callbacks.ts's "every" set that send batches (Helicone and Athina take one record per request; Sentry and Slack send on failure only). */
const batchedIntegrations = ['langfuse', 'datadog', 'posthog', 'lunary', 'traceloop', 'logfire', 'loki', 'langsmith']

export function renderReport(results, notes) {
  const lines = []
  const push = (...more) => lines.push(...more)
  const runs = results.inProcess ?? []
  const m = results.machine
  push('# Benchmarks', '')
  push(
    `Generated by \`${results.command}\` (\`scripts/run-benchmarks.mjs\`) on ${results.date.slice(0, 10)}, in ${results.seconds} s. Raw numbers: \`bench/results/latest.json\`.`,
    '',
    `- Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GiB; ${m.platform}; Node ${m.node}.`,
    `- Load average (1, 5, 15 min) before the run: ${m.load.join(', ')}; after: ${(results.loadAfter ?? []).join(', ')}.${m.load[0] > 1 ? ' The machine was shared and busy: treat absolute numbers as noisy; the ratios against baselines measured in the same run are the fairer reading.' : ''}`,
    `- In-process: ${runs.length} run(s) on core 0, each the median of 7 interleaved batches; the tables give the median over runs. Proxy: gateways on core 0, the load generator and the mock upstream on core 1 (\`taskset\`), keep-alive everywhere, ${results.proxy?.rounds ?? 0} interleaved round(s), medians over rounds.`,
    '',
  )

  // ------------------------------------------------------------------ the budget
  const layer = (field) => inProcessMedian(runs, 'layer', field)
  const call = (field) => inProcessMedian(runs, 'call', field)
  const chunk = (field) => inProcessMedian(runs, 'chunk', field)
  const proxy = proxyDerived(results.proxy)
  const onionAt1000 = proxy?.byRate.onion?.find((each) => each.rate === 1000)
  const throughputShare = proxy ? proxy.throughput.onion?.share : Number.NaN
  const onionLayer = layer('onionNsPerLayer')
  const koaLayer = layer('koaComposeNsPerLayer')
  const layerOk = runs.length ? onionLayer <= Math.max(koaLayer * 1.25, koaLayer + 50) : undefined
  const memoryOk = proxy?.memory.onion ? proxy.memory.onion.growth < 0.1 : undefined
  const impact = results.exporterImpact
  const impactOk = impact ? impact.ratio.p50 <= 1.25 && (impact.ratio.p90 ?? impact.ratio.p99) <= 1.25 : undefined
  const versusPortkey = portkeyComparison(proxy)
  const cold = results.coldStart

  push('## The budget (DESIGN.md, "Performance budget")', '')
  push('| Line | Budget | Measured | Verdict |', '| --- | --- | --- | --- |')
  push(`| No-op layer | ≤ koa-compose's own cost per layer | ${ns(onionLayer)} ns vs koa-compose ${ns(koaLayer)} ns (${ratio(onionLayer / koaLayer)}) | ${mark(layerOk)} |`)
  push(`| Observability preset, per call | < 20 µs added | ${us(call('presetCallPathAddedUs'))} µs on the call path; ${us(call('presetCpuWithDeliveryAddedUs'))} µs CPU with delivery | ${mark(runs.length ? call('presetCallPathAddedUs') < 20 : undefined)} |`)
  push(`| Observability preset, per chunk | < 1 µs added | ${ns(chunk('presetAddedNs'))} ns | ${mark(runs.length ? chunk('presetAddedNs') < 1000 : undefined)} |`)
  push(`| Proxy added latency p50 @ 1,000 req/s | < 0.5 ms | ${onionAt1000 ? `${ms(onionAt1000.addedP50Us)} ms` : 'not measured'} | ${mark(onionAt1000 ? onionAt1000.addedP50Us < 500 : undefined)} |`)
  push(`| Proxy added latency p99 @ 1,000 req/s | < 2 ms | ${onionAt1000 ? `${ms(onionAt1000.addedP99Us)} ms` : 'not measured'} | ${mark(onionAt1000 ? onionAt1000.addedP99Us < 2000 : undefined)} |`)
  push(`| Proxy throughput | ≥ 80% of the bare pass-through | ${percent(throughputShare)} (median of ${proxy?.throughput.onion?.rounds ?? 0} rounds' ratios; medians ${proxy?.throughput.onion?.perSecond ?? 'n/a'} vs ${proxy?.throughput.passthrough?.perSecond ?? 'n/a'} req/s) | ${mark(Number.isFinite(throughputShare) ? throughputShare >= 0.8 : undefined)} |`)
  const keys = results.proxyKeys?.summary
  push(`| Proxy with virtual keys, budgets and rate limits on Redis | p50 < 0.3 ms added at 1,000 req/s; ≥ 70% of the throughput without them | ${keys ? `${keys.addedP50Ms} ms p50 added (${keys.keysP50Ms} vs ${keys.plainP50Ms} ms; p99 ${keys.addedP99Ms} ms added), ${percent(keys.throughputShare)} of the throughput (${keys.keysPerSecond} vs ${keys.plainPerSecond} req/s, closed loop); ${keys.keysCpuMicrosPerRequest} vs ${keys.plainCpuMicrosPerRequest} µs CPU per request${keys.withParallel ? `; with max_parallel_requests too: ${keys.withParallel.addedP50Ms} ms p50 added, ${percent(keys.withParallel.throughputShare)}, ${keys.withParallel.cpuMicrosPerRequest} µs` : ''}` : 'not measured'} | ${mark(keys ? keys.addedP50Ms < 0.3 && keys.throughputShare >= 0.7 : undefined)} |`)
  const callbacksTable = results.proxyCallbacks?.table
  const callbacksRow = (name) => callbacksTable?.find((row) => row.config === name)
  const guide = callbacksRow("guide's set") ?? callbacksTable?.find((row) => row.config.startsWith("guide's set") && !/worker/.test(row.config))
  const guideWorker = callbacksTable?.find((row) => row.config.startsWith("guide's set") && /worker/.test(row.config) && !/request thread|off|core 1/.test(row.config))
  // What `serve` does by default on a machine with a core to spare: the delivery worker, on the other core.
  const guideDefault = callbacksRow("guide's set, delivery worker on core 1")
  const plainCallbacks = callbacksRow('no callbacks')
  const judged = guideDefault ?? guide
  // Judged on calls whose events all arrived (runs of stop 24 and before counted answered requests, events dropped or not).
  const sustained = (row) => row.sustainedThroughput ?? (row.dropped > 0 ? `not searched (${row.throughput} answered)` : row.throughput)
  const callbacksSummary = (row) => `${percent(row.shareOfNoCallbacks)} ${row.dropped === undefined ? 'answered, events delivered not checked' : row.sustainedThroughput === undefined ? 'answered' : 'with every event delivered'} (${sustained(row)} vs ${plainCallbacks?.throughput ?? 'n/a'} req/s${row.answeredShareOfNoCallbacks !== undefined ? `; ${percent(row.answeredShareOfNoCallbacks)} answered, ${row.dropped} events dropped` : ''}), p99 ${fixed(row.p99Ms, 1)} vs ${fixed(plainCallbacks?.p99Ms ?? Number.NaN, 1)} ms`
  push(`| Proxy with the guide's callbacks (Langfuse, Helicone, PostHog, Datadog; Sentry, Slack) | ≥ 67% of the throughput without callbacks; p99 added < 2 ms at 1,000 req/s | ${judged ? `${guideDefault ? `serve's default on 2 cores (delivery worker on the second core): ${callbacksSummary(guideDefault)}; ` : ''}${guide ? `all on one core, on the request thread: ${callbacksSummary(guide)}` : ''}${guideWorker ? `; all on one core with the delivery worker ${percent(guideWorker.shareOfNoCallbacks)}` : ''} (table below)` : 'not measured'} | ${mark(judged ? judged.shareOfNoCallbacks >= 0.67 && judged.p99Ms - (plainCallbacks?.p99Ms ?? 0) < 2 : undefined)} |`)
  // Issue 19's second goal: the request thread's share with every integration on, and each batched integration's total CPU per event.
  // Judged as serve runs on 2 cores (the worker on the other core), as the guide's set is; runs before stop 26 had only the same-core row.
  const everyDefault = callbacksRow('all integrations, delivery worker on core 1')
  const everySameCore = callbacksRow('all integrations, delivery worker')
  const everyWorker = everyDefault ?? everySameCore
  const addedOf = (row) => row.requestThreadMicrosPerRequest - plainCallbacks.requestThreadMicrosPerRequest
  const everyAdded = everyWorker && plainCallbacks ? addedOf(everyWorker) : undefined
  const everyDetail = (row, where) => `${addedOf(row)} µs (${row.requestThreadMicrosPerRequest} vs ${plainCallbacks.requestThreadMicrosPerRequest} µs per request at ${row.throughput} vs ${plainCallbacks.throughput} req/s; ${where})`
  const atSaturation = everyAdded !== undefined ? `${everyDetail(everyWorker, everyDefault ? 'the delivery worker on the other core' : 'the delivery worker on the same core')}${everyDefault && everySameCore ? `; with the worker on the same core ${everyDetail(everySameCore, 'the same core')}` : ''}` : undefined
  // Judged in one process with the same requests for every config (bench/request-thread-callbacks.ts) when measured:
  // the saturated runs compare threads at different rates, and a thread's CPU per request grows as its rate falls.
  const threadRun = results.requestThreadCallbacks?.configs
  const threadAdded = threadRun ? threadRun['every integration'].requestThreadMicros - threadRun['no callbacks'].requestThreadMicros : undefined
  const inOneProcess = threadRun ? `${fixed(threadAdded, 1)} µs in one process, the same requests for each (${threadRun['every integration'].requestThreadMicros} vs ${threadRun['no callbacks'].requestThreadMicros} µs per request; the guide's set ${fixed(threadRun["guide's set"].requestThreadMicros - threadRun['no callbacks'].requestThreadMicros, 1)} µs; bench/request-thread-callbacks.ts)` : undefined
  const everyJudged = threadAdded ?? everyAdded
  push(`| Proxy with every integration on (${everyWorker?.callbacks ? [...everyWorker.callbacks.success, ...everyWorker.callbacks.failure].length : 'n/a'} that point at a local receiver), request-serving thread | < 25 µs CPU added per call | ${[inOneProcess, atSaturation && `${inOneProcess ? 'in the proxy at saturation, at different rates: ' : ''}${atSaturation}`].filter(Boolean).join('; ') || 'not measured'} | ${mark(everyJudged !== undefined ? everyJudged < 25 : undefined)} |`)
  const batchedCpu = batchedIntegrations.map((name) => [name, median(runs.map((run) => run.perIntegration?.[name]?.cpuWithDeliveryUs))]).filter(([, value]) => Number.isFinite(value))
  const batchedUnder = batchedCpu.filter(([, value]) => value < 10).length
  // What any exporter pays (the call's event, built once per call for all of them, and the queue), to read each row against.
  const shared = median(runs.map((run) => run.perIntegration?.['(any exporter)']?.cpuWithDeliveryUs))
  const beyondShared = Number.isFinite(shared) ? `; of which ${us(shared)} µs is what any exporter pays (the row "(any exporter)": the call's event, built once per call whatever the number of exporters, and the queue), so beyond it ${batchedCpu.map(([name, value]) => `${name} ${us(value - shared)}`).join(', ')}` : ''
  push(`| Each batched integration, CPU per event with delivery (encoding included) | < 10 µs | ${batchedCpu.length > 0 ? `${batchedUnder} of ${batchedCpu.length} under; ${batchedCpu.map(([name, value]) => `${name} ${us(value)}`).join(', ')} (table "Each integration alone")${beyondShared}` : 'not measured'} | ${mark(batchedCpu.length > 0 ? batchedUnder === batchedCpu.length : undefined)} |`)
  const workers = results.workers
  push(`| \`serve --workers 2\` against one worker | shown, no budget | ${workers?.oneWorker ? `${workers.twoWorkers.perSecond} vs ${workers.oneWorker.perSecond} req/s (${ratio(workers.throughputRatio)}); ${workers.tool}, the load generator and upstream sharing the ${workers.cores} cores` : 'not measured'} | — |`)
  const profiled = layer('profilingAddedNsPerLayer')
  push(`| Onion profile on, per layer | < 100 ns added per layer per call | ${runs.length && Number.isFinite(profiled) ? `${ns(profiled)} ns (${ns(layer('profiledNsPerLayer'))} ns per profiled layer against ${ns(onionLayer)} unprofiled)${Number.isFinite(layer('profileFloorNsPerLayer')) ? `; the floor on this machine, two \`performance.now()\` (${ns(layer('clockReadNs'))} ns each) and one promise reaction per layer with nothing recorded (bench/profile-floor.ts): ${ns(layer('profileFloorNsPerLayer'))} ns` : ''}` : 'not measured'} | ${mark(runs.length && Number.isFinite(profiled) ? profiled < 100 : undefined)} |`)
  push(`| Ahead of the Portkey gateway | on every measure | ${versusPortkey.summary} | ${mark(versusPortkey.ok)} |`)
  push(`| Memory over ${proxy?.memory.onion?.requests?.toLocaleString('en') ?? 'n/a'} requests | no growth | ${proxy?.memory.onion ? `${proxy.memory.onion.halfMb} MB at half-way, ${proxy.memory.onion.lastMb} MB at the end (${percent(proxy.memory.onion.growth)})` : 'not measured'} | ${mark(memoryOk)} |`)
  const isolation = results.sinkIsolation
  push(`| Sink isolation | a dead sink never starves a healthy one | ${isolation ? `healthy sink delivered ${percent(isolation.oneDead.healthyDeliveredShare)} (${isolation.oneDead.healthyPerSecond.toLocaleString('en')}/s) with the other sink dead, ${percent(isolation.healthy.healthyDeliveredShare)} (${isolation.healthy.healthyPerSecond.toLocaleString('en')}/s) with both healthy (${isolation.measuredOn}, ${isolation.date.slice(0, 10)})` : 'not measured'} | ${mark(isolation ? isolation.oneDead.healthyDeliveredShare === 1 : undefined)} |`)
  const spool = results.spool
  push(`| Durable spool, per event on the call path | < 5 µs added; disk writes batched | ${spool?.queueSpoolAddedNs !== undefined ? `${ns(spool.queueSpoolAddedNs)} ns added to \`queue.enqueue()\` (${ns(spool.queueWithSpoolNs)} ns with the spool, ${ns(spool.queueNs)} ns without); one write per 100 ms, ${us(spool.backgroundCpuNsPerEvent / 1000)} µs of background CPU per event (${spool.measuredOn}, ${spool.date.slice(0, 10)})` : 'not measured'} | ${mark(spool?.queueSpoolAddedNs !== undefined ? spool.queueSpoolAddedNs < 5000 : undefined)} |`)
  const cacheBench = results.cache
  push(`| \`cache()\`: a call answered from the cache; a miss's key | shown, no budget | ${cacheBench ? `a hit from memory ${us(cacheBench.hitMemoryUs)} µs per call (a bare call to an instant provider ${us(cacheBench.bareCallUs)} µs)${cacheBench.hitRedisUs !== undefined ? `, from Redis ${us(cacheBench.hitRedisUs)} µs` : ''}; a miss adds ${us(cacheBench.missAddedUs)} µs, of which the key ${us(cacheBench.keyUs)} µs (a ${cacheBench.requestCharacters}-character request; ${cacheBench.measuredOn})` : 'not measured'} | — |`)
  const streamWindow = results.streamWindow
  push(`| Guardrails' stream window (pii + hideSecrets, 48-character look-ahead) | < 5 µs CPU per chunk | ${streamWindow ? `${ns(streamWindow.windowNsPerChunk)} ns per chunk of ~${streamWindow.averageChunkCharacters} characters (pass-through ${ns(streamWindow.baselineNsPerChunk)} ns)${streamWindow.measuredOn ? `, ${streamWindow.measuredOn}` : ''}` : 'not measured'} | ${mark(streamWindow ? streamWindow.windowNsPerChunk < 5000 : undefined)} |`)
  push(`| Exporter impact | sinks down = sinks healthy | p50 ${impact ? ratio(impact.ratio.p50) : 'n/a'}, p90 ${impact ? ratio(impact.ratio.p90) : 'n/a'}, p99 ${impact ? ratio(impact.ratio.p99) : 'n/a'} (down / healthy) | ${mark(impactOk)} |`)
  push(`| Cold start: \`import 'llm-onion'\` and \`'llm-onion/middleware'\` | ≤ 100 ms over \`node -e 1\` | ${cold ? `${fixed(cold.addedWallMs.importBoth, 0)} ms (CJS ${fixed(cold.addedWallMs.importBothCjs, 0)} ms; CPU ${fixed(cold.addedCpuMs.importBoth, 0)} ms); the AI SDK's \`ai\`: ${fixed(cold.addedWallMs.aiSdk, 0)} ms` : 'not measured'} | ${mark(cold ? cold.addedWallMs.importBoth <= 100 : undefined)} |`)
  push(`| Cold start: client + first mock call | ≤ 50 ms more | ${cold ? `${fixed(cold.firstMockCallInProcessMs, 0)} ms, timed inside the process (whole processes: ${fixed(cold.addedWallMs.firstMockCall, 0)} ms wall, ${fixed(cold.addedCpuMs.firstMockCall, 0)} ms CPU more than the import alone, within the noise)` : 'not measured'} | ${mark(cold ? cold.firstMockCallInProcessMs <= 50 : undefined)} |`)
  push('', 'Verdict rules: a no-op layer is "within koa-compose\'s cost" at most 25% (or 50 ns) above it; memory has not grown when the RSS at the end is less than 10% above the RSS half-way; exporter impact is equal when down/healthy is at most 1.25× at p50 and p90 (p99 of 1,000 calls on a 2-core machine shared with other work measures the neighbours as much as the exporters; it is shown, not judged). Why a line is missed, and what was tried, is under "Notes" below.', '')

  // ------------------------------------------------------------------ in-process
  if (runs.length) {
    const last = runs[runs.length - 1]
    push('## In-process', '')
    // Runs before the per-integration settings of bench/integrations.ts listed prefixes of variables with no local endpoint; later runs say per integration.
    const off = last.observability.notBenched ? '' : last.observability.skipped?.length ? ` Off for want of a local endpoint: ${last.observability.skipped.join(', ')}.` : ''
    push(`Canned provider (no network), the same for every contestant. Observability: \`${last.observability.source}\` with ${last.observability.integrations.length} integrations on (${last.observability.integrations.join(', ')}), every sink pointed at a local process that accepts everything.${off}${last.observability.refusedHosts?.length ? ` Requests refused by the network guard (not measured): ${last.observability.refusedHosts.join(', ')}.` : ''}`, '')
    push('| Measure | llm-onion | koa-compose alone | Vercel AI SDK 6 (`wrapLanguageModel`) |', '| --- | --- | --- | --- |')
    push(`| ns per no-op layer (100 layers vs none; AI SDK: the wrapped model's \`doGenerate\`) | ${ns(onionLayer)} | ${ns(koaLayer)} | ${ns(layer('aiSdkNsPerLayer'))} |`)
    push(`| µs per bare call (no layers) | ${us(call('bareUs'))} | — | ${us(call('aiSdkBareUs'))} (\`generateText\`) |`)
    push(`| µs added by the same 3-layer chain (timing log, request default, chunk counter) | ${us(call('chainAddedUs'))} | — | ${us(call('aiSdkChainAddedUs'))} |`)
    push(`| ns per stream chunk, bare | ${ns(chunk('bareNs'))} | — | ${ns(chunk('aiSdkBareNs'))} (\`streamText\`) |`)
    push(`| ns per chunk added by the 3-layer chain | ${ns(chunk('chainAddedNs'))} | — | ${ns(chunk('aiSdkChainAddedNs'))} |`)
    push('', '| Observability preset | Added per call / chunk | Ratio to the bare call |', '| --- | --- | --- |')
    push(`| Call path (export batches held back, what the caller waits for) | ${us(call('presetCallPathAddedUs'))} µs | ${ratio((call('bareUs') + call('presetCallPathAddedUs')) / call('bareUs'))} |`)
    push(`| Call path with the default queue (batches leave as they fill) | ${us(call('presetWithDeliveryAddedUs'))} µs | ${ratio((call('bareUs') + call('presetWithDeliveryAddedUs')) / call('bareUs'))} |`)
    push(`| CPU of the process per call, every export delivered (flush included) | ${us(call('presetCpuWithDeliveryAddedUs'))} µs | — |`)
    push(`| Per stream chunk, the preset (same reply, cut into 1,010 chunks instead of 10) | ${ns(chunk('presetAddedNs'))} ns | — |`)
    push(`| Per stream chunk, the preset, when the 1,000 extra chunks also make the reply 100× longer | ${ns(chunk('presetWithReplyLengthAddedNs'))} ns | — |`)
    push(`| Per stream chunk, one no-op \`onChunk\` | ${ns(chunk('onChunkAddedNs'))} ns | — |`)
    const perIntegration = runs[runs.length - 1].perIntegration
    if (perIntegration) perIntegrationTable(push, runs, results.perIntegrationSupplement)
    push('')
  }

  // ------------------------------------------------------------------ proxy with callbacks
  if (callbacksTable) {
    push("## The proxy with callbacks (issue 19)", '')
    push(`\`llm-onion serve\` on core 0, wrk (64 connections), the mock upstream and one local receiver accepting every integration's requests on core 1; ${results.proxyCallbacks.rounds} round(s), a fresh process per configuration and round, medians; p50/p99 at ${results.proxyCallbacks.rate} req/s (open loop). "Answered" is what wrk got answered as fast as 64 connections go; the queue drops events it cannot keep (\`queue_full\`) when delivery falls behind, so with callbacks the share is judged on "every event delivered": the fastest of 6 runs with fewer connections (a bisection over 1–64: fewer connections waiting for their answers make a slower rate) that ended with nothing dropped and under a quarter of a second of events waiting (searched for the guide's set, the rows the goal judges, and for the what-if beside them; the other rows' share is on answered requests). The what-if row sends the guide's set with Helicone's per-call log swapped for \`traceloop\`'s OpenLLMetry spans in OTLP batches, the shape of Helicone's batched intake (\`/v1/trace/log\`): what batching Helicone would buy. llm-onion does not ship it, because that intake logs every call as a success and drops the parameters (docs/integrations/helicone.md). CPU per request from \`/proc\`, in the saturated run: the thread serving requests, the delivery worker's thread, the process's other threads (V8's helper threads, which run the parallel parts of both threads' garbage collections and stay on core 0 with the process, and libuv's) and the whole process (\`bench/proxy-callbacks.ts\`). In "delivery worker on core 1" the worker's thread is moved to core 1 once it runs (\`taskset -p\`), where it shares the core with wrk, the upstream and the receiver: what the scheduler does with an unpinned \`serve\`, which turns the worker on by default when the machine has a core to spare.`, '')
    const others = callbacksTable.some((row) => row.sinkMicrosPerRequest !== undefined)
    const delivered = callbacksTable.some((row) => row.sustainedThroughput !== undefined)
    push(`| Configuration | Answered |${delivered ? ' Events dropped (all runs) | Every event delivered |' : ''} Share of no callbacks | p50 | p99 | CPU per request: request thread |${delivered ? ' delivery worker thread | other threads | process |' : ' CPU per request: process |'}${others ? ' On core 1, per request: receiver, upstream |' : ''}`, `| --- | --- |${delivered ? ' --- | --- |' : ''} --- | --- | --- | --- |${delivered ? ' --- | --- |' : ''} --- |${others ? ' --- |' : ''}`)
    for (const row of callbacksTable) push(`| ${row.config} | ${row.throughput} req/s |${delivered ? ` ${row.dropped ?? 'n/a'} | ${row.sustainedThroughput === undefined && row.dropped > 0 ? 'not searched' : `${row.sustainedThroughput ?? row.throughput} req/s`} |` : ''} ${percent(row.shareOfNoCallbacks)} | ${fixed(row.p50Ms, 2)} ms | ${fixed(row.p99Ms, 2)} ms | ${row.requestThreadMicrosPerRequest} µs |${delivered ? ` ${row.workerThreadMicrosPerRequest || '–'} µs | ${row.totalMicrosPerRequest - row.requestThreadMicrosPerRequest - row.workerThreadMicrosPerRequest} µs |` : ''} ${row.totalMicrosPerRequest} µs |${others ? ` ${row.sinkMicrosPerRequest ?? 'n/a'} µs, ${row.upstreamMicrosPerRequest ?? 'n/a'} µs |` : ''}`)
    push('')
  }

  // ------------------------------------------------------------------ cold start
  if (cold) {
    push('## Cold start', '')
    push(`Measured on ${cold.date?.slice(0, 10) ?? results.date.slice(0, 10)} on the machine above, load average ${cold.load?.join(', ') ?? 'not recorded'} at the end${cold.load?.[0] > 2 ? ' (busy: wall times are inflated by waiting for a core; the CPU column is the fairer reading)' : ''}. Fresh \`node\` processes, spawn to exit, the contestants taking turns over ${cold.rounds} rounds (medians; \`bench/cold-start.ts\`). The package is built first, so a stale \`dist/\` is never measured. CPU is the processes' own user + system time: on a shared machine the steadier reading.`, '')
    push('| Process | Wall ms | CPU ms |', '| --- | --- | --- |')
    const label = { bare: '`node -e 1`', importBoth: 'import both entries (ESM)', importBothCjs: 'require both entries (CJS)', firstMockCall: 'import both, `createClient()`, first mock call', aiSdk: "the Vercel AI SDK's `ai` (ESM)", zod: '`zod` alone (ESM, as `ai` loads it; llm-onion bundles its own copy, English messages only)' }
    for (const name of Object.keys(cold.wallMs)) push(`| ${label[name] ?? name} | ${fixed(cold.wallMs[name], 0)} | ${fixed(cold.cpuMs[name], 0)} |`)
    push('')
  }

  // ------------------------------------------------------------------ proxy
  if (proxy) {
    const label = { passthrough: 'bare pass-through (node:http + undici)', onion: 'llm-onion serve', portkey: 'Portkey gateway' }
    push('## Proxy', '')
    for (const [name, how] of Object.entries(results.proxy.started ?? {})) push(`- ${label[name] ?? name}: ${how}.`)
    for (const [name, why] of Object.entries(results.proxy.unavailable ?? {})) push(`- ${label[name] ?? name}: not measured: ${why}`)
    push('')
    const contestants = proxy.names.filter((name) => name !== 'direct')
    push(`Added latency over a direct call to the same mock upstream (open loop at a fixed rate; p50 / p99 in ms; direct call itself: ${proxy.byRate.direct.map((each) => `${ms(each.p50Us)} / ${ms(each.p99Us)} at ${each.rate}/s`).join(', ')}).`, '')
    push(`| Rate | ${contestants.map((name) => label[name] ?? name).join(' | ')} |`, `| --- | ${contestants.map(() => '---').join(' | ')} |`)
    for (const [index, rate] of results.proxy.rates.entries()) {
      push(`| ${rate.toLocaleString('en')} req/s | ${contestants.map((name) => { const each = proxy.byRate[name][index]; return `${ms(each.addedP50Us)} / ${ms(each.addedP99Us)}${each.failed ? ` (${each.failed} failed)` : ''}${each.achieved < rate * 0.95 ? ` (only ${each.achieved}/s answered)` : ''}` }).join(' | ')} |`)
    }
    push('', `| Measure | direct | ${contestants.map((name) => label[name] ?? name).join(' | ')} |`, `| --- | --- | ${contestants.map(() => '---').join(' | ')} |`)
    const all = ['direct', ...contestants]
    const streamed = (name) => (results.proxy.streams[name] ? null : 'n/a')
    push(`| Max throughput, req/s (${proxy.throughput.direct?.tool}) | ${all.map((name) => `${proxy.throughput[name].perSecond}${proxy.throughput[name].failed ? ` (${proxy.throughput[name].failed} failed)` : ''}`).join(' | ')} |`)
    push(`| … as a share of the pass-through (median of the rounds' ratios) | ${all.map((name) => percent(proxy.throughput[name].share)).join(' | ')} |`)
    push(`| … CPU of the gateway process per request, µs (user + system time over the run) | ${all.map((name) => (Number.isFinite(proxy.throughput[name].cpuMicrosPerRequest) ? fixed(proxy.throughput[name].cpuMicrosPerRequest, 0) : '—')).join(' | ')} |`)
    push(`| Stream: time to first chunk p50, ms | ${all.map((name) => streamed(name) ?? ms(proxy.streams[name].ttfcP50Us)).join(' | ')} |`)
    push(`| … added over direct, p50 / p99, ms | — | ${contestants.map((name) => streamed(name) ?? `${ms(proxy.streams[name].addedTtfcP50Us)} / ${ms(proxy.streams[name].addedTtfcP99Us)}`).join(' | ')} |`)
    push(`| Stream: gap between chunks p50, ms (upstream writes every 5 ms) | ${all.map((name) => streamed(name) ?? ms(proxy.streams[name].gapP50Us)).join(' | ')} |`)
    push(`| … added over direct, p50 / p99, ms | — | ${contestants.map((name) => streamed(name) ?? `${ms(proxy.streams[name].addedGapP50Us)} / ${ms(proxy.streams[name].addedGapP99Us)}`).join(' | ')} |`)
    push(`| Stream: delay per chunk added (upstream write → client), p50 / p99, ms | — | ${contestants.map((name) => streamed(name) ?? `${ms(proxy.streams[name].addedDelayP50Us)} / ${ms(proxy.streams[name].addedDelayP99Us)}`).join(' | ')} |`)
    const memoryOf = (name) => proxy.memory[name]
    push(`| RSS over ${memoryOf('onion')?.requests?.toLocaleString('en') ?? memoryOf('passthrough')?.requests?.toLocaleString('en') ?? 'n/a'} requests: half-way → end (peak), MB | — | ${contestants.map((name) => (memoryOf(name) ? `${memoryOf(name).halfMb} → ${memoryOf(name).lastMb} (${memoryOf(name).peakMb})${memoryOf(name).failed ? `, ${memoryOf(name).failed} failed` : ''}` : 'n/a')).join(' | ')} |`)
    push('')
    push(`RSS samples every tenth of the requests, MB: ${contestants.filter((name) => memoryOf(name)).map((name) => `${label[name] ?? name}: ${memoryOf(name).rssMb.join(', ')}`).join('; ')}.`, '')
  }

  // ------------------------------------------------------------------ provider path
  const path = results.providerPath
  if (path) {
    const label = {
      undiciRequest: '`undici` `request` on a keep-alive pool (what the pass-through uses)',
      fetch: 'WHATWG `fetch` (Node\'s built-in undici)',
      openaiSdk: '`openai` SDK `chat.completions.create`',
      onionClient: 'llm-onion `client.chat` on `openai()`, SDK transport (the library default)',
      onionClientHttpTransport: 'llm-onion `client.chat` on `openai({ transport: \'http\' })` (undici; what `llm-onion serve` uses)',
    }
    push('### Where a proxied call\'s CPU goes', '')
    push('The same chat completion to the mock upstream (its own process), one at a time; CPU of the calling process per call (the upstream\'s is not counted). A gateway on one core cannot exceed 1,000,000 / (its CPU µs per request) requests/s, and the HTTP server side comes on top.', '')
    push('| Path | CPU µs per call | Wall µs per call | Ceiling on one core, req/s |', '| --- | --- | --- | --- |')
    for (const [name, each] of Object.entries(path)) push(`| ${label[name] ?? name} | ${us(each.cpuUs)} | ${us(each.wallUs)} | ${Math.round(1e6 / each.cpuUs).toLocaleString('en')} |`)
    push('')
  }

  // ------------------------------------------------------------------ exporter impact
  if (impact) {
    push('## Exporter impact', '')
    push(`Every integration on (${impact.integrations.join(', ')}), calls at ${impact.rate.toLocaleString('en')}/s for ${impact.seconds} s on one core, canned provider, default delivery queue; sinks healthy (a local process accepting everything) or down (connection refused). Medians of ${impact.rounds} alternating round(s), each mode in a fresh process.`, '')
    push('| Sinks | Call latency p50, µs | p90, µs | p99, µs | mean, µs | Exports delivered / dropped (last round) |', '| --- | --- | --- | --- | --- | --- |')
    for (const mode of ['none', 'healthy', 'down']) {
      if (!impact[mode]) continue
      const lastRun = impact.runs[mode][impact.runs[mode].length - 1]
      const dropped = Object.entries(lastRun?.queue.dropped ?? {}).map(([reason, count]) => `${count} ${reason}`).join(', ') || '0'
      push(`| ${mode === 'none' ? 'no integration (baseline)' : mode} | ${us(impact[mode].p50Us)} | ${us(impact[mode].p90Us)} | ${us(impact[mode].p99Us)} | ${us(impact[mode].meanUs)} | ${lastRun?.queue.delivered ?? 'n/a'} / ${dropped} |`)
    }
    push(`| down / healthy | ${ratio(impact.ratio.p50)} | ${ratio(impact.ratio.p90)} | ${ratio(impact.ratio.p99)} | ${ratio(impact.ratio.mean)} | |`, '')
  }

  // ------------------------------------------------------------------ large content
  const largeContent = results.largeContent
  if (largeContent) {
    push('## A large payload in every call', '')
    push(`The guide's four success destinations (Langfuse, Helicone, PostHog, Datadog) in one process, every call carrying a picture of ${Math.round(largeContent.pictureBytes / 1000)} KB as a base64 data URL; the receiver is a local process on the other core. CPU of the process per call, the call and its delivery included; medians of ${largeContent.rounds} alternating round(s) of ${largeContent.calls} calls. Measured on ${largeContent.measuredOn}, ${largeContent.date.slice(0, 16).replace('T', ' ')} UTC (load average ${largeContent.load.join(', ')}), by \`node --import tsx bench/large-content.ts\`.`, '')
    push('| Event content | CPU per call | Bytes sent per call |', '| --- | --- | --- |')
    push(`| cut to \`redact.maxLength\` (the default, 100,000 characters) | ${largeContent.cut.cpuMicrosPerCall.toLocaleString('en')} µs | ${largeContent.cut.bytesPerCall.toLocaleString('en')} |`)
    push(`| kept whole (\`maxLength: false\`) | ${largeContent.whole.cpuMicrosPerCall.toLocaleString('en')} µs | ${largeContent.whole.bytesPerCall.toLocaleString('en')} |`)
    push(`| no exporter | ${largeContent.bare.cpuMicrosPerCall.toLocaleString('en')} µs | 0 |`, '')
  }

  // ------------------------------------------------------------------ sink isolation
  if (isolation) {
    push('## Sink isolation', '')
    push(`Two sinks in one default delivery queue, every event offered to both at ${isolation.rate.toLocaleString('en')}/s for ${isolation.seconds} s: a batch sink (100 per request, PostHog-like) and a one-item sink (Helicone-like) that is either healthy or dead (connection refused); the receiver is a local process on the other core. Medians of ${isolation.rounds} alternating round(s). Measured on ${isolation.measuredOn}, ${isolation.date.slice(0, 16).replace('T', ' ')} UTC (load average ${isolation.load.join(', ')}), by \`node --import tsx bench/sink-isolation.ts\`.`, '')
    push('| Other sink | Batch sink delivered | Batch sink, events/s | Other sink delivered / dropped (last round) |', '| --- | --- | --- | --- |')
    for (const mode of ['healthy', 'oneDead']) {
      const lastRun = isolation.runs[mode][isolation.runs[mode].length - 1]
      const dropped = Object.entries(lastRun?.otherDropped ?? {}).map(([reason, count]) => `${count} ${reason}`).join(', ') || '0'
      push(`| ${mode === 'healthy' ? 'healthy' : 'dead'} | ${percent(isolation[mode].healthyDeliveredShare)} | ${isolation[mode].healthyPerSecond.toLocaleString('en')} | ${lastRun?.otherDelivered ?? 'n/a'} / ${dropped} |`)
    }
    push('')
  }

  // ------------------------------------------------------------------ spool
  if (spool?.queueSpoolAddedNs !== undefined) {
    push('## Durable spool', '')
    push(`One exported event (${spool.eventBytes} bytes of JSON) handed to a delivery queue with \`spool\` and to the same queue without it, interleaved batches, medians (\`node --import tsx bench/spool.ts\`, on ${spool.date.slice(0, 16).replace('T', ' ')} UTC). The call path only buffers; encoding, writing and fsync run in the background, one write per \`flushIntervalMs\` (100 ms) whatever the number of events.`, '')
    push('| Measure | ns per event |', '| --- | --- |')
    push(`| \`queue.enqueue()\` without a spool | ${ns(spool.queueNs)} |`)
    push(`| \`queue.enqueue()\` with a spool (the call path) | ${ns(spool.queueWithSpoolNs)} (${ns(spool.queueSpoolAddedNs)} added) |`)
    push(`| \`spool.append()\` alone, over the same loop without it | ${ns(spool.appendAddedNs)} added |`)
    push(`| Background: encode + write + fsync, CPU (batches of ${spool.batchSize.toLocaleString('en')}; one flush took ${spool.flushMsPerBatch} ms) | ${ns(spool.backgroundCpuNsPerEvent)} |`)
    push(`| Background: \`acknowledge()\` | ${ns(spool.acknowledgeNsPerEvent)} |`)
    push('')
  }

  if (notes.trim()) push('## Notes', '', notes.trim(), '')
  return `${lines.join('\n')}\n`
}
