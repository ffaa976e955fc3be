/**
 * What a proxied request tells its call about itself: `ctx.http` (method, URL, headers, client IP and
 * body, credential-free) and the credentials it carries, which the call's events are scrubbed of.
 */
import type { IncomingMessage } from 'node:http'
import { cleanCopy, isSecretHeader, stripSecretHeaders, stripSecretQuery } from '../redact'
import type { SecretScrubber } from '../secret-scrubber'
import type { HttpInfo } from '../types'
import type { Body } from './http-io'

/**
 * The HTTP facts of a call, credential-free as `ctx.http` promises: no credential query parameter,
 * no credential header, and a body without credential keys (`api_key`, ...) or known credential values.
 * The body is cleaned when first read (only CustomLogger handlers read it), so calls that never read
 * it pay nothing.
 */
export function httpInfo(request: IncomingMessage, body: Body, scrubber: SecretScrubber, secrets: string[] | undefined): HttpInfo {
  return new RequestFacts(request, body, scrubber, secrets)
}

/**
 * `ctx.http` of a proxied request. A class with the lazy `body` on its prototype, not an object
 * literal with a getter: a getter in a literal gives every object an accessor pair of its own, which
 * V8 allocates in the old generation, so each request's body, credentials and scrubber stayed
 * reachable from there until the next full collection (about 0.9 KB per request; at 1,000 req/s a
 * full collection every few seconds, with marking steps of up to 20 ms: the proxy's p99).
 */
class RequestFacts implements HttpInfo {
  method: string
  url: string
  headers: Record<string, string>
  clientIp: string | undefined
  readonly #raw: Body
  readonly #scrubber: SecretScrubber
  readonly #secrets: string[] | undefined
  #clean: unknown

  constructor(request: IncomingMessage, body: Body, scrubber: SecretScrubber, secrets: string[] | undefined) {
    this.method = request.method ?? 'POST'
    this.url = stripSecretQuery(`http://${request.headers.host ?? 'localhost'}${request.url ?? ''}`)
    this.headers = stripSecretHeaders(request.headers)
    this.clientIp = request.socket.remoteAddress
    this.#raw = body
    this.#scrubber = scrubber
    this.#secrets = secrets
  }

  get body(): unknown {
    return (this.#clean ??= cleanCopy(this.#raw, (text) => this.#scrubber.scrub(text, this.#secrets)))
  }

  /** The facts as JSON, the cleaned body included (it is not an own property). */
  toJSON(): HttpInfo {
    return { method: this.method, url: this.url, headers: this.headers, clientIp: this.clientIp, body: this.body }
  }
}

/** The credentials a proxied request carries (credential headers' values, the bearer token), to scrub from what its call emits. */
export function requestSecrets(request: IncomingMessage): string[] | undefined {
  let secrets: string[] | undefined
  for (const name in request.headers) {
    if (!isSecretHeader(name)) continue
    const value = request.headers[name]
    for (const each of Array.isArray(value) ? value : [value ?? '']) {
      ;(secrets ??= []).push(each, each.replace(/^(?:Bearer|Basic)\s+/i, ''))
    }
  }
  // The body's api_key is the call's own already (see Context); a query credential is not.
  const query = request.url?.indexOf('?') ?? -1
  if (query !== -1 && request.url) {
    for (const [name, value] of new URLSearchParams(request.url.slice(query + 1))) {
      if (stripSecretQuery(`?${encodeURIComponent(name)}=x`) === '') (secrets ??= []).push(value)
    }
  }
  return secrets
}
