/**
 * LiteLLM's reliability settings on the proxy's layers: `num_retries` → `retry()`, `timeout` /
 * `request_timeout` / `stream_timeout` → `timeout()`, `fallbacks` / `context_window_fallbacks` →
 * `fallback()` per model group, `drop_params` → non-OpenAI parameters left out of the request. The
 * layers sit right outside the router: fallbacks outermost (each model group retried before the
 * next is tried, as LiteLLM does), then retry, then the timeout of each try.
 */
import { fallback } from '../../middleware/fallback'
import { defineRepeatingMiddleware } from '../compose'
import { retry } from '../../middleware/retry'
import { timeout } from '../../middleware/timeout'
import { isContextWindowExceededError } from '../errors'
import { chatRequestSchema } from '../schema'
import type { Middleware, RepeatingMiddleware } from '../types'

/** The reliability settings of a config, read from `litellm_settings` and `router_settings`. */
export interface ReliabilitySettings {
  /** `num_retries`: tries after the first (router_settings first, else litellm_settings). */
  numRetries?: number
  /** `router_settings.timeout`, else `litellm_settings.request_timeout`, in ms: the longest a try may take. */
  timeoutMs?: number
  /** `stream_timeout` in ms: streams only, the longest wait for the first chunk and between two chunks. */
  streamTimeoutMs?: number
  /** `fallbacks`: model_name → the model names to try next, in order. */
  fallbacks: Record<string, string[]>
  /** `context_window_fallbacks`: the same, tried only when the prompt is too long for the model. */
  contextWindowFallbacks: Record<string, string[]>
  /** `drop_params`: request parameters outside OpenAI's chat API are left out instead of sent on. */
  dropParams: boolean
}

/** Request keys `drop_params` keeps: OpenAI's chat parameters and llm-onion's own. */
const keptParameters = new Set(Object.keys(chatRequestSchema.shape))

/**
 * The layers for `settings`, outermost first, with their names for the start-up summary.
 *
 * @example
 * ```ts
 * const { layers } = reliabilityLayers(config.reliability)
 * client.use(...layers, router.layer)
 * ```
 */
export function reliabilityLayers(settings: ReliabilitySettings): { layers: Middleware[]; names: string[] } {
  const layers: Middleware[] = []
  const names: string[] = []
  if (settings.dropParams) {
    layers.push(dropParameters)
    names.push('drop_params')
  }
  const contextWindow = perModelGroup(settings.contextWindowFallbacks, (error) => isContextWindowExceededError(error))
  if (contextWindow) {
    layers.push(contextWindow)
    names.push('context_window_fallbacks')
  }
  // LiteLLM's `fallbacks` cover every other failure worth another model (429, 5xx, timeouts, connection).
  const general = perModelGroup(settings.fallbacks, undefined)
  if (general) {
    layers.push(general)
    names.push('fallbacks')
  }
  if (settings.numRetries !== undefined && settings.numRetries > 0) {
    layers.push(retry({ retries: settings.numRetries }))
    names.push(`retry(${settings.numRetries})`)
  }
  const limits = { ms: settings.timeoutMs, firstChunkMs: settings.streamTimeoutMs, chunkGapMs: settings.streamTimeoutMs }
  if (limits.ms !== undefined || limits.firstChunkMs !== undefined) {
    layers.push(timeout(limits))
    names.push('timeout')
  }
  return { layers, names }
}

/** One `fallback()` per model group that lists fallbacks; other groups pass through. */
function perModelGroup(lists: Record<string, string[]>, only: ((error: Error) => boolean) | undefined): Middleware | undefined {
  const entries = Object.entries(lists).filter(([, models]) => models.length > 0)
  if (entries.length === 0) return undefined
  const byGroup = new Map(entries.map(([group, models]) => [group, fallback({ models, ...(only ? { shouldFallback: only } : {}) })]))
  // Repeating like the fallback() it hands over to, which re-runs the layers inside it.
  return defineRepeatingMiddleware(async function modelGroupFallbacks(ctx, next, inner) {
    const layer = byGroup.get(ctx.request.model) as RepeatingMiddleware | undefined
    await (layer ? layer(ctx, next, inner) : inner())
  })
}

function dropParameters(ctx: Parameters<Middleware>[0], next: () => Promise<void>): Promise<void> {
  if (ctx.type === 'chat') {
    const request = ctx.request as Record<string, unknown>
    for (const key of Object.keys(request)) if (!keptParameters.has(key)) delete request[key]
  }
  return next()
}
