/**
 * The guide's first stateful handler, ported. It kept `self.request_count = 0` and added one per
 * call, which counts only the calls of its own process: with `serve --workers 4`, or two replicas
 * behind a load balancer, each has its own count. Here the count lives in the shared store
 * (`ctx.store`): in memory when the proxy has no Redis, in Redis when it has one (REDIS_URL, or the
 * config's router_settings.redis_host), and then every worker and replica adds to the same number.
 * `config.yaml` names it as `request_counter.request_counter_instance` (see shared-state.yaml).
 */
import type { CallEvent, Context } from 'llm-onion'

class RequestCounter {
  // Was `self.request_count += 1` in log_success_event: an atomic increment in the shared store.
  async onSuccess(event: CallEvent, ctx: Context) {
    const requestCount = await ctx.store.increment('request_count')
    console.log(`[RequestCounter] request #${requestCount} (${event.model}, served by process ${process.pid})`)
  }

  // A failed request is a request too.
  async onFailure(event: CallEvent, ctx: Context) {
    const requestCount = await ctx.store.increment('request_count')
    console.log(`[RequestCounter] request #${requestCount} failed (${event.error?.type ?? 'error'})`)
  }
}

// ---> The instance at the module level, as the proxy loads it <---
export const request_counter_instance = new RequestCounter()
