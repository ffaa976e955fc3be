/**
 * The proxy's own HTTP counters (requests by route and status, requests in flight), rendered in the
 * Prometheus text format after the call metrics of the `prometheus()` layer.
 */

/** The routes the proxy counts; anything else counts as `other`, so labels stay few. */
export type RouteLabel =
  | '/v1/chat/completions'
  | '/v1/embeddings'
  | '/v1/responses'
  | '/v1/messages'
  | '/v1/models'
  | '/health/liveliness'
  | '/health/readiness'
  | '/metrics'
  | 'other'

/** Counters of the HTTP side of the proxy. */
export interface HttpMetrics {
  /** A request started. */
  started(): void
  /** A request ended with `status`. */
  finished(route: RouteLabel, status: number): void
  readonly inFlight: number
  /** The counters in the Prometheus text exposition format. */
  render(prefix?: string): string
}

/**
 * Creates the counters; `finished()` is a map lookup and an increment.
 *
 * @example
 * ```ts
 * const metrics = createHttpMetrics()
 * metrics.started()
 * metrics.finished('/v1/chat/completions', 200)
 * console.log(metrics.render())
 * ```
 */
export function createHttpMetrics(): HttpMetrics {
  // Route, then status: two lookups and no string built per request.
  const counts = new Map<RouteLabel, Map<number, number>>()
  let inFlight = 0
  return {
    started() {
      inFlight++
    },
    finished(route, status) {
      inFlight--
      let byStatus = counts.get(route)
      if (!byStatus) counts.set(route, (byStatus = new Map()))
      byStatus.set(status, (byStatus.get(status) ?? 0) + 1)
    },
    get inFlight() {
      return inFlight
    },
    render(prefix = 'llm_onion_') {
      const lines = [
        `# HELP ${prefix}proxy_http_requests_total HTTP requests the proxy answered, by route and status.`,
        `# TYPE ${prefix}proxy_http_requests_total counter`,
      ]
      for (const [route, byStatus] of counts) {
        for (const [status, count] of byStatus) lines.push(`${prefix}proxy_http_requests_total{route="${route}",status="${status}"} ${count}`)
      }
      lines.push(
        `# HELP ${prefix}proxy_http_requests_in_flight HTTP requests being answered now.`,
        `# TYPE ${prefix}proxy_http_requests_in_flight gauge`,
        `${prefix}proxy_http_requests_in_flight ${inFlight}`,
      )
      return `${lines.join('\n')}\n`
    },
  }
}
