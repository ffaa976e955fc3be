/**
 * Context-window sizes (how many tokens a model accepts), so that `fallback()` moves to a larger
 * model after a `ContextWindowExceededError`. Sizes come from `@pydantic/genai-prices`' bundled
 * model data, a short table for models it lists without one, and the caller's own sizes first.
 */
import { priceData } from './price-data'
import { providerForBareModel } from './providers/router'

/** Models the price data lists without a window (Google's published sizes). */
const missingFromPriceData: Readonly<Record<string, number>> = {
  'gemini-2.5-pro': 1_048_576,
}

const maxCachedModels = 1000
const cache = new Map<string, number | undefined>()

/**
 * The context window of `model` (`'openai/gpt-4o-mini'`, `'gpt-4o-mini'`), or undefined when it is
 * not known. `sizes` wins, matched with or without the provider prefix.
 *
 * @example
 * ```ts
 * contextWindowOf('openai/gpt-4o-mini')                       // 128000
 * contextWindowOf('mock/small', { 'mock/small': 4096 })       // 4096
 * ```
 */
export function contextWindowOf(model: string, sizes: Readonly<Record<string, number>> = {}): number | undefined {
  const slash = model.indexOf('/')
  const bare = slash > 0 ? model.slice(slash + 1) : model
  const given = sizes[model] ?? sizes[bare]
  if (given !== undefined) return given
  if (cache.has(model)) return cache.get(model)
  if (cache.size >= maxCachedModels) cache.clear()
  const found = fromPriceData(slash > 0 ? model.slice(0, slash) : providerForBareModel(model), bare)
  cache.set(model, found)
  return found
}

function fromPriceData(provider: string | undefined, model: string): number | undefined {
  if (!provider || provider === 'mock') return undefined
  const table = missingFromPriceData[model]
  if (table !== undefined) return table
  const { calcPrice, findProvider } = priceData()
  const priceProvider = findProvider({ providerId: provider })
  if (!priceProvider) return undefined
  try {
    return calcPrice({ input_tokens: 0 }, model, { provider: priceProvider })?.model.context_window
  } catch {
    // Unreadable price data for one model only means its window is unknown.
    return undefined
  }
}
