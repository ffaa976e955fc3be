/**
 * In-process benchmarks: the cost of a no-op layer (against koa-compose alone and the Vercel AI
 * SDK's `wrapLanguageModel`), of the observability preset per call and per stream chunk, and of the
 * same three-layer chain written for llm-onion and for the AI SDK. Every contestant calls a canned
 * provider (no network), so what is measured is the library's own work.
 *
 * `node --import tsx bench/in-process.ts` prints a report and, last, `BENCH_RESULT {json}`.
 * `BENCH_QUICK=1` runs short batches (a smoke test; the numbers are not worth recording).
 * `BENCH_INTEGRATIONS=lago,awsSqs` measures only those integrations alone (the per-integration
 * table), nothing else: `BENCH_INTEGRATIONS=lago npm run bench -- in-process`.
 */
import { wrapLanguageModel } from 'ai'
import koaCompose from 'koa-compose'
import { createClient, type Client, type ClientOptions } from '../src/client'
import { defineExporter } from '../src/integrations/exporter'
import type { ChatRequest } from '../src/schema'
import type { Middleware } from '../src/types'
import {
  aiCallOptions,
  aiChain,
  aiGenerate,
  aiNoop,
  aiStream,
  cannedModel,
  cannedProvider,
  drain,
  fewChunks,
  manyChunks,
  noop,
  ourChain,
  request,
  streamRequest,
} from './contestants'
import { integrations as catalogue } from '../src/integrations/catalogue'
import { aloneClientOptions, aloneRequestFields, guardNetwork, integrationEnvironment, loadObservability, notBenched, type LoadedObservability } from './integrations'
import { clockReadNs, floorCompose } from './profile-floor'
import { startChild, tsNode } from './processes'
import { emitResult, measureInterleaved, median, quick, round } from './stats'

// Many layers, so the per-layer difference stands well above the per-call noise.
const layerCount = 100
const measureOptions = quick ? { batchMs: 10, batches: 3, warmupMs: 60 } : { batchMs: 40, batches: 7, warmupMs: 250 }
const cpuOptions = quick ? { iterations: 300, batches: 3 } : { iterations: 600, batches: 3 }
// Each integration alone: long enough samples that a collection of the heap falls in every one
// (2 of 200 calls gave one integration 29.7, 35.3 and 176 µs in three runs); the median of five.
const singleCpuOptions = quick ? { iterations: 100, batches: 1 } : { iterations: 1_000, batches: 5 }
const onlyIntegrations = process.env.BENCH_INTEGRATIONS?.split(',').map((name) => name.trim()).filter(Boolean)
/** A queue that holds export batches back (an hour between flushes): what a call costs its caller. */
const deferredQueue = { flushIntervalMs: 3_600_000, maxBatchSize: 1_000_000, maxSize: 10_000_000 }

// ---------------------------------------------------------------- the run
function client(layers: Middleware[], queue?: Record<string, number>, options: Partial<ClientOptions> = {}): Client {
  return createClient({ ...options, providers: { canned: cannedProvider }, middleware: layers, queue, onHookError: () => {} })
}

const log = (line: string) => process.stderr.write(`${line}\n`)

async function main(): Promise<void> {
  const refused = guardNetwork()
  const [command, args] = tsNode(new URL('./fake-sink.ts', import.meta.url).pathname)
  const sink = await startChild(command, args, { core: 1 })
  // The sink must not outlive a crash of this process.
  process.on('exit', () => sink.process.kill('SIGKILL'))
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130))
  const { env, skipped } = integrationEnvironment(sink.url)
  Object.assign(process.env, env)
  const observability = await loadObservability(sink.url)
  log(`observability: ${observability.source}: ${observability.names.join(', ') || '(no integrations)'}${skipped.length ? `; off (no local endpoint): ${skipped.join(', ')}` : ''}`)
  log(`measured alone only: ${observability.alone.join(', ') || '(none)'}`)
  const measured = [...observability.names, ...observability.alone]
  const unbenched = Object.fromEntries(
    catalogue.filter((integration) => !measured.includes(integration.name)).map((integration) => [integration.name, notBenched[integration.name] ?? 'no local settings for it in bench/integrations.ts']),
  )
  const observabilityResult = { source: observability.source, integrations: observability.names, alone: observability.alone, notBenched: unbenched, skipped, refusedHosts: [...new Set(refused)] }

  if (onlyIntegrations) {
    const unknown = onlyIntegrations.filter((name) => !measured.includes(name))
    if (unknown.length > 0) throw new Error(`BENCH_INTEGRATIONS names ${unknown.join(', ')}, which this run cannot measure; measured here: ${measured.join(', ')}`)
    log(`each of ${onlyIntegrations.join(', ')} alone (BENCH_INTEGRATIONS), nothing else ...`)
    const bare = client([])
    const perIntegration = await measureAlone(observability, onlyIntegrations, bare)
    await bare.close()
    const delivered = Number(await (await fetch(`${sink.url}/__count`)).text())
    await sink.stop()
    const result = { partial: 'BENCH_INTEGRATIONS', observability: { ...observabilityResult, refusedHosts: [...new Set(refused)] }, delivery: { sinkRequests: delivered }, perIntegration }
    log(JSON.stringify(perIntegration, null, 1))
    emitResult(result)
    return
  }

  // 1. a no-op layer: llm-onion, koa-compose alone, the AI SDK
  const koaContext = { response: undefined as unknown }
  // Like the client's innermost step, the terminal awaits the provider, so both dispatch the same shape of chain.
  const koaTerminal = async (context: typeof koaContext) => {
    context.response = await cannedProvider.chat(request, undefined as never)
  }
  const koaNone = koaCompose([koaTerminal])
  const koaNoOps = Array.from({ length: layerCount }, () => async (_context: typeof koaContext, next: () => Promise<void>) => { await next() })
  const koaMany = koaCompose([...koaNoOps, koaTerminal])
  // The floor under a profile: the same layers with two clock reads and one promise reaction each, nothing recorded.
  const floorPlain = floorCompose([...koaNoOps, koaTerminal], false)
  const floorClocked = floorCompose([...koaNoOps, koaTerminal], true)
  const bare = client([])
  const many = client(Array.from({ length: layerCount }, () => noop))
  // The same layers on a client made with profile: true (docs/profile.md): what profiling adds per layer.
  const profiledMany = createClient({ providers: { canned: cannedProvider }, middleware: Array.from({ length: layerCount }, () => noop), onHookError: () => {}, profile: true })
  const aiBare = cannedModel()
  const aiMany = wrapLanguageModel({ model: cannedModel(), middleware: Array.from({ length: layerCount }, () => aiNoop) })
  log('1/5 no-op layers ...')
  const layers = await measureInterleaved(
    {
      onionNone: () => bare.chat(request),
      onionMany: () => many.chat(request),
      onionProfiledMany: () => profiledMany.chat(request),
      koaNone: () => koaNone(koaContext),
      koaMany: () => koaMany(koaContext),
      floorPlain: () => floorPlain(koaContext),
      floorClocked: () => floorClocked(koaContext),
      // The model's own doGenerate, so generateText's ~100+ µs of work does not drown the layers.
      aiNone: () => aiBare.doGenerate(aiCallOptions),
      aiMany: () => aiMany.doGenerate(aiCallOptions),
    },
    measureOptions,
  )

  // 2. the observability preset and the equivalent chains, per call
  const preset = client(observability.layers, { maxSize: 10_000_000 })
  const presetDeferred = client(observability.layers, deferredQueue)
  const chain = client(ourChain())
  const aiChained = wrapLanguageModel({ model: cannedModel(), middleware: aiChain() })
  log('2/5 per call ...')
  const perCall = await measureInterleaved(
    {
      bare: () => bare.chat(request),
      presetCallPath: () => presetDeferred.chat(request),
      presetWithDelivery: () => preset.chat(request),
      chain: () => chain.chat(request),
      aiBare: aiGenerate(aiBare),
      aiChain: aiGenerate(aiChained),
    },
    { ...measureOptions, settle: () => Promise.all([preset.flush(), presetDeferred.flush()]) },
  )
  // CPU time of this process per call with every export delivered to the fake sink (flush included):
  // what the preset costs the machine, not only the caller.
  log('    CPU per call, delivery included ...')
  const cpu = await cpuPerCallTurnAbout({ bare: () => bare.chat(request), preset: () => preset.chat(request) }, { bare: () => bare.flush(), preset: () => preset.flush() }, cpuOptions)

  // 3. per stream chunk: the slope between a 10-chunk and a 1,010-chunk stream
  const onChunkOnly = client([async (ctx, next) => { ctx.onChunk(() => undefined); await next() }])
  log('3/5 per chunk ...')
  const streams = await measureInterleaved(
    {
      bareFew: () => drain(bare.stream(streamRequest('few'))),
      bareMany: () => drain(bare.stream(streamRequest('many'))),
      onChunkFew: () => drain(onChunkOnly.stream(streamRequest('few'))),
      onChunkMany: () => drain(onChunkOnly.stream(streamRequest('many'))),
      presetFew: () => drain(presetDeferred.stream(streamRequest('few'))),
      presetMany: () => drain(presetDeferred.stream(streamRequest('many'))),
      bareFewShort: () => drain(bare.stream(streamRequest('fewShort'))),
      presetFewShort: () => drain(presetDeferred.stream(streamRequest('fewShort'))),
      chainFew: () => drain(chain.stream(streamRequest('few'))),
      chainMany: () => drain(chain.stream(streamRequest('many'))),
      aiBareFew: aiStream(aiBare, 'few'),
      aiBareMany: aiStream(aiBare, 'many'),
      aiChainFew: aiStream(aiChained, 'few'),
      aiChainMany: aiStream(aiChained, 'many'),
    },
    { ...measureOptions, settle: () => presetDeferred.flush() },
  )

  // 4. each integration alone: call path (batches held back) and CPU with delivery
  log('4/5 each integration alone ...')
  const perIntegration = await measureAlone(observability, measured, bare)

  log('5/5 closing ...')
  const stats = preset.services.queue.stats()
  await Promise.all([bare, many, profiledMany, preset, presetDeferred, chain, onChunkOnly].map((each) => each.close()))
  const delivered = Number(await (await fetch(`${sink.url}/__count`)).text())
  await sink.stop()

  const span = manyChunks - fewChunks
  const perChunk = (few: string, many: string) => (streams[many]! - streams[few]!) / span
  const result = {
    observability: { ...observabilityResult, refusedHosts: [...new Set(refused)] },
    delivery: { enqueued: stats.enqueued, delivered: stats.delivered, dropped: stats.dropped, sinkRequests: delivered },
    layer: {
      onionNsPerLayer: round((layers.onionMany! - layers.onionNone!) / layerCount),
      profiledNsPerLayer: round((layers.onionProfiledMany! - layers.onionNone!) / layerCount),
      profilingAddedNsPerLayer: round((layers.onionProfiledMany! - layers.onionMany!) / layerCount),
      profileFloorNsPerLayer: round((layers.floorClocked! - layers.floorPlain!) / layerCount),
      clockReadNs: round(clockReadNs()),
      koaComposeNsPerLayer: round((layers.koaMany! - layers.koaNone!) / layerCount),
      aiSdkNsPerLayer: round((layers.aiMany! - layers.aiNone!) / layerCount),
    },
    call: {
      bareUs: round(perCall.bare! / 1000),
      presetCallPathAddedUs: round((perCall.presetCallPath! - perCall.bare!) / 1000),
      presetWithDeliveryAddedUs: round((perCall.presetWithDelivery! - perCall.bare!) / 1000),
      presetCpuWithDeliveryAddedUs: round(cpu.preset - cpu.bare),
      chainAddedUs: round((perCall.chain! - perCall.bare!) / 1000),
      aiSdkBareUs: round(perCall.aiBare! / 1000),
      aiSdkChainAddedUs: round((perCall.aiChain! - perCall.aiBare!) / 1000),
    },
    chunk: {
      bareNs: round(perChunk('bareFew', 'bareMany')),
      onChunkAddedNs: round(perChunk('onChunkFew', 'onChunkMany') - perChunk('bareFew', 'bareMany')),
      presetAddedNs: round(perChunk('presetFew', 'presetMany') - perChunk('bareFew', 'bareMany')),
      // The same, but the 1,010-chunk reply is also 100× longer: what grows with the reply's length too.
      presetWithReplyLengthAddedNs: round(perChunk('presetFewShort', 'presetMany') - perChunk('bareFewShort', 'bareMany')),
      chainAddedNs: round(perChunk('chainFew', 'chainMany') - perChunk('bareFew', 'bareMany')),
      aiSdkBareNs: round(perChunk('aiBareFew', 'aiBareMany')),
      aiSdkChainAddedNs: round(perChunk('aiChainFew', 'aiChainMany') - perChunk('aiBareFew', 'aiBareMany')),
    },
    perIntegration,
    raw: { layers, perCall, cpu, streams },
  }
  log(JSON.stringify({ layer: result.layer, call: result.call, chunk: result.chunk, delivery: result.delivery }, null, 1))
  emitResult(result)
}

/** The row of an exporter whose sink takes every batch and sends nothing. */
const anyExporter = '(any exporter)'

/** One integration alone: µs it adds to the call path, its CPU µs per call with delivery, and what its queue delivered and dropped. */
interface AloneResult {
  callPathAddedUs: number
  cpuWithDeliveryUs: number
  delivered: number
  dropped: number
}

/**
 * Each of `names` alone, on a client of its own: the call path with batches held back (interleaved
 * with the bare client), then CPU per call with every export delivered, against the bare client's.
 */
async function measureAlone(observability: LoadedObservability, names: string[], bare: Client): Promise<Record<string, AloneResult>> {
  const perIntegration: Record<string, AloneResult> = {}
  if (!observability.single) return perIntegration
  const singles = Object.fromEntries(names.map((name) => [name, client([observability.single!(name)], deferredQueue, aloneClientOptions[name])]))
  // What every exporter pays, whatever it sends: the call's event (built once per call, shared by all of them) and the queue.
  singles[anyExporter] = client([defineExporter({ name: 'any', sink: { name: 'any', async send() {} }, toItems: (event) => event.id })], deferredQueue)
  const requests = Object.fromEntries(names.map((name) => [name, aloneRequestFields[name] ? ({ ...request, ...aloneRequestFields[name] } as ChatRequest) : request]))
  const requestOf = (name: string): ChatRequest => requests[name] ?? request
  const callPaths = await measureInterleaved(
    { bare: () => bare.chat(request), ...Object.fromEntries(Object.entries(singles).map(([name, each]) => [name, () => each.chat(requestOf(name))])) },
    { ...measureOptions, batches: 3, settle: () => Promise.all(Object.values(singles).map((each) => each.flush())) },
  )
  for (const [name, each] of Object.entries(singles)) {
    await each.flush()
    // The bare client's samples taken turn about with the integration's, in the same state of the heap: measured
    // once before them all, a collection that fell in the bare client's samples made every row 4 µs too low.
    const cpu = await cpuPerCallTurnAbout({ bare: () => bare.chat(request), alone: () => each.chat(requestOf(name)) }, { alone: () => each.flush() }, singleCpuOptions)
    const cpuWithDeliveryUs = round(cpu.alone - cpu.bare)
    const stats = each.services.queue.stats()
    const dropped = Object.values(stats.dropped as Record<string, number>).reduce((sum, count) => sum + count, 0)
    perIntegration[name] = { callPathAddedUs: round((callPaths[name]! - callPaths.bare!) / 1000), cpuWithDeliveryUs, delivered: stats.delivered, dropped }
    await each.close()
  }
  return perIntegration
}

/**
 * Median CPU microseconds (user + system) of this process per call of each contestant, their batches
 * taken turn about; `settle` (a flush) ends a contestant's batch inside its measurement.
 */
async function cpuPerCallTurnAbout<Name extends string>(contestants: Record<Name, () => Promise<unknown>>, settle: Partial<Record<Name, () => Promise<unknown>>>, options: { iterations: number; batches: number }): Promise<Record<Name, number>> {
  const samples = Object.fromEntries(Object.keys(contestants).map((name) => [name, [] as number[]])) as Record<Name, number[]>
  for (let batch = 0; batch < options.batches; batch++) {
    for (const [name, call] of Object.entries(contestants) as Array<[Name, () => Promise<unknown>]>) {
      const started = process.cpuUsage()
      for (let index = 0; index < options.iterations; index++) await call()
      await settle[name]?.()
      const used = process.cpuUsage(started)
      samples[name].push((used.user + used.system) / options.iterations)
    }
  }
  return Object.fromEntries(Object.entries<number[]>(samples).map(([name, values]) => [name, median(values)])) as Record<Name, number>
}

await main()
