/**
 * Cost of a call in USD from its usage. Prices come from the data bundled in `@pydantic/genai-prices`
 * (read offline, never fetched at run time, loaded on the first priced call: ./price-data.ts) unless
 * an override names the model. A lookup is done
 * once per provider and model and cached, so a warm call costs a map lookup and a few multiplications.
 */
import type { Provider as PriceProvider } from '@pydantic/genai-prices'
import { z } from 'zod'
import type { Context } from './context'
import { loadedPriceData, loadPriceData, priceData } from './price-data'
import { descriptorForPrefix } from './providers/descriptors'
import type { Cost, Usage } from './types'
import { validate } from './validate'
import { lazySchema } from './lazy-schema'

/** Prices of one model in USD per million tokens. `cachedInput` (read from a prompt cache) and `cacheWrite` (written to it) default to `input`. */
export interface TokenPrices {
  input: number
  output: number
  cachedInput?: number
  cacheWrite?: number
}

export interface CostOptions {
  /**
   * Per-model prices in USD per million tokens; they win over the built-in price data. A key matches
   * the request's model with or without its provider prefix (`'mock/my-model'` or `'my-model'`).
   * Default: none.
   */
  prices?: Record<string, TokenPrices>
}

/**
 * Sets `ctx.cost` from `ctx.usage`, or leaves it undefined and says why in `ctx.costUnknownReason`.
 * Returns a promise only while the price data is still loading (the first priced calls of a
 * process); the caller awaits it then, and never after.
 */
export type CostCalculator = (ctx: Context) => void | Promise<void>

/** A price rate in USD per million tokens; tiered rates depend on the call's input tokens. */
type Rate = number | { base: number; tiers: ReadonlyArray<{ start: number; price: number }> }

/** What a lookup found: rates to multiply, a model genai-prices must price itself, or why there is no price. */
export type PriceEntry =
  | { kind: 'rates'; source: 'override' | 'data'; input: Rate; cachedInput: Rate; cacheWrite: Rate; output: Rate }
  | { kind: 'calculated'; provider: PriceProvider; modelId: string }
  | { kind: 'unknown'; reason: string }

/** Cached price lookups of one set of options. */
export interface PriceBook {
  /** The price of `model` (as the provider knows it) served by `provider`; `requestModel` is the request's name for it. */
  lookup(provider: string | undefined, requestModel: string, model: string, apiBase?: string): PriceEntry
}

const perMillion = lazySchema(() => z.number().finite().nonnegative())
const costOptionsSchema = lazySchema(() =>
  z
    .object({
      prices: z
        .record(z.string().min(1), z.object({ input: perMillion, output: perMillion, cachedInput: perMillion.optional(), cacheWrite: perMillion.optional() }).strict())
        .optional(),
    })
    .strict(),
)

/** Bounds the cache when a proxy sees endless distinct model names. */
const maxCachedModels = 1000
const noUsageReason = 'The provider reported no token usage, so the cost cannot be computed.'

/**
 * Cached price lookups: overrides first, then the bundled genai-prices data.
 *
 * @example
 * ```ts
 * const book = createPriceBook({ prices: { 'mock/my-model': { input: 1, output: 2 } } })
 * const entry = book.lookup('mock', 'mock/my-model', 'my-model')
 * console.log(priceUsage(entry, { inputTokens: 1000, outputTokens: 10, totalTokens: 1010 }))
 * ```
 */
export function createPriceBook(options: CostOptions = {}): PriceBook {
  const settings = validate(costOptionsSchema, options, 'cost options')
  const overrides = new Map<string, PriceEntry>()
  for (const [name, prices] of Object.entries(settings.prices ?? {})) {
    overrides.set(name, {
      kind: 'rates',
      source: 'override',
      input: prices.input,
      cachedInput: prices.cachedInput ?? prices.input,
      cacheWrite: prices.cacheWrite ?? prices.input,
      output: prices.output,
    })
  }
  const cache = new Map<string, Map<string, PriceEntry>>()
  let cached = 0

  function resolve(provider: string | undefined, requestModel: string, model: string, apiBase: string | undefined): PriceEntry {
    const slash = requestModel.indexOf('/')
    const override =
      overrides.get(requestModel) ??
      (slash > 0 ? overrides.get(requestModel.slice(slash + 1)) : undefined) ??
      (provider ? overrides.get(`${provider}/${model}`) : undefined) ??
      overrides.get(model)
    return override ?? fromPriceData(provider, model, apiBase)
  }

  return {
    lookup(provider, requestModel, model, apiBase) {
      const providerKey = provider ?? ''
      let models = cache.get(providerKey)
      const hit = models?.get(requestModel)
      if (hit) return hit
      if (cached >= maxCachedModels) {
        cache.clear()
        cached = 0
        models = undefined
      }
      if (!models) cache.set(providerKey, (models = new Map()))
      const entry = resolve(provider, requestModel, model, apiBase)
      models.set(requestModel, entry)
      cached++
      return entry
    },
  }
}

/**
 * The USD cost of `usage` at `entry`'s prices, or undefined when the price is unknown.
 *
 * @example
 * ```ts
 * const entry = createPriceBook().lookup('openai', 'openai/gpt-4o-mini', 'gpt-4o-mini')
 * priceUsage(entry, { inputTokens: 1_000_000, outputTokens: 0, totalTokens: 1_000_000 }) // { input: 0.15, output: 0, total: 0.15 }
 * ```
 */
export function priceUsage(entry: PriceEntry, usage: Usage): Cost | undefined {
  if (entry.kind === 'unknown') return undefined
  // Tokens read from and written to a prompt cache are part of inputTokens (OpenAI's and LiteLLM's convention), each at its own rate.
  const inputTokens = usage.inputTokens
  const cachedTokens = Math.min(usage.cachedInputTokens ?? 0, inputTokens)
  const writtenTokens = Math.min(usage.cacheCreationInputTokens ?? 0, inputTokens - cachedTokens)
  if (entry.kind === 'calculated') {
    const result = priceData().calcPrice(
      { input_tokens: inputTokens, cache_read_tokens: cachedTokens, cache_write_tokens: writtenTokens, output_tokens: usage.outputTokens },
      entry.modelId,
      { provider: entry.provider },
    )
    if (!result) return undefined
    return { input: result.input_price, output: result.output_price, total: result.total_price }
  }
  // Reasoning tokens are part of outputTokens (OpenAI's convention, which every provider maps to), so they are priced as output.
  const uncachedTokens = inputTokens - cachedTokens - writtenTokens
  const input =
    (uncachedTokens * rateAt(entry.input, inputTokens) + cachedTokens * rateAt(entry.cachedInput, inputTokens) + writtenTokens * rateAt(entry.cacheWrite, inputTokens)) / 1e6
  const output = (usage.outputTokens * rateAt(entry.output, inputTokens)) / 1e6
  return { input, output, total: input + output }
}

/**
 * The calculator the client runs after every successful provider attempt. Cost is on by default;
 * `createClient({ cost: false })` turns it off and `createClient({ cost: { prices } })` sets overrides.
 *
 * @example
 * ```ts
 * const client = createClient({ cost: { prices: { 'mock/my-model': { input: 1.0, output: 2.0, cachedInput: 0.5 } } } })
 * const reply = await client.chat({ model: 'mock/my-model', messages })
 * ```
 */
export function createCostCalculator(options: CostOptions = {}): CostCalculator {
  const book = createPriceBook(options)
  return function cost(ctx) {
    // A mock model has no price; any other call needs the data, which the route usually started loading.
    if (ctx.provider !== 'mock' && !loadedPriceData()) return loadPriceData().then(() => priceCall(ctx, book))
    priceCall(ctx, book)
  }
}

/**
 * Starts loading the price data when a call to `provider` starts, so that it is usually ready when
 * the reply arrives; the client calls it once per route. A mock provider needs no prices.
 *
 * @example
 * ```ts
 * preloadPriceData('openai') // the load runs while the request is on the network
 * ```
 */
export function preloadPriceData(provider: string): void {
  if (provider !== 'mock' && !loadedPriceData()) void loadPriceData()
}

/**
 * Sets `ctx.cost` from `ctx.usage` at the prices `book` finds, or leaves it undefined with the reason
 * in `ctx.costUnknownReason`. `requestModel` is the model the answering attempt asked for.
 *
 * @example
 * ```ts
 * priceCall(ctx, createPriceBook({ prices: { 'mock/x': { input: 1, output: 2 } } }))
 * ```
 */
export function priceCall(ctx: Context, book: PriceBook, requestModel: string = ctx.request.model): void {
  const usage = ctx.usage
  ctx.cost = undefined
  if (!usage) {
    ctx.costUnknownReason = noUsageReason
    return
  }
  try {
    let entry = book.lookup(ctx.provider, requestModel, ctx.model, ctx.apiBase)
    const responseModel = ctx.responseModel
    if (entry.kind === 'unknown' && responseModel && responseModel !== ctx.model) {
      const answered = book.lookup(ctx.provider, responseModel, responseModel, ctx.apiBase)
      if (answered.kind !== 'unknown') entry = answered
    }
    ctx.cost = priceUsage(entry, usage)
    ctx.costUnknownReason = ctx.cost
      ? undefined
      : entry.kind === 'unknown'
        ? entry.reason
        : `@pydantic/genai-prices found no price for "${ctx.model}".`
  } catch (error) {
    // Bad price data must never fail a call that succeeded; the reason says what went wrong.
    ctx.costUnknownReason = `Pricing "${ctx.model}" failed: ${error instanceof Error ? error.message : String(error)}`
  }
}

function rateAt(rate: Rate, inputTokens: number): number {
  if (typeof rate === 'number') return rate
  let price = rate.base
  for (const tier of rate.tiers) if (inputTokens > tier.start) price = tier.price
  return price
}

function fromPriceData(provider: string | undefined, model: string, apiBase: string | undefined): PriceEntry {
  const fix = `Set its price with cost: { prices: { '${provider ? `${provider}/` : ''}${model}': { input: <USD per 1M input tokens>, output: <USD per 1M output tokens> } } }.`
  if (provider === 'mock') {
    return { kind: 'unknown', reason: `Mock model "${model}" has no price. ${fix}` }
  }
  const { calcPrice, findProvider } = priceData()
  const priceProviderId = provider === undefined ? undefined : descriptorForPrefix(provider)?.priceProviderId
  // null: a user's own server (openai_like), which no price data knows, whatever its model is called.
  const priceProvider =
    priceProviderId === null
      ? undefined
      : ((provider ? findProvider({ providerId: priceProviderId ?? provider }) : findProvider({ modelId: model })) ??
        (apiBase && /^https?:/.test(apiBase) ? findProvider({ providerApiUrl: apiBase }) : undefined))
  if (!priceProvider) {
    return { kind: 'unknown', reason: `No price data for provider "${provider ?? 'unknown'}" (model "${model}") in @pydantic/genai-prices. ${fix}` }
  }
  let found: ReturnType<typeof calcPrice>
  try {
    found = calcPrice({ input_tokens: 0 }, model, { provider: priceProvider })
  } catch (error) {
    return { kind: 'unknown', reason: `The price data of "${model}" could not be read: ${error instanceof Error ? error.message : String(error)}. ${fix}` }
  }
  if (!found) {
    return { kind: 'unknown', reason: `No price data for model "${model}" of provider "${priceProvider.id}" in @pydantic/genai-prices. ${fix}` }
  }
  const prices = found.model_price
  const input = asRate(prices.input_mtok)
  const output = asRate(prices.output_mtok)
  // Prices that change by date or time of day, or charge per request, are left to genai-prices itself.
  if (Array.isArray(found.model.prices) || prices.requests_kcount !== undefined || input === undefined || output === undefined) {
    const single: PriceProvider = {
      id: priceProvider.id,
      name: priceProvider.name,
      api_pattern: priceProvider.api_pattern,
      models: [{ ...found.model, match: { equals: model.toLowerCase().trim() } }],
    }
    return { kind: 'calculated', provider: single, modelId: model }
  }
  return { kind: 'rates', source: 'data', input, cachedInput: asRate(prices.cache_read_mtok) ?? input, cacheWrite: asRate(prices.cache_write_mtok) ?? input, output }
}

function asRate(value: unknown): Rate | undefined {
  if (typeof value === 'number') return value
  if (typeof value === 'object' && value !== null && typeof (value as { base?: unknown }).base === 'number') {
    return value as Rate
  }
  return undefined
}
