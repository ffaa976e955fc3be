/**
 * The innermost step of every call: one attempt at the provider the model routes to, recorded on
 * `ctx.attempts` with its outcome, its usage and (once priced) its cost.
 */
import { abortErrorOf } from './abort'
import type { Context } from './context'
import type { CostCalculator } from './cost'
import { isAbortError, isLlmError, toError } from './errors'
import type { Route } from './providers/router'
import type { ChatRequest, EmbeddingRequest } from './schema'
import { scrubError } from './secret-scrubber'
import { streamFromProvider } from './streamed-call'
import type { AttemptRecord, ProviderCall } from './types'
import { usageFromProvider } from './usage'

/**
 * Calls the provider `route` resolves for the context's model, once; throws the call's error (an abort
 * by the call's own cancellation reported as such), scrubbed of the call's secrets.
 *
 * @example
 * ```ts
 * await attemptProvider(ctx, (model) => resolveRoute(model, providers, aliases), cost)
 * ```
 */
export async function attemptProvider(ctx: Context, route: (model: string) => Route, cost: CostCalculator | undefined): Promise<void> {
  const record: AttemptRecord = { attempt: ctx.attempt, model: ctx.request.model, start: Date.now(), status: 'pending' }
  ctx.attempts.push(record)
  ctx.providerCalls++
  try {
    const routed = route(ctx.request.model)
    const provider = routed.provider
    record.provider = ctx.provider = provider.name
    ctx.model = routed.model
    ctx.apiBase = provider.apiBase
    if (ctx.cancellation.aborted) throw abortErrorOf(ctx.signal)
    const call = new Call(routed.model, ctx)
    const request = { ...ctx.request, model: routed.model }
    if (ctx.type === 'embedding') {
      const response = await provider.embed(request as EmbeddingRequest, call)
      ctx.response = response
      ctx.usage = usageFromProvider({ prompt_tokens: response.usage?.prompt_tokens ?? 0, completion_tokens: 0, total_tokens: response.usage?.total_tokens ?? 0 })
    } else if (!ctx.streaming) {
      const response = await provider.chat(request as ChatRequest, call)
      ctx.response = response
      ctx.usage = usageFromProvider(response.usage)
    } else {
      await streamFromProvider(ctx, provider, request as ChatRequest, call)
    }
    ctx.responseModel = (ctx.response as { model?: string }).model || undefined
    ctx.timing.end = record.end = Date.now()
    record.status = 'success'
    // Only the first priced calls of a process wait here, for the price data to finish loading.
    const pricing = cost?.(ctx)
    if (pricing) await pricing
  } catch (thrown) {
    // A timeout's abort carries its TimeoutError as the reason: that, not the SDK's abort error, is what failed.
    const error = ctx.cancellation.aborted && (isLlmError(ctx.signal.reason) || !isLlmError(thrown)) ? abortErrorOf(ctx.signal) : toError(thrown)
    scrubError(error, (text) => ctx.scrub(text))
    ctx.timing.end = record.end = Date.now()
    record.status = isAbortError(error) ? 'cancelled' : 'failure'
    record.error = { type: error.name, message: error.message, status: isLlmError(error) ? error.status : undefined }
    ctx.error = error
    throw error
  }
}

/** What a provider is told about its call; the signal is looked up (and so created) only if the provider reads it. */
class Call implements ProviderCall {
  constructor(
    readonly model: string,
    readonly context: Context,
  ) {}

  get signal(): AbortSignal {
    return this.context.signal
  }
}
