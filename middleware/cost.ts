/**
 * cost(): what the client's built-in cost does not: prices for the calls through one layer, and a
 * per-call budget checked before anything is sent. The client already prices every call by default
 * (`createClient({ cost: false })` turns that off); this layer is for overrides and budgets.
 */
import { z } from 'zod'
import type { Context } from '../src/context'
import { createPriceBook, priceCall, priceUsage, type TokenPrices } from '../src/cost'
import { LlmError, type LlmErrorOptions } from '../src/errors'
import { loadedPriceData, loadPriceData } from '../src/price-data'
import { providerForBareModel } from '../src/providers/router'
import type { ChatRequest } from '../src/schema'
import { estimateInputTokens } from '../src/token-estimate'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { lazySchema } from '../src/lazy-schema'

export interface CostLayerOptions {
  /**
   * Prices in USD per million tokens for the calls through this layer, matched by the model with or
   * without its provider prefix; they win over the client's price for the models they name. Default: none.
   */
  prices?: Record<string, TokenPrices>
  /**
   * Refuses a call, before it is sent, whose worst case costs more than this many USD: the prompt
   * (counted with a tokenizer) plus `max_completion_tokens` / `max_tokens` of reply at the model's
   * prices. Without a max tokens setting only the prompt is counted; a model without a known price
   * is let through. Default: no budget.
   */
  maxCostUsd?: number
}

const perMillion = lazySchema(() => z.number().finite().nonnegative())
const costLayerOptionsSchema = lazySchema(() =>
  z
    .object({
      prices: z
        .record(z.string().min(1), z.object({ input: perMillion, output: perMillion, cachedInput: perMillion.optional() }).strict())
        .optional(),
      maxCostUsd: z.number().finite().nonnegative().optional(),
    })
    .strict(),
)

/**
 * A call was refused by `cost({ maxCostUsd })` before it was sent (status 400, not retryable).
 *
 * @example
 * ```ts
 * try { await client.chat(request) } catch (error) {
 *   if (error instanceof BudgetExceededError) console.log(`would cost up to $${error.estimatedCostUsd}`)
 * }
 * ```
 */
export class BudgetExceededError extends LlmError {
  /** The worst-case cost of the refused call, in USD. */
  readonly estimatedCostUsd: number
  constructor(message: string, estimatedCostUsd: number, options: LlmErrorOptions = {}) {
    super(message, { status: 400, retryable: false, code: 'budget_exceeded', ...options })
    this.estimatedCostUsd = estimatedCostUsd
  }
}

/**
 * Prices the calls through this layer with its own `prices`, and refuses calls whose worst case
 * exceeds `maxCostUsd`. Put it outside `retry()` and `fallback()` so it sees the call once; it prices
 * the model that answered.
 *
 * @example
 * ```ts
 * client.use(cost({ prices: { 'mock/house-model': { input: 0.5, output: 1.5 } }, maxCostUsd: 0.05 }))
 * ```
 */
export function cost(options: CostLayerOptions = {}): Middleware {
  const settings = validate(costLayerOptionsSchema, options, 'cost() options')
  const book = createPriceBook({ prices: settings.prices })
  const maxCostUsd = settings.maxCostUsd

  return async function cost(ctx: Context, next: () => Promise<void>): Promise<void> {
    if (maxCostUsd !== undefined) await refuseOverBudget(ctx, maxCostUsd)
    await next()
    // A cache answered (all or part of) it: its cost is what was paid, priced when the reply was stored.
    if (!ctx.usage || ctx.cacheHit || ctx.savedCost !== undefined) return
    // The answering attempt's model: a fallback inside has put the primary back on ctx.request by now.
    const attemptModel = ctx.attempts.at(-1)?.model ?? ctx.request.model
    const entry = book.lookup(ctx.provider, attemptModel, ctx.model, ctx.apiBase)
    const ownPrice = entry.kind === 'rates' && entry.source === 'override'
    if (ownPrice || ctx.cost === undefined) priceCall(ctx, book, attemptModel)
  }

  async function refuseOverBudget(ctx: Context, budget: number): Promise<void> {
    const requested = ctx.request.model
    const slash = requested.indexOf('/')
    const provider = slash > 0 ? requested.slice(0, slash) : providerForBareModel(requested)
    const model = slash > 0 ? requested.slice(slash + 1) : requested
    // Before the first call's prices are loaded, wait for them here (this check is async already).
    if (provider !== 'mock' && !loadedPriceData()) await loadPriceData()
    const entry = book.lookup(provider, requested, model)
    if (entry.kind === 'unknown') return
    const inputTokens = await estimateInputTokens(ctx.request)
    const chat = ctx.request as ChatRequest
    const outputTokens = ctx.type === 'chat' ? (chat.max_completion_tokens ?? chat.max_tokens ?? 0) : 0
    const worst = priceUsage(entry, { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens })
    if (!worst || worst.total <= budget) return
    throw new BudgetExceededError(
      `This call could cost up to $${worst.total.toPrecision(3)} (about ${inputTokens} prompt tokens and ${outputTokens} reply tokens on "${requested}"), ` +
        `over cost({ maxCostUsd: ${budget} }). Shorten the prompt, lower max_tokens, or raise maxCostUsd.`,
      worst.total,
      { model: requested, provider },
    )
  }
}
