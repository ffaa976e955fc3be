/**
 * PLACEHOLDER — being replaced by the cost work (issue 4). The client calls the calculator after
 * every successful provider response; it sets `ctx.cost`, or `ctx.costUnknownReason` when it cannot.
 */
import type { Context } from './context'

export interface CostOptions {
  /** Per-model prices in USD per million tokens; they win over the built-in price data. */
  prices?: Record<string, { input: number; output: number; cachedInput?: number }>
}

export type CostCalculator = (ctx: Context) => void

export function createCostCalculator(_options: CostOptions = {}): CostCalculator {
  return (ctx) => {
    ctx.costUnknownReason = 'price data not loaded yet'
  }
}
