/**
 * The proxy's public surface, the `llm-onion/proxy` entry (the core, `llm-onion`, does not export
 * it: test/architecture.test.ts keeps the core from importing the proxy). The server itself (and through it every
 * built-in integration the config may name) loads only when a proxy is created, so an application
 * that never runs one never pays for it.
 */
import type { ProxyServer, ProxyServerOptions } from './server'

export type { ProxyAddress, ProxyServer, ProxyServerOptions } from './server'
export { ConfigError, loadConfig, parseConfig } from './config'
export type { LoadConfigOptions, ModelDeployment, ProxyConfig } from './config'

/**
 * Builds the OpenAI-compatible proxy in-process, from a LiteLLM-style `config.yaml` (or the embedded
 * default: mock models plus each provider whose key is set). `listen()` starts it, `close()` stops it
 * gracefully (requests in flight finish, exporters flush). What `llm-onion serve` runs.
 *
 * Options: `config` (a path or a `loadConfig()` result; default the embedded config), `middleware`
 * (your layers, inside the config's callbacks; default none), `gracePeriodMs` (default 30,000),
 * `logs` (one line per call; default false), and `allowedOrigins`, `allowedHosts`,
 * `requestBodyTimeoutMs` (30,000), `streamWriteTimeoutMs` (60,000), `maxConnections` (4,096), each
 * winning over its `general_settings` key, and `gatherMetrics` (where `GET /metrics` takes its text;
 * default `proxy.metrics()`, this process's).
 *
 * @example
 * ```ts
 * import OpenAI from 'openai'
 * import { createProxyServer } from 'llm-onion/proxy'
 *
 * const proxy = await createProxyServer({ config: 'examples/proxy/config.yaml' })
 * const { url } = await proxy.listen({ port: 0 })
 * const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused-without-a-master-key' })
 * const reply = await openai.chat.completions.create({ model: 'gpt-3.5-turbo', messages: [{ role: 'user', content: 'Hi' }] })
 * await proxy.close()
 * ```
 */
export async function createProxyServer(options: ProxyServerOptions = {}): Promise<ProxyServer> {
  const { buildProxyServer } = await import('./server')
  return buildProxyServer(options)
}
