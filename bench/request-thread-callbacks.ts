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
 * `/proc/self/task/<pid>/stat`.
 *
 * `node --import tsx bench/request-thread-callbacks.ts` prints progress and, last, `BENCH_RESULT {json}`.
 */
import { readFileSync } from 'node:fs'
import { Pool, type Dispatcher } from 'undici'
import { parseConfig } from '../src/proxy/config'
import type { Context } from '../src/context'
import { receivedText } from '../src/proxy/exchange'
import { buildProxyServer, type ProxyServer } from '../src/proxy/server'
import { stripSecretHeaders } from '../src/redact'
import type { HttpInfo } from '../src/types'
import { cannedResponse } from './contestants'
import { integrationEnvironment } from './integrations'
import { startChild, tsNode } from './processes'
import { emitResult, median, quick } from './stats'

const upstreamPath = '/v1/chat/completions'
const replyBody = Buffer.from(JSON.stringify(cannedResponse))
const replyHeaders = [Buffer.from('content-type'), Buffer.from('application/json'), Buffer.from('content-length'), Buffer.from(String(replyBody.length))]
// The upstream's part answers at once, in a microtask, as a keep-alive connection with the reply waiting
// would; the integrations' requests go to the receiver.
const dispatch = Pool.prototype.dispatch
Pool.prototype.dispatch = function answered(this: Pool, options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandlers): boolean {
  if (options.path !== upstreamPath) return dispatch.call(this, options, handler)
  handler.onConnect?.(() => {})
  queueMicrotask(() => {
    handler.onHeaders?.(200, replyHeaders, () => {}, 'OK')
    handler.onData?.(replyBody)
    handler.onComplete?.([])
  })
  return true
}

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

const requestBody = Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello.' }] }))
const requestHeaders = { host: '127.0.0.1:4000', 'content-type': 'application/json', authorization: 'Bearer sk-bench', 'content-length': String(requestBody.length) }

/** CPU µs of this process's main thread. */
function mainThreadMicros(): number {
  const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10_000
}

async function handleOne(proxy: ProxyServer): Promise<string> {
  const body = JSON.parse(requestBody.toString('utf8')) as Record<string, unknown>
  const http: HttpInfo = { method: 'POST', url: `http://${requestHeaders.host}${upstreamPath}`, headers: stripSecretHeaders(requestHeaders), clientIp: '127.0.0.1', body }
  let call: Context | undefined
  const reply = await proxy.client.chat(body as never, { http, modelInfo: { id: 'bench' }, deployment: 'bench', keepRawReply: true, onContext: (ctx) => (call = ctx) })
  return receivedText(call, reply) ?? JSON.stringify(reply)
}

/**
 * `count` requests, `perTurn` at a time, waiting for their events to be delivered after every
 * `perFlush`: the main thread is idle while it waits, so its CPU is the requests' and the hand-off's.
 */
async function run(proxy: ProxyServer, count: number): Promise<void> {
  for (let index = 0; index < count; index += perTurn) {
    await Promise.all(Array.from({ length: perTurn }, () => handleOne(proxy)))
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
        const before = mainThreadMicros()
        await run(proxy, batch)
        samples.push((mainThreadMicros() - before) / batch)
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
