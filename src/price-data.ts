/**
 * The bundled price data of `@pydantic/genai-prices`, loaded on the first call that needs a price,
 * not when `llm-onion` is imported: it is a large module, and a call to a mock model (or with
 * `cost: false`) never needs it. The client starts loading it when a call to a priced provider
 * starts and waits for it only if the reply arrives first; from then on prices are read
 * synchronously, with no extra async step per call.
 */
import { createRequire } from 'node:module'

type PriceDataModule = typeof import('@pydantic/genai-prices')

let loading: Promise<PriceDataModule | undefined> | undefined
let loaded: PriceDataModule | undefined

/**
 * Starts loading the price data (once per process). Never rejects: a failed load resolves with
 * undefined, and the synchronous {@link priceData} then throws the reason where a price is asked for.
 *
 * @example
 * ```ts
 * await loadPriceData()
 * priceData().findProvider({ providerId: 'openai' })
 * ```
 */
export function loadPriceData(): Promise<PriceDataModule | undefined> {
  loading ??= import('@pydantic/genai-prices').then(
    (data) => (loaded = data),
    () => undefined,
  )
  return loading
}

/**
 * The price data if it has finished loading, else undefined.
 *
 * @example
 * ```ts
 * if (!loadedPriceData()) await loadPriceData()
 * ```
 */
export function loadedPriceData(): PriceDataModule | undefined {
  return loaded
}

/**
 * The price data now. Callers that can wait use {@link loadPriceData} first; a synchronous caller
 * that comes before it has finished (a direct `contextWindowOf()`, a price asked for outside a
 * call) loads it synchronously instead of answering wrongly.
 *
 * @example
 * ```ts
 * const provider = priceData().findProvider({ providerId: 'openai' })
 * ```
 */
export function priceData(): PriceDataModule {
  if (loaded) return loaded
  try {
    loaded = createRequire(import.meta.url)('@pydantic/genai-prices') as PriceDataModule
  } catch (error) {
    throw new Error(
      `The price data (@pydantic/genai-prices) could not be loaded: ${error instanceof Error ? error.message : String(error)}. It ships with llm-onion; reinstall the package (npm install llm-onion) if node_modules is incomplete.`,
      { cause: error },
    )
  }
  return loaded
}
