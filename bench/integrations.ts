/**
 * Turns on every built-in integration for a benchmark by pointing its environment variables at one
 * local sink (healthy, or a port that refuses connections), and loads the observability preset — or,
 * until the preset exists, every layer of the integration registry. A guard refuses any request that
 * would leave the machine, so an integration with no local endpoint is reported, never reached.
 */
import http from 'node:http'
import https from 'node:https'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Middleware } from '../src/types'

const root = new URL('..', import.meta.url).pathname

/** The variables the integrations spec names, so a layer that reads them is covered before its source is scanned. */
const specVariables = [
  'HELICONE_API_KEY', 'HELICONE_API_BASE', 'LANGFUSE_PUBLIC_KEY', 'LANGFUSE_SECRET_KEY', 'LANGFUSE_HOST', 'SENTRY_DSN',
  'SLACK_WEBHOOK_URL', 'POSTHOG_API_KEY', 'POSTHOG_API_URL', 'LUNARY_PUBLIC_KEY', 'LUNARY_API_URL', 'ATHINA_API_KEY',
  'ATHINA_BASE_URL', 'LOGFIRE_TOKEN', 'LOGFIRE_BASE_URL', 'TRACELOOP_API_KEY', 'TRACELOOP_BASE_URL', 'DD_API_KEY', 'DD_SITE', 'LOKI_URL',
]

const urlLike = /(_URL|_BASE|_HOST|_ENDPOINT|_BASE_URL|_API_BASE)$/
const secretLike = /(_KEY|_TOKEN|_SECRET)$/

/** Every upper-case `PREFIX_NAME` variable quoted in the integrations' sources. */
function discoveredVariables(): string[] {
  const found = new Set(specVariables)
  for (const folder of ['middleware', 'src/integrations/otel']) {
    const directory = join(root, folder)
    if (!existsSync(directory)) continue
    for (const file of readdirSync(directory)) {
      if (!file.endsWith('.ts')) continue
      const source = readFileSync(join(directory, file), 'utf8')
      for (const match of source.matchAll(/['"`]([A-Z][A-Z0-9]*_[A-Z0-9_]+)['"`]/g)) found.add(match[1]!)
    }
  }
  return [...found].sort()
}

/**
 * Environment that enables every integration against `sinkUrl`. An integration's credentials are set
 * only when it has a base-URL variable to point at the sink; one whose endpoint cannot be made local
 * (Datadog's `DD_SITE` builds an https host) stays off and is listed in `skipped`.
 */
export function integrationEnvironment(sinkUrl: string): { env: Record<string, string>; skipped: string[] } {
  const variables = discoveredVariables()
  const sink = new URL(sinkUrl)
  const prefixesWithUrl = new Set(variables.filter((name) => urlLike.test(name) || /WEBHOOK|DSN/.test(name)).map((name) => name.split('_')[0]))
  const env: Record<string, string> = {}
  const skipped = new Set<string>()
  for (const name of variables) {
    const prefix = name.split('_')[0]!
    if (name.endsWith('_DSN')) env[name] = `http://benchpublickey@${sink.host}/1`
    else if (name.includes('WEBHOOK')) env[name] = `${sinkUrl}/slack/webhook`
    else if (urlLike.test(name)) env[name] = sinkUrl
    else if (/(_FILE|_PATH)$/.test(name)) env[name] = '/dev/null'
    else if (secretLike.test(name)) {
      if (prefixesWithUrl.has(prefix)) env[name] = `bench-${name.toLowerCase()}`
      else skipped.add(prefix)
    }
  }
  return { env, skipped: [...skipped] }
}

/** Hosts a benchmark may reach. */
const loopback = new Set(['127.0.0.1', 'localhost', '[::1]', '::1'])

/**
 * Refuses, and records, every fetch or http(s) request to a host that is not loopback. Returns the
 * list of refused URLs (a benchmark reports them: such an integration was not measured).
 */
export function guardNetwork(): string[] {
  const refused: string[] = []
  const originalFetch = globalThis.fetch
  globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url)
    if (!loopback.has(url.hostname)) {
      refused.push(url.origin)
      throw new TypeError(`bench network guard: refused ${url.origin} (only loopback is allowed)`)
    }
    return originalFetch(input, init)
  }) as typeof fetch
  for (const module of [http, https]) {
    const original = module.request
    ;(module as { request: typeof http.request }).request = ((...parameters: Parameters<typeof http.request>) => {
      const first = parameters[0] as string | URL | http.RequestOptions
      const host = typeof first === 'string' || first instanceof URL ? new URL(first).hostname : (first.hostname ?? first.host ?? 'localhost')
      if (!loopback.has(String(host).replace(/:\d+$/, ''))) {
        refused.push(String(host))
        throw new TypeError(`bench network guard: refused ${host} (only loopback is allowed)`)
      }
      return original(...parameters)
    }) as typeof http.request
  }
  return refused
}

/** A port nothing listens on: connections to it are refused at once. */
export async function refusedPortUrl(): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${port}`
}

export interface LoadedObservability {
  /** `observability()` when the preset exists, else `registry` (each integration's factory). */
  source: string
  layers: Middleware[]
  /** The integrations that are on. */
  names: string[]
  /** One integration alone, as the preset builds it (undefined before the preset exists). */
  single?: (name: string) => Middleware
}

/** Integrations that print to the terminal rather than export; a benchmark leaves them off. */
const terminalOnly = new Set(['consoleLog', 'console', 'console-log'])

/**
 * Loads the observability preset (reading the environment set by {@link integrationEnvironment}),
 * or every registered integration whose settings are present. Call after setting `process.env`.
 */
export async function loadObservability(): Promise<LoadedObservability> {
  const presetFile = join(root, 'middleware/observability.ts')
  if (existsSync(presetFile)) {
    const module = (await import(pathToFileURL(presetFile).href)) as Record<string, unknown>
    const factory = module.observability as ((options?: unknown) => Middleware) | undefined
    if (typeof factory === 'function') {
      // Prometheus is switched on by no variable; "every integration" includes it.
      const layer = factory({ prometheus: true, quiet: true })
      const names = (layer as unknown as { enabled?: string[] }).enabled ?? []
      const single = (name: string) => factory({ detect: false, quiet: true, [name]: true })
      return { source: 'observability({ prometheus: true })', layers: [layer], names, single }
    }
  }
  const registry = (await import(pathToFileURL(join(root, 'middleware/registry.ts')).href)) as {
    integrations: Record<string, (options?: Record<string, unknown>) => Middleware>
  }
  const layers: Middleware[] = []
  const names: string[] = []
  for (const [name, factory] of Object.entries(registry.integrations)) {
    if (terminalOnly.has(name)) continue
    try {
      layers.push(factory())
      names.push(name)
    } catch {
      // Its settings are not in the environment (it has no local endpoint): it stays off.
    }
  }
  return { source: 'registry (observability() not there yet)', layers, names }
}
