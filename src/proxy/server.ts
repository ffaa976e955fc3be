/**
 * The OpenAI-compatible proxy server: a config turned into one client (providers, callbacks, the
 * router) behind a node:http server, with a graceful shutdown that lets streams finish and flushes
 * every exporter.
 */
import { maxLengthFromEnvironment } from './content-length-setting'
import { createProxyAlerting } from './alerting'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { z } from 'zod'
import { createClient, type Client, type ClientOptions } from '../client'
import type { LayerTime, ProfileOptions } from '../profile'
import type { Middleware } from '../types'
import { validate } from '../validate'
import { createAuthCheck, presentedKey } from './auth'
import { ConfigError, loadConfig, parseConfig, type ProxyConfig } from './config'
import { defaultConfig } from './default-config'
import { createRequestHandler } from './handlers'
import { modelEntry } from './models-route'
import { answerClientError } from './http-io'
import { createHttpMetrics } from './http-metrics'
import { assembleLayers } from './layers'
import { createOriginPolicy } from './origin-policy'
import { buildProviders } from './providers'
import { createRouter } from './router'
import { createRouting } from './routing'
import { defaultRouting } from './routing-strategies'
import { memoryStore } from '../shared-state/memory-store'
import { redisStore } from '../shared-state/redis-store'
import type { SharedStore } from '../shared-state/store'
import { hostSchema, originSchema, readServerSettings, type ServerSettings } from './server-settings'
import { createKeySystem } from './keys/key-system'
import { readKeySettings } from './keys/key-settings'

const optionsSchema = z
  .object({
    config: z.union([z.string().min(1), z.custom<ProxyConfig>((value) => typeof value === 'object' && value !== null && Array.isArray((value as ProxyConfig).models), { message: 'must be a config file path or what loadConfig() returns' })]).optional(),
    middleware: z.array(z.custom<Middleware>((value) => typeof value === 'function', { message: 'must be a middleware function (ctx, next) => ...' })).optional(),
    gracePeriodMs: z.number().int().min(0).optional(),
    logs: z.boolean().optional(),
    allowedOrigins: z.array(originSchema).optional(),
    allowedHosts: z.array(hostSchema).optional(),
    requestBodyTimeoutMs: z.number().int().positive().optional(),
    streamWriteTimeoutMs: z.number().int().positive().optional(),
    maxConnections: z.number().int().positive().optional(),
    spool: z.string().min(1, 'must be the path of a directory for the spool files').optional(),
    deliveryWorker: z.boolean().optional(),
    gatherMetrics: z.custom<() => Promise<string>>((value) => typeof value === 'function', 'must be a function returning a promise of the exposition text').optional(),
    alertingClock: z.custom<() => number>((value) => typeof value === 'function', 'must be a function returning epoch milliseconds, like Date.now').optional(),
    store: z
      .custom<SharedStore>((value) => typeof value === 'object' && value !== null && typeof (value as SharedStore).increment === 'function', { message: 'must be a shared store, for example redisStore({ url })' })
      .optional(),
    profile: z.union([z.boolean(), z.object({ onProfile: z.custom<(layers: LayerTime[]) => void>((value) => typeof value === 'function', { message: 'must be a function (layers, ctx) => void' }).optional() }).strict()], { error: 'must be true, false or { onProfile: (layers, ctx) => void }' }).optional(),
  })
  .strict()

const listenOptionsSchema = z
  .object({ port: z.number().int().min(0).max(65_535).optional(), host: z.string().min(1).optional() })
  .strict()

/**
 * Options of `createProxyServer()`; every one has a default.
 *
 * @example
 * ```ts
 * const options: ProxyServerOptions = { config: 'config.yaml', middleware: [retry({ retries: 2 })], gracePeriodMs: 60_000 }
 * ```
 */
export interface ProxyServerOptions {
  /** A config file path, or a config from `loadConfig()` / `parseConfig()` (default: the embedded default config). */
  config?: string | ProxyConfig
  /** Your own layers, inside the config's callbacks and outside the router (default none). */
  middleware?: Middleware[]
  /** How long `close()` lets requests in flight (streams included) finish, in ms (default 30,000). */
  gracePeriodMs?: number
  /** Print one line per call, like `llm-onion serve --logs` (default false). */
  logs?: boolean
  /** Browser origins allowed besides local ones, `*` for any (default `general_settings.allowed_origins`, else none; any with a master key). */
  allowedOrigins?: string[]
  /** `Host` names a keyless proxy serves besides local ones, `*` for any (default `general_settings.allowed_hosts`, else none). */
  allowedHosts?: string[]
  /** The whole request must arrive within this, else 408 (default `general_settings.request_body_timeout_ms`, else 30,000). */
  requestBodyTimeoutMs?: number
  /** A streamed reply whose client reads nothing for this long is cut and its call cancelled (default `general_settings.stream_write_timeout_ms`, else 60,000). */
  streamWriteTimeoutMs?: number
  /** Client connections held at once; more are closed as they arrive (default `general_settings.max_connections`, else 4,096). */
  maxConnections?: number
  /** The delivery queue's durable spool directory, like `serve --spool` (default `general_settings.spool_dir`, else none). */
  spool?: string
  /** Deliver the callbacks' events from a worker thread, off the thread serving requests (default false; `serve --delivery-worker`). */
  deliveryWorker?: boolean
  /**
   * The shared store of `ctx.store`, the routing strategies and the cooldowns (default: Redis when the
   * config or the environment names one, docs/shared-state.md, else memory). A store given here is
   * yours to close after the proxy; one the proxy made is closed by `close()`.
   */
  store?: SharedStore
  /** Each layer's own time on every call, like `serve --profile` (`createClient({ profile })`, docs/profile.md; default off). */
  profile?: boolean | ProfileOptions
  /** The clock of the budget alerts and the spend report's periods, epoch ms (default `Date.now`); tests pass their own. */
  alertingClock?: () => number
  /**
   * Where `GET /metrics` takes its text (default: this process's, `proxy.metrics()`); a worker of
   * `serve --workers` passes one that merges every worker's (src/proxy/worker-metrics.ts).
   */
  gatherMetrics?: () => Promise<string>
}

/**
 * Where a started proxy listens.
 *
 * @example
 * ```ts
 * const { url, port } = await proxy.listen({ port: 0 })
 * ```
 */
export interface ProxyAddress {
  /** `http://127.0.0.1:4000`: point OpenAI clients at `${url}/v1`. */
  url: string
  host: string
  port: number
}

/**
 * A proxy server, built and ready to listen.
 *
 * @example
 * ```ts
 * const proxy = await createProxyServer({ config: 'config.yaml' })
 * await proxy.listen({ port: 4000, host: '0.0.0.0' })
 * process.once('SIGTERM', () => void proxy.close())
 * ```
 */
export interface ProxyServer {
  readonly config: ProxyConfig
  /** The client every request runs through. */
  readonly client: Client
  /** The shared store (`ctx.store`, routing, cooldowns): memory, or Redis as configured. */
  readonly store: SharedStore
  readonly server: Server
  /** Names of the layers, outermost first (for the start-up summary). */
  readonly layers: string[]
  /** This process's metrics in the Prometheus text format: the call metrics, then the proxy's HTTP counters. */
  metrics(): string
  /** Where virtual keys are kept (a proxy with a master key), for the start-up summary; undefined without a master key. */
  readonly keys?: string
  /** Starts listening: `port` default 4000 (0 picks a free one), `host` default `127.0.0.1`. */
  listen(options?: { port?: number; host?: string }): Promise<ProxyAddress>
  /**
   * Graceful shutdown: stops accepting connections, fails readiness, lets requests in flight finish
   * within the grace period (then cuts them, recorded as cancelled), and closes the client, which
   * flushes every exporter.
   */
  close(): Promise<void>
}

/**
 * Builds the OpenAI-compatible proxy from a LiteLLM-style config: providers per deployment, the
 * config's built-in callbacks and callback modules, your layers, and the router; then serves
 * `POST /v1/chat/completions`, `POST /v1/embeddings`, `GET /v1/models`, health and metrics routes.
 * Layer order, outermost first: prometheus metrics, console log (`logs`), `success_callback` /
 * `failure_callback` built-ins, `callbacks` modules in config order, `middleware`, the router.
 *
 * @example
 * ```ts
 * const proxy = await buildProxyServer({ config: 'config.yaml' })
 * const { url } = await proxy.listen({ port: 4000 })
 * const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'sk-master-key' })
 * // ...
 * await proxy.close()
 * ```
 */
export async function buildProxyServer(options: ProxyServerOptions = {}): Promise<ProxyServer> {
  validate(optionsSchema, options, 'createProxyServer() options')
  const config =
    typeof options.config === 'string' ? await loadConfig(options.config) : (options.config ?? parseConfig(defaultConfig(process.env)))
  // LiteLLM sets environment_variables before anything reads the environment; built-in integrations do.
  for (const [name, value] of Object.entries(config.environmentVariables)) process.env[name] = value
  // Read before anything is opened, so a wrong value stops the start with nothing to close.
  const maxLength = maxLengthFromEnvironment(process.env)

  const { providers, targets } = buildProviders(config.models)
  const redis = config.sharedState?.redis
  const store = options.store ?? (redis === undefined ? memoryStore() : redisStore(redis))
  const router = createRouter(config.models, targets, config.aliases, config.hiddenAliases, createRouting(config.routing ?? defaultRouting, store))
  // An option given in code wins over the config's general_settings (absent from a config built by hand).
  const configured = config.server ?? readServerSettings({})
  const settings: ServerSettings = {
    ...configured,
    allowedOrigins: options.allowedOrigins ?? configured.allowedOrigins,
    allowedHosts: options.allowedHosts ?? configured.allowedHosts,
    requestBodyTimeoutMs: options.requestBodyTimeoutMs ?? configured.requestBodyTimeoutMs,
    streamWriteTimeoutMs: options.streamWriteTimeoutMs ?? configured.streamWriteTimeoutMs,
    maxConnections: options.maxConnections ?? configured.maxConnections,
  }
  const { layers, names, metrics, mayEditReplies } = await assembleLayers(config, options, router.layer)
  const policy = createOriginPolicy({ keyed: Boolean(config.masterKey), allowedOrigins: settings.allowedOrigins, allowedHosts: settings.allowedHosts })
  const isMaster = createAuthCheck(config.masterKey)
  // Virtual keys come with a master key, as in LiteLLM; their layers go outermost (src/proxy/keys/key-system.ts).
  const keys = config.masterKey
    ? createKeySystem({ settings: config.keys ?? readKeySettings({}, process.env), isMaster, store, policy, maxBodyBytes: config.maxBodyBytes })
    : undefined
  if (keys) {
    layers.unshift(...keys.layers)
    names.unshift(...keys.names)
  }
  // Alerts go outside the key system: the budget check reads the spend its layer has just written (src/proxy/alerting.ts).
  const alerting = config.alerting
    ? createProxyAlerting({ settings: config.alerting, store, models: router.modelNames, ...(keys ? { spendCounters: keys.counters } : {}), now: options.alertingClock })
    : undefined
  if (alerting) {
    layers.unshift(...alerting.layers)
    names.unshift(...alerting.names)
  }
  const prices = Object.fromEntries(config.models.flatMap((deployment) => (deployment.prices ? [[deployment.model, deployment.prices]] : [])))
  // The master key and the Redis password are scrubbed by value like the providers' keys, which the client takes from them.
  const secrets = [config.masterKey, redis?.password, redisUrlPassword(redis?.url)].filter((secret): secret is string => typeof secret === 'string' && secret !== '')
  const client = createProxyClient({ providers, middleware: layers, redact: { messages: config.redactMessages, maxLength }, cost: { prices }, secrets, store, ...(options.profile ? { profile: options.profile } : {}) }, options.spool ?? configured.spoolDir, options.deliveryWorker ?? false)

  const httpMetrics = createHttpMetrics()
  const localMetrics = () => metrics.metrics() + httpMetrics.render()
  let draining = false
  const handle = createRequestHandler({
    client,
    router,
    // With virtual keys, any well-formed key gets as far as the body; the key checks then decide.
    checkAuth: keys ? (headers) => presentedKey(headers)?.key !== undefined : isMaster,
    policy,
    maxBodyBytes: config.maxBodyBytes,
    streamWriteTimeoutMs: settings.streamWriteTimeoutMs,
    modelsBody: JSON.stringify({ object: 'list', data: router.modelNames.map(modelEntry) }),
    metrics: options.gatherMetrics ?? localMetrics,
    metricsContentType: metrics.contentType,
    isDraining: () => draining,
    mayEditReplies,
    ...(keys ? { keys } : {}),
  })

  let idle: (() => void) | undefined
  // Keep-alive longer than load balancers' idle timeouts (AWS ALB: 60 s), so they never reuse a socket the proxy just closed.
  // requestTimeout bounds a slow body; Node checks it every connectionsCheckingInterval, with no timer per request.
  const requestTimeout = settings.requestBodyTimeoutMs
  const onRequest = (request: IncomingMessage, response: ServerResponse) => {
    httpMetrics.started()
    void handle(request, response).then((route) => {
      httpMetrics.finished(route, response.statusCode)
      if (!draining) return
      // A response that began before shutdown was sent keep-alive: close its connection once it is out.
      const socket = request.socket
      if (response.writableFinished) socket.end()
      else response.once('finish', () => socket.end())
      if (httpMetrics.inFlight === 0) idle?.()
    })
  }
  const server = createServer(
    {
      keepAliveTimeout: 65_000,
      headersTimeout: Math.min(66_000, requestTimeout),
      requestTimeout,
      connectionsCheckingInterval: Math.max(10, Math.min(30_000, Math.floor(requestTimeout / 4))),
      noDelay: true,
    },
    onRequest,
  )
  server.maxConnections = settings.maxConnections
  server.on('clientError', answerClientError)

  /** Resolves once no request is in flight, or after `ms`. */
  const untilIdle = (ms: number) =>
    new Promise<void>((resolve) => {
      if (httpMetrics.inFlight === 0) return resolve()
      const timer = setTimeout(resolve, ms)
      idle = () => {
        clearTimeout(timer)
        resolve()
      }
    })

  let closing: Promise<void> | undefined
  const gracePeriodMs = options.gracePeriodMs ?? 30_000
  const close = () =>
    (closing ??= (async () => {
      // Still listening through the grace period: new requests get a 503 instead of a refused connection.
      draining = true
      await untilIdle(gracePeriodMs)
      if (httpMetrics.inFlight > 0) {
        // Past the grace period: cut what is left. Those calls end as cancelled and are still recorded,
        // once their layers have seen the abort (a layer that ignores it is not waited for long).
        server.closeAllConnections()
        await untilIdle(5_000)
      }
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      // A connection that is still sending a request is given a moment, then cut.
      const cut = setTimeout(() => server.closeAllConnections(), 2_000)
      await stopped
      clearTimeout(cut)
      alerting?.close()
      await client.close()
      await keys?.close()
      // Last: the exporters' and callbacks' final writes may still count in it.
      if (options.store === undefined) await store.close()
    })())

  return {
    config,
    client,
    store,
    server,
    layers: names,
    metrics: localMetrics,
    ...(keys ? { keys: keys.describe() } : {}),
    listen: (listenOptions = {}) =>
      new Promise<ProxyAddress>((resolve, reject) => {
        const { port = 4000, host = '127.0.0.1' } = validate(listenOptionsSchema, listenOptions, 'listen() options')
        server.once('error', reject)
        server.listen(port, host, () => {
          server.off('error', reject)
          const address = server.address() as AddressInfo
          policy.bind(address.address)
          const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address
          resolve({ url: `http://${shownHost}:${address.port}`, host: address.address, port: address.port })
        })
      }),
    close,
  }
}

/** The password in a `redis://user:password@host` URL, scrubbed by value like the other credentials. */
function redisUrlPassword(url: string | undefined): string | undefined {
  if (url === undefined) return undefined
  try {
    return decodeURIComponent(new URL(url).password) || undefined
  } catch {
    return undefined
  }
}

/** The proxy's client; with a spool directory, a durable spool whose failure names the flag and the key. */
function createProxyClient(options: ClientOptions, spool: string | undefined, worker: boolean): Client {
  if (spool === undefined) return createClient({ ...options, queue: { worker } })
  try {
    return createClient({ ...options, queue: { spool, worker } })
  } catch (error) {
    throw new ConfigError(`--spool / general_settings.spool_dir: ${(error as Error).message}`)
  }
}

