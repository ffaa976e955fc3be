/**
 * What the callbacks cost the thread that serves requests (issue 19's second goal), in one process:
 * the proxy's work per chat request (bench/proxy-request-work.ts: the body parsed, the proxy's client
 * with its layers, the router and the `http` transport, the reply body, `undici`'s pool answering the
 * upstream's part from memory) without callbacks, with the guide's set and with every integration
 * that points at a local receiver, the delivery worker on (its thread free to run on the other
 * core) and the receiver a process of its own.
 *
 * Why not `bench/proxy-callbacks.ts`: there the CPU per request of a config is read at the rate it
 * saturates at, and a thread's CPU per request grows as its rate falls (fewer requests share each
 * turn of the event loop: the no-callback proxy alone took 71 µs per request at 13,300 req/s and 100 µs
 * at 8,600 req/s, stop 26), so the difference between two configs there mixes their rates into their
 * work. Here every config runs the same requests, 16 per turn, waiting after every 480 until their
 * events are delivered (so nothing is dropped), and the main thread's CPU is read from
 * `/proc/<pid>/task/<pid>/stat`.
 *
 * `node --import tsx bench/request-thread-callbacks.ts` prints progress and, last, `BENCH_RESULT {json}`.
 */
import { parseConfig } from '../src/proxy/config'
import { buildProxyServer, type ProxyServer } from '../src/proxy/server'
import { integrationEnvironment } from './integrations'
import { cpuMicrosOf, startChild, tsNode } from './processes'
import { answerUpstreamFromMemory, proxyOneRequest } from './proxy-request'
import { emitResult, median, quick } from './stats'

// The upstream's part answers from memory; the integrations' requests go to the receiver.
answerUpstreamFromMemory()

const guide = ['langfuse', 'helicone', 'posthog', 'datadog']
const every = [...guide, 'lunary', 'athina', 'traceloop', 'logfire', 'loki', 'langsmith']
const configs: Array<{ name: string; success: string[] }> = [
  { name: 'no callbacks', success: [] },
  { name: "guide's set", success: guide },
  { name: 'every integration', success: every },
]
const batch = quick ? 2_000 : 20_000
const batches = quick ? 3 : 7
/** Requests started together, as a busy server's turn of the event loop takes several. */
const perTurn = 16
/** Requests between two flushes: few enough that every event is held and delivered (nothing dropped). */
const perFlush = 480

/**
 * `count` requests, `perTurn` at a time, waiting for their events to be delivered after every
 * `perFlush`: the main thread is idle while it waits, so its CPU is the requests' and the hand-off's.
 */
async function run(proxy: ProxyServer, count: number): Promise<void> {
  for (let index = 0; index < count; index += perTurn) {
    await Promise.all(Array.from({ length: perTurn }, () => proxyOneRequest(proxy)))
    if ((index + perTurn) % perFlush === 0) await proxy.client.flush()
    else await new Promise((resolve) => setImmediate(resolve))
  }
}

async function main(): Promise<void> {
  const [command, args] = tsNode(new URL('./fake-sink.ts', import.meta.url).pathname)
  const sink = await startChild(command, args, { core: 1 })
  process.on('exit', () => sink.process.kill('SIGKILL'))
  Object.assign(process.env, integrationEnvironment(sink.url).env)
  // REDIS_URL (cache.ts) points at the receiver too; shared state is not measured here.
  for (const name of Object.keys(process.env)) if (name.startsWith('REDIS_')) delete process.env[name]
  const result: Record<string, { requestThreadMicros: number; dropped: number }> = {}
  try {
    for (const config of configs) {
      process.stderr.write(`${config.name} ...\n`)
      const litellmSettings = config.success.length > 0 ? { litellm_settings: { success_callback: config.success, failure_callback: ['sentry', 'slack'] } } : {}
      const proxy = await buildProxyServer({
        config: parseConfig({ model_list: [{ model_name: 'gpt-4o-mini', litellm_params: { model: 'openai/gpt-4o-mini', api_base: 'http://127.0.0.1:9/v1', api_key: 'sk-bench' } }], ...litellmSettings }),
        deliveryWorker: true,
      })
      await run(proxy, batch)
      const samples: number[] = []
      for (let round = 0; round < batches; round++) {
        const before = cpuMicrosOf(process.pid, process.pid)
        await run(proxy, batch)
        samples.push((cpuMicrosOf(process.pid, process.pid) - before) / batch)
      }
      const stats = proxy.client.services.queue.stats()
      result[config.name] = { requestThreadMicros: Math.round(median(samples) * 10) / 10, dropped: Object.values(stats.dropped).reduce((sum, count) => sum + (count ?? 0), 0) }
      process.stderr.write(`${config.name}: ${result[config.name]!.requestThreadMicros} µs of the request thread per request\n`)
      await proxy.close()
    }
  } finally {
    await sink.stop()
  }
  emitResult({ batch, batches, perTurn, configs: result })
}

await main()
