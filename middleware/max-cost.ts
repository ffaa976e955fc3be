/**
 * maxCost(): a running cost meter per call. Before the call, a prompt whose cost alone is over the
 * budget is refused; during a stream, the reply's cost is counted chunk by chunk (about 4 characters
 * a token) and the stream is cut, with a `GuardrailError` naming the budget, once prompt and reply
 * together have spent it. A non-streamed reply over budget is already paid for: it is delivered,
 * and the next call is not stopped (use `cost({ maxCostUsd })` to refuse calls by their worst case).
 */
import { z } from 'zod'
import type { Context } from '../src/context'
import { createPriceBook, priceUsage, type PriceEntry } from '../src/cost'
import { GuardrailError } from '../src/errors'
import { loadedPriceData, loadPriceData } from '../src/price-data'
import { providerForBareModel } from '../src/providers/router'
import { estimateInputTokens } from '../src/token-estimate'
import type { Middleware } from '../src/types'
import { validate } from '../src/validate'
import { lazySchema } from '../src/lazy-schema'

export interface MaxCostOptions {
  /** The budget of one call, in USD. Required. */
  maxCostUsd: number
  /** The guardrail's name in errors and the proxy's replies. Default `max-cost`. */
  name?: string
  /** Prices in USD per million tokens for the models they name, as `cost({ prices })` takes them. Default: the client's price data. */
  prices?: Record<string, { input: number; output: number; cachedInput?: number }>
  /** Characters counted as one reply token while streaming. Default 4. */
  charactersPerToken?: number
}

const perMillion = lazySchema(() =>
  z.number().finite().nonnegative(),
)
const maxCostOptionsSchema = lazySchema(() =>
  z
    .object({
      maxCostUsd: z.number({ error: 'is required: the budget of one call in USD, for example { maxCostUsd: 0.05 }' }).finite().positive('must be above 0'),
      name: z.string().min(1).optional(),
      prices: z.record(z.string().min(1), z.object({ input: perMillion, output: perMillion, cachedInput: perMillion.optional() }).strict()).optional(),
      charactersPerToken: z.number().positive().optional(),
    })
    .strict(),
)

/**
 * A guardrail layer that cuts a stream once the call has spent `maxCostUsd`. Place it outside
 * `retry()` so the budget is the call's, not each attempt's.
 *
 * @example
 * ```ts
 * client.use(maxCost({ maxCostUsd: 0.02 }))
 * for await (const chunk of client.stream(request)) process.stdout.write(chunk.choices[0]?.delta.content ?? '')
 * // a reply that would spend more ends with GuardrailError: Guardrail "max-cost" cut the stream ...
 * ```
 */
export function maxCost(options: MaxCostOptions): Middleware {
  const parsed = validate(maxCostOptionsSchema, options, 'maxCost() options')
  const guardrail = parsed.name ?? 'max-cost'
  const budget = parsed.maxCostUsd
  const book = createPriceBook({ prices: parsed.prices })
  const charactersPerToken = parsed.charactersPerToken ?? 4

  return async function maxCost(ctx: Context, next: () => Promise<void>): Promise<void> {
    const requested = ctx.request.model
    const slash = requested.indexOf('/')
    const provider = slash > 0 ? requested.slice(0, slash) : providerForBareModel(requested)
    if (provider !== 'mock' && !loadedPriceData()) await loadPriceData()
    const entry = book.lookup(provider, requested, slash > 0 ? requested.slice(slash + 1) : requested)
    if (entry.kind === 'unknown') return next()
    const inputTokens = await estimateInputTokens(ctx.request)
    const spent = (outputTokens: number) => priceUsage(entry, { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens })?.total ?? 0
    const over = (total: number, what: string): GuardrailError =>
      new GuardrailError(guardrail, `Guardrail "${guardrail}" ${what}: the call had spent $${total.toPrecision(3)} of its $${budget} budget (maxCostUsd). Shorten the prompt, lower max_tokens, or raise maxCostUsd.`, { model: requested, provider })
    if (spent(0) > budget) throw over(spent(0), 'refused the call before it was sent')
    if (ctx.streaming) ctx.onChunk(meter(entry, spent, over))
    await next()
  }

  function meter(_entry: PriceEntry, spent: (outputTokens: number) => number, over: (total: number, what: string) => GuardrailError) {
    let characters = 0
    return function costMeter(chunk: { choices?: ReadonlyArray<{ delta?: { content?: string | null; tool_calls?: ReadonlyArray<{ function?: { arguments?: string } }> } }> }) {
      for (const choice of chunk.choices ?? []) {
        characters += choice.delta?.content?.length ?? 0
        for (const call of choice.delta?.tool_calls ?? []) characters += call.function?.arguments?.length ?? 0
      }
      const total = spent(Math.ceil(characters / charactersPerToken))
      if (total > budget) throw over(total, 'cut the stream')
      return undefined
    }
  }
}
