/**
 * What cost adds to a call once its price is cached: the calculator alone (bundled price data and an
 * override), and a whole chat call with cost on against cost off, on a canned provider (no network).
 *
 * `npx tsx bench/cost.bench.ts` prints ns per operation. Plain `process.hrtime.bigint()` loops, the
 * median of several batches, so one slow batch (another process on the core) does not skew it.
 */
import { createClient } from '../src/client'
import type { Context } from '../src/context'
import { createCostCalculator } from '../src/cost'
import type { ChatResponse } from '../src/schema'
import type { Provider } from '../src/types'

const batches = 7

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

/** ns per call of `run`, the median over batches of `iterations` calls. */
function measure(iterations: number, run: () => void): number {
  const results: number[] = []
  for (let batch = 0; batch < batches; batch++) {
    const started = process.hrtime.bigint()
    for (let index = 0; index < iterations; index++) run()
    results.push(Number(process.hrtime.bigint() - started) / iterations)
  }
  return median(results)
}

async function measureAsync(iterations: number, run: () => Promise<unknown>): Promise<number> {
  const results: number[] = []
  for (let batch = 0; batch < batches; batch++) {
    const started = process.hrtime.bigint()
    for (let index = 0; index < iterations; index++) await run()
    results.push(Number(process.hrtime.bigint() - started) / iterations)
  }
  return median(results)
}

/** The fields the calculator reads, as the client leaves them after a provider attempt. */
function contextFor(requestModel: string, provider: string, model: string): Context {
  return {
    request: { model: requestModel, messages: [] },
    provider,
    model,
    apiBase: undefined,
    responseModel: model,
    usage: { inputTokens: 1200, outputTokens: 300, totalTokens: 1500, cachedInputTokens: 200 },
  } as unknown as Context
}

const calculate = createCostCalculator({ prices: { 'my-model': { input: 1, output: 2, cachedInput: 0.5 } } })
const dataContext = contextFor('openai/gpt-4o-mini', 'openai', 'gpt-4o-mini')
const overrideContext = contextFor('mock/my-model', 'mock', 'my-model')

const coldStarted = process.hrtime.bigint()
calculate(dataContext)
const coldNs = Number(process.hrtime.bigint() - coldStarted)
if (!dataContext.cost) throw new Error(`gpt-4o-mini should have a price: ${dataContext.costUnknownReason}`)

const warmDataNs = measure(200_000, () => calculate(dataContext))
const warmOverrideNs = measure(200_000, () => calculate(overrideContext))

const canned: ChatResponse = {
  id: 'bench', object: 'chat.completion', created: 1, model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 1200, completion_tokens: 300, total_tokens: 1500 },
}
const cannedProvider: Provider = {
  name: 'openai',
  chat: async () => canned,
  stream: () => { throw new Error('not used') },
  embed: () => { throw new Error('not used') },
}
const withCost = createClient({ providers: { openai: cannedProvider } })
const withoutCost = createClient({ providers: { openai: cannedProvider }, cost: false })
const request = { model: 'openai/gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hi' }] }
await withCost.chat(request)
await withoutCost.chat(request)
// Interleave the two clients so drift in machine load hits both alike.
const on: number[] = []
const off: number[] = []
for (let round = 0; round < 5; round++) {
  off.push(await measureAsync(5_000, () => withoutCost.chat(request)))
  on.push(await measureAsync(5_000, () => withCost.chat(request)))
}
await withCost.close()
await withoutCost.close()

const format = (ns: number) => `${ns.toFixed(0).padStart(8)} ns/op`
console.log('cost: what it adds per call once the price is cached')
console.log(`  first lookup of gpt-4o-mini (cold, once per model)  ${format(coldNs)}`)
console.log(`  calculator, bundled price data (warm)                ${format(warmDataNs)}`)
console.log(`  calculator, override price (warm)                    ${format(warmOverrideNs)}`)
console.log(`  chat call, cost off                                  ${format(median(off))}`)
console.log(`  chat call, cost on                                   ${format(median(on))}`)
console.log(`  difference per call                                  ${format(median(on) - median(off))}`)
