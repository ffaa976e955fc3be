/**
 * The OpenAI-compatible proxy server: a config turned into one client (providers, callbacks, the
 * router) behind a node:http server, with a graceful shutdown that lets streams finish and flushes
 * every exporter.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { z } from 'zod'
import { callbacks, asMiddleware } from '../../middleware/callbacks'
import { consoleLog } from '../../middleware/console-log'
import { prometheus } from '../../middleware/prometheus'
import { createClient, type Client } from '../client'
import type { Middleware } from '../types'
import { validate } from '../validate'
import { createAuthCheck } from './auth'
import { loadCallback } from './callback-loader'
import { loadConfig, parseConfig, type ProxyConfig } from './config'
import { defaultConfig } from './default-config'
import { createRequestHandler, modelEntry } from './handlers'
import { createHttpMetrics } from './http-metrics'
import { buildProviders } from './providers'
import { createRouter } from './router'

const optionsSchema = z
  .object({
    config: z.union([z.string().min(1), z.custom<ProxyConfig>((value) => typeof value === 'object' && value !== null && Array.isArray((value as ProxyConfig).models), { message: 'must be a config file path or what loadConfig() returns' })]).optional(),
    middleware: z.array(z.custom<Middleware>((value) => typeof value === 'function', { message: 'must be a middleware function (ctx, next) => ...' })).optional(),
    gracePeriodMs: z.number().int().min(0).optional(),
    logs: z.boolean().optional(),
  })
  .strict()

/** Options of `createProxyServer()`; every one has a default. */
export interface ProxyServerOptions {
  /** A config file path, or a config from `loadConfig()` / `parseConfig()` (default: the embedded default config). */
  config?: string | ProxyConfig
  /** Your own layers, inside the config's callbacks and outside the router (default none). */
  middleware?: Middleware[]
  /** How long `close()` lets requests in flight (streams included) finish, in ms (default 30,000). */
  gracePeriodMs?: number
  /** Print one line per call, like `llm-onion serve --logs` (default false). */
  logs?: boolean
}

/** Where a started proxy listens. */
export interface ProxyAddress {
  /** `http://127.0.0.1:4000`: point OpenAI clients at `${url}/v1`. */
  url: string
  host: string
  port: number
}

/** A proxy server, built and ready to listen. */
export interface ProxyServer {
  readonly config: ProxyConfig
  /** The client every request runs through. */
  readonly client: Client
  readonly server: Server
  /** Names of the layers, outermost first (for the start-up summary). */
  readonly layers: string[]
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

  const { providers, targets } = buildProviders(config.models)
  const router = createRouter(config.models, targets)
  const metricsLayer = prometheus()
  const layers: Middleware[] = [metricsLayer]
  const names = ['prometheus']
  if (options.logs) {
    layers.push(consoleLog())
    names.push('consoleLog')
  }
  if (config.input.length + config.success.length + config.failure.length > 0) {
    layers.push(callbacks({ input: config.input, success: config.success, failure: config.failure }))
    names.push(`callbacks(${describeLists(config)})`)
  }
  for (const [index, reference] of config.callbacks.entries()) {
    const where = `litellm_settings.callbacks[${index}] (${reference})`
    const loaded = await loadCallback(reference, config.directory, where)
    layers.push(asMiddleware(loaded.value, where))
    names.push(reference)
  }
  for (const layer of options.middleware ?? []) {
    layers.push(layer)
    names.push(layer.name || 'middleware')
  }
  layers.push(router.layer)
  names.push('router')
  const client = createClient({ providers, middleware: layers, redact: { messages: config.redactMessages } })

  const httpMetrics = createHttpMetrics()
  let draining = false
  const handle = createRequestHandler({
    client,
    router,
    checkAuth: createAuthCheck(config.masterKey),
    maxBodyBytes: config.maxBodyBytes,
    modelsBody: JSON.stringify({ object: 'list', data: router.modelNames.map(modelEntry) }),
    metrics: () => metricsLayer.metrics() + httpMetrics.render(),
    metricsContentType: metricsLayer.contentType,
    isDraining: () => draining,
  })

  let idle: (() => void) | undefined
  // Keep-alive longer than load balancers' idle timeouts (AWS ALB: 60 s), so they never reuse a socket the proxy just closed.
  const server = createServer({ keepAliveTimeout: 65_000, headersTimeout: 66_000, requestTimeout: 0, noDelay: true }, (request, response) => {
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
  })

  let closing: Promise<void> | undefined
  const gracePeriodMs = options.gracePeriodMs ?? 30_000
  const close = () =>
    (closing ??= (async () => {
      draining = true
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
      if (httpMetrics.inFlight > 0) {
        let timer: NodeJS.Timeout | undefined
        await Promise.race([
          new Promise<void>((resolve) => (idle = resolve)),
          new Promise<void>((resolve) => (timer = setTimeout(resolve, gracePeriodMs))),
        ])
        clearTimeout(timer)
        // Past the grace period: cut what is left; those calls end as cancelled and are still recorded.
        if (httpMetrics.inFlight > 0) {
          server.closeAllConnections()
          await new Promise<void>((resolve) => (idle = resolve))
        }
      }
      server.closeIdleConnections()
      await stopped
      await client.close()
    })())

  return {
    config,
    client,
    server,
    layers: names,
    listen: ({ port = 4000, host = '127.0.0.1' } = {}) =>
      new Promise<ProxyAddress>((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, host, () => {
          server.off('error', reject)
          const address = server.address() as AddressInfo
          const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address
          resolve({ url: `http://${shownHost}:${address.port}`, host: address.address, port: address.port })
        })
      }),
    close,
  }
}

function describeLists(config: ProxyConfig): string {
  const parts: string[] = []
  if (config.input.length > 0) parts.push(`input: ${config.input.join(', ')}`)
  if (config.success.length > 0) parts.push(`success: ${config.success.join(', ')}`)
  if (config.failure.length > 0) parts.push(`failure: ${config.failure.join(', ')}`)
  return parts.join('; ')
}
