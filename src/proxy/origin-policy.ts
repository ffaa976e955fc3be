/**
 * Who may call the proxy from a browser, and under which `Host` name. Without a master key anyone
 * who can reach the port can spend the provider keys, and a web page the operator opens can reach
 * `127.0.0.1`: with a `text/plain` POST (no preflight), or through DNS rebinding (a foreign name
 * resolving to 127.0.0.1). So a keyless proxy serves only local `Host` names and local origins,
 * plus what `general_settings.allowed_hosts` / `allowed_origins` add. With a master key the key
 * guards every call, and any origin may call (as LiteLLM allows) unless `allowed_origins` narrows it.
 * CORS headers go only to allowed origins; preflights (`OPTIONS`) are answered here.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { networkInterfaces } from 'node:os'
import { send } from './http-io'
import { openAiError } from './openai-errors'

/**
 * The checks a request handler runs; built once per server.
 *
 * @example
 * ```ts
 * const policy = createOriginPolicy({ keyed: false, allowedOrigins: [], allowedHosts: [] })
 * if (request.method === 'OPTIONS') return policy.preflight(request, response)
 * if (!policy.admit(request, response)) return // answered 403
 * ```
 */
export interface OriginPolicy {
  /** True when the request may go on (CORS headers added for an allowed origin); otherwise answers 403 and returns false. */
  admit(request: IncomingMessage, response: ServerResponse, reject?: typeof send): boolean
  /** Answers an `OPTIONS` request: 204 with the CORS headers for an allowed origin, 403 for another. */
  preflight(request: IncomingMessage, response: ServerResponse): void
  /** Counts the address the server listens on (every interface's, for 0.0.0.0 or ::) as local. */
  bind(address: string): void
}

const allowedMethods = 'GET, POST, OPTIONS'
// What browser clients need to read: the retry hints and the ids the proxy and upstreams send.
const exposedHeaders = 'retry-after, retry-after-ms, x-request-id, x-litellm-call-id'
const ipv4Loopback = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/
/** Past this many distinct values, answers are computed each time instead of remembered (a flood of invented names must not grow memory). */
const cacheLimit = 256

/**
 * Builds the policy. `keyed`: a master key is set.
 *
 * @example
 * ```ts
 * const policy = createOriginPolicy({ keyed: config.masterKey !== undefined, ...config.server })
 * ```
 */
export function createOriginPolicy(options: { keyed: boolean; allowedOrigins: readonly string[]; allowedHosts: readonly string[] }): OriginPolicy {
  const { keyed } = options
  const anyOrigin = options.allowedOrigins.includes('*') || (keyed && options.allowedOrigins.length === 0)
  const listedOrigins = new Set(options.allowedOrigins.map((origin) => origin.toLowerCase()))
  const anyHost = keyed || options.allowedHosts.includes('*')
  const localHosts = new Set(['localhost', '[::1]', ...options.allowedHosts.map((name) => name.toLowerCase())])
  const originCache = new Map<string, boolean>()
  const hostCache = new Map<string, boolean>()

  const isLocalName = (name: string) => localHosts.has(name) || ipv4Loopback.test(name) || name.endsWith('.localhost')

  const hostAllowed = (host: string): boolean => {
    let allowed = hostCache.get(host)
    if (allowed === undefined) {
      allowed = isLocalName(hostName(host))
      if (hostCache.size < cacheLimit) hostCache.set(host, allowed)
    }
    return allowed
  }

  const originAllowed = (origin: string): boolean => {
    if (anyOrigin) return true
    let allowed = originCache.get(origin)
    if (allowed === undefined) {
      allowed = listedOrigins.has(origin.toLowerCase()) || isLocalOrigin(origin, isLocalName)
      if (originCache.size < cacheLimit) originCache.set(origin, allowed)
    }
    return allowed
  }

  /** Undefined when allowed; otherwise the 403 to answer. */
  const refusal = (request: IncomingMessage): ReturnType<typeof openAiError> | undefined => {
    const host = request.headers.host
    if (!anyHost && host !== undefined && !hostAllowed(host)) {
      return openAiError(403, `This proxy has no master key, so it serves only local Host names (localhost, 127.0.0.1, [::1], its listen address); "${host}" is not one. Add it to general_settings.allowed_hosts, or set general_settings.master_key.`, { code: 'host_not_allowed' })
    }
    const origin = request.headers.origin
    if (!keyed && origin !== undefined && !originAllowed(origin)) {
      return openAiError(403, `This proxy has no master key, so it takes browser requests only from local origins; "${origin}" is not one. Add it to general_settings.allowed_origins, or set general_settings.master_key.`, { code: 'origin_not_allowed' })
    }
    return undefined
  }

  return {
    admit(request, response, reject = send) {
      const refused = refusal(request)
      if (refused) {
        reject(response, refused)
        return false
      }
      const origin = request.headers.origin
      if (origin !== undefined && originAllowed(origin)) {
        response.setHeader('access-control-allow-origin', origin)
        response.setHeader('access-control-expose-headers', exposedHeaders)
        response.setHeader('vary', 'Origin')
      }
      return true
    },
    preflight(request, response) {
      const origin = request.headers.origin
      const refused = refusal(request) ?? (origin !== undefined && !originAllowed(origin) ? openAiError(403, `The origin "${origin}" is not allowed to call this proxy. Add it to general_settings.allowed_origins.`, { code: 'origin_not_allowed' }) : undefined)
      if (refused) return send(response, refused)
      const headers: Record<string, string> = { allow: allowedMethods, 'content-length': '0' }
      if (origin !== undefined) {
        headers['access-control-allow-origin'] = origin
        headers['access-control-allow-methods'] = allowedMethods
        // Whatever the client asks to send (Authorization, Content-Type, the OpenAI SDK's x-stainless-*): the proxy reads only what it knows.
        const requested = request.headers['access-control-request-headers']
        if (requested) headers['access-control-allow-headers'] = requested
        headers['access-control-max-age'] = '600'
        headers.vary = 'Origin, Access-Control-Request-Headers'
      }
      response.writeHead(204, headers).end()
    },
    bind(address) {
      if (address === '0.0.0.0' || address === '::') {
        for (const entries of Object.values(networkInterfaces())) {
          for (const entry of entries ?? []) localHosts.add(entry.family === 'IPv6' ? `[${entry.address.toLowerCase()}]` : entry.address)
        }
      } else {
        localHosts.add(address.includes(':') ? `[${address.toLowerCase()}]` : address.toLowerCase())
      }
      hostCache.clear()
      originCache.clear()
    },
  }
}

/** The name part of a `Host` header: `[::1]:4000` → `[::1]`, `Example.com:80` → `example.com`. */
function hostName(host: string): string {
  const end = host.startsWith('[') ? host.indexOf(']') + 1 : host.lastIndexOf(':')
  return (end > 0 ? host.slice(0, end) : host).toLowerCase()
}

function isLocalOrigin(origin: string, isLocalName: (name: string) => boolean): boolean {
  // "null" (a sandboxed frame, a file:// page) is no origin the proxy can trust.
  const schemeEnd = origin.indexOf('://')
  if (schemeEnd === -1) return false
  return isLocalName(hostName(origin.slice(schemeEnd + 3)))
}
