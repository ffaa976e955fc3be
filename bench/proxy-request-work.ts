/**
 * What `llm-onion serve` does per non-streamed chat request besides the sockets, in one process:
 * parse the body, build the HTTP facts, run the proxy's client (its layers, the router, the `http`
 * transport of `openai()`), and produce the reply body, with `undici`'s pool answering from memory
 * the in-process benchmark's canned reply. No network, so it is steady enough to compare
 * commits: µs per request (median of 9 batches) and bytes allocated per request.
 *
 * Run on its own: `node --expose-gc --min-semi-space-size=64 --max-semi-space-size=64 --import tsx bench/proxy-request-work.ts`
 */
import { performance, PerformanceObserver } from 'node:perf_hooks'
import { parseConfig } from '../src/proxy/config'
import { buildProxyServer } from '../src/proxy/server'
import { answerUpstreamFromMemory, proxyOneRequest } from './proxy-request'

answerUpstreamFromMemory()
const proxy = await buildProxyServer({
  config: parseConfig({ model_list: [{ model_name: 'gpt-4o-mini', litellm_params: { model: 'openai/gpt-4o-mini', api_base: 'http://127.0.0.1:9/v1', api_key: 'sk-bench' } }] }),
})
const handleOne = () => proxyOneRequest(proxy)

const batch = 50_000
for (let index = 0; index < batch * 2; index++) await handleOne()
const batches: number[] = []
for (let round = 0; round < 9; round++) {
  const started = process.hrtime.bigint()
  for (let index = 0; index < batch; index++) await handleOne()
  batches.push(Number(process.hrtime.bigint() - started) / batch / 1000)
}
batches.sort((left, right) => left - right)
console.log(`µs per request: ${batches[4]!.toFixed(2)} (median of 9 batches of ${batch}; fastest ${batches[0]!.toFixed(2)}, slowest ${batches[8]!.toFixed(2)})`)

const gc = (globalThis as { gc?: () => void }).gc
if (gc) {
  // Heap growth between a full collection and the end of 1,000 requests, with no collection in between
  // (watched: a young generation that filled up would have collected, and the count would be low).
  gc()
  await new Promise((resolve) => setImmediate(resolve))
  let collections = 0
  const startedAt = performance.now()
  const observer = new PerformanceObserver((list) => void (collections += list.getEntries().filter((entry) => entry.startTime >= startedAt).length))
  observer.observe({ entryTypes: ['gc'] })
  const before = process.memoryUsage().heapUsed
  const requests = 1_000
  for (let index = 0; index < requests; index++) await handleOne()
  const allocated = (process.memoryUsage().heapUsed - before) / requests
  await new Promise((resolve) => setTimeout(resolve, 10))
  observer.disconnect()
  console.log(
    collections === 0
      ? `bytes allocated per request: about ${Math.round(allocated)}`
      : 'bytes allocated per request: a collection ran during the measurement; run with --max-semi-space-size=64 --min-semi-space-size=64',
  )
} else {
  console.log('bytes allocated per request: run with node --expose-gc to measure')
}
await proxy.close()
