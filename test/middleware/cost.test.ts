import { calcPrice, findProvider } from '@pydantic/genai-prices'
import { describe, expect, it } from 'vitest'
import {
  createClient,
  ServiceUnavailableError,
  ValidationError,
  type Client,
  type Provider,
  type ProviderCall,
  type ProviderUsage,
} from 'llm-onion'
import { BudgetExceededError, cost, fallback } from 'llm-onion/middleware'
import { createRecorder } from 'llm-onion/testing'
import { chatReply, closeAfterEach, notUsed } from './layer-test-kit'
import { createPriceBook, priceUsage } from '../../src/cost'

const messages = [{ role: 'user' as const, content: 'hello cost' }]
let client: Client | undefined
closeAfterEach(() => client)

/** A stand-in for a real provider (no network) that reports the given usage. */
function reporting(name: string, usage: ProviderUsage): Provider & { calls: ProviderCall[] } {
  const calls: ProviderCall[] = []
  return {
    name,
    calls,
    async chat(_request, call) {
      calls.push(call)
      return chatReply(call.model, 'ok', { id: 'priced', usage })
    },
    stream: notUsed,
    embed: notUsed,
  }
}

const million = { prompt_tokens: 1_000_000, completion_tokens: 1_000_000, total_tokens: 2_000_000 }

describe('cost', () => {
  it('prices gpt-4o-mini at $0.15 per million input tokens and $0.60 per million output tokens', async () => {
    const recorder = createRecorder()
    client = createClient({ providers: { openai: reporting('openai', million) } }).use(recorder.layer)
    await client.chat({ model: 'openai/gpt-4o-mini', messages })
    const event = recorder.events[0]!
    expect(event.cost!.input).toBeCloseTo(0.15, 10)
    expect(event.cost!.output).toBeCloseTo(0.6, 10)
    expect(event.cost!.total).toBeCloseTo(0.75, 10)
    expect(event.costUnknownReason).toBeUndefined()
  })

  it('prices cached input tokens at the cached rate', async () => {
    const usage = { ...million, completion_tokens: 0, total_tokens: 1_000_000, prompt_tokens_details: { cached_tokens: 400_000 } }
    let seen: { input: number } | undefined
    client = createClient({ providers: { openai: reporting('openai', usage) } }).use(async (ctx, next) => {
      await next()
      seen = ctx.cost
    })
    await client.chat({ model: 'gpt-4o-mini', messages })
    // 600k uncached at $0.15/M plus 400k cached at $0.075/M
    expect(seen!.input).toBeCloseTo(0.09 + 0.03, 10)
  })

  it('prices reasoning tokens as output tokens, which they are part of', async () => {
    const usage = { prompt_tokens: 0, completion_tokens: 1_000_000, total_tokens: 1_000_000, completion_tokens_details: { reasoning_tokens: 900_000 } }
    let total: number | undefined
    client = createClient({ providers: { openai: reporting('openai', usage) } }).use(async (ctx, next) => {
      await next()
      total = ctx.cost?.total
    })
    await client.chat({ model: 'openai/o3-mini', messages })
    expect(total).toBeCloseTo(4.4, 10)
  })

  it('uses override prices over the built-in data, matched with or without the provider prefix', async () => {
    const costs: number[] = []
    for (const key of ['openai/gpt-4o-mini', 'gpt-4o-mini']) {
      client = createClient({ providers: { openai: reporting('openai', million) }, cost: { prices: { [key]: { input: 1, output: 2 } } } })
      client.use(async (ctx, next) => {
        await next()
        costs.push(ctx.cost!.total)
      })
      await client.chat({ model: 'openai/gpt-4o-mini', messages })
      await client.close()
    }
    expect(costs).toEqual([3, 3])
  })

  it('prices a mock model given an override, cached input at its cachedInput rate', async () => {
    const usage = { prompt_tokens: 1_000_000, completion_tokens: 1_000_000, total_tokens: 2_000_000, prompt_tokens_details: { cached_tokens: 1_000_000 } }
    client = createClient({ providers: { mock: reporting('mock', usage) }, cost: { prices: { 'my-model': { input: 1.0, output: 2.0, cachedInput: 0.5 } } } })
    const recorder = createRecorder()
    client.use(recorder.layer)
    await client.chat({ model: 'mock/my-model', messages })
    expect(recorder.events[0]!.cost).toEqual({ input: 0.5, output: 2, total: 2.5 })
  })

  it('leaves cost undefined with a reason for a mock model without an override', async () => {
    const recorder = createRecorder()
    client = createClient().use(recorder.layer)
    await client.chat({ model: 'mock/x', messages })
    const event = recorder.events[0]!
    expect(event.cost).toBeUndefined()
    expect(event.costUnknownReason).toMatch(/Mock model "x" has no price/)
    expect(event.costUnknownReason).toMatch(/cost: \{ prices:/)
  })

  it('leaves cost undefined with a reason for a model the price data does not know', async () => {
    let seen: { cost?: unknown; reason?: string } = {}
    client = createClient({ providers: { openai: reporting('openai', million) } }).use(async (ctx, next) => {
      await next()
      seen = { cost: ctx.cost, reason: ctx.costUnknownReason }
    })
    await client.chat({ model: 'openai/gpt-unreleased-9', messages })
    expect(seen.cost).toBeUndefined()
    expect(seen.reason).toMatch(/No price data for model "gpt-unreleased-9" of provider "openai"/)
  })

  it('says so when the provider reported no usage', async () => {
    let reason: string | undefined
    client = createClient({ providers: { openai: reporting('openai', undefined as unknown as ProviderUsage) } }).use(async (ctx, next) => {
      await next()
      reason = ctx.costUnknownReason
    })
    await client.chat({ model: 'openai/gpt-4o-mini', messages })
    expect(reason).toMatch(/no token usage/)
  })

  it('computes no cost at all with createClient({ cost: false })', async () => {
    const recorder = createRecorder()
    client = createClient({ providers: { openai: reporting('openai', million) }, cost: false }).use(recorder.layer)
    await client.chat({ model: 'openai/gpt-4o-mini', messages })
    expect(recorder.events[0]!.cost).toBeUndefined()
    expect(recorder.events[0]!.costUnknownReason).toBeUndefined()
  })

  it('prices every token-priced model of OpenAI, Google and Anthropic as genai-prices calcPrice does, cache reads and writes included', () => {
    const book = createPriceBook()
    const usage = { inputTokens: 250_000, cachedInputTokens: 50_000, cacheCreationInputTokens: 20_000, outputTokens: 3000, totalTokens: 253_000 }
    let compared = 0
    for (const providerId of ['openai', 'google', 'anthropic']) {
      for (const model of findProvider({ providerId })!.models) {
        const expected = calcPrice({ input_tokens: 250_000, cache_read_tokens: 50_000, cache_write_tokens: 20_000, output_tokens: 3000 }, model.id, { providerId })
        if (!expected) continue
        const ours = priceUsage(book.lookup(providerId, model.id, model.id), usage)
        expect(ours, `${providerId}/${model.id}`).toBeDefined()
        expect(ours!.input, `${providerId}/${model.id} input`).toBeCloseTo(expected.input_price, 12)
        expect(ours!.output, `${providerId}/${model.id} output`).toBeCloseTo(expected.output_price, 12)
        compared++
      }
    }
    expect(compared).toBeGreaterThan(100)
  })

  it('applies the higher tier of a tiered price above its threshold (gemini-2.5-pro over 200k tokens)', () => {
    const book = createPriceBook()
    const entry = book.lookup('gemini', 'gemini/gemini-2.5-pro', 'gemini-2.5-pro')
    const small = priceUsage(entry, { inputTokens: 100_000, outputTokens: 0, totalTokens: 100_000 })!
    const large = priceUsage(entry, { inputTokens: 300_000, outputTokens: 0, totalTokens: 300_000 })!
    expect(small.input).toBeCloseTo(0.1 * 1.25, 10)
    expect(large.input).toBeCloseTo(0.3 * 2.5, 10)
  })

  it('looks a model price up once and reuses it', () => {
    const book = createPriceBook()
    expect(book.lookup('openai', 'openai/gpt-4o-mini', 'gpt-4o-mini')).toBe(book.lookup('openai', 'openai/gpt-4o-mini', 'gpt-4o-mini'))
  })

  it('rejects bad prices with an error naming the field', () => {
    expect(() => createClient({ cost: { prices: { 'my-model': { input: -1, output: 2 } } } })).toThrow(ValidationError)
    expect(() => createClient({ cost: { prices: { 'my-model': { input: -1, output: 2 } } } })).toThrow(/prices\.my-model\.input/)
  })
})

describe('cost() layer', () => {
  it('prices the calls through it with its own prices, over the client price', async () => {
    let total: number | undefined
    client = createClient({ providers: { openai: reporting('openai', million) } }).use(
      async (ctx, next) => {
        await next()
        total = ctx.cost?.total
      },
      cost({ prices: { 'gpt-4o-mini': { input: 0.1, output: 0.2 } } }),
    )
    await client.chat({ model: 'openai/gpt-4o-mini', messages })
    expect(total).toBeCloseTo(0.3, 10)
  })

  it('keeps the client price for models it has no price for', async () => {
    let total: number | undefined
    client = createClient({ providers: { openai: reporting('openai', million) }, cost: { prices: { 'gpt-4o-mini': { input: 5, output: 5 } } } }).use(
      async (ctx, next) => {
        await next()
        total = ctx.cost?.total
      },
      cost({ prices: { 'other-model': { input: 0.1, output: 0.2 } } }),
    )
    await client.chat({ model: 'openai/gpt-4o-mini', messages })
    expect(total).toBe(10)
  })

  it('prices from the built-in data when the client has cost turned off', async () => {
    let total: number | undefined
    client = createClient({ providers: { openai: reporting('openai', million) }, cost: false }).use(async (ctx, next) => {
      await next()
      total = ctx.cost?.total
    }, cost())
    await client.chat({ model: 'openai/gpt-4o-mini', messages })
    expect(total).toBeCloseTo(0.75, 10)
  })

  it('prices the fallback model that answered, not the primary', async () => {
    const downProvider: Provider = {
      name: 'down',
      chat: async () => { throw new ServiceUnavailableError('down') },
      stream: notUsed,
      embed: notUsed,
    }
    let total: number | undefined
    client = createClient({ providers: { down: downProvider, mock: reporting('mock', million) } }).use(
      async (ctx, next) => {
        await next()
        total = ctx.cost?.total
      },
      cost({ prices: { 'down/primary': { input: 100, output: 100 }, 'mock/backup': { input: 1, output: 1 } } }),
      fallback({ models: ['mock/backup'] }),
    )
    await client.chat({ model: 'down/primary', messages })
    expect(total).toBe(2)
  })

  it('refuses a call over maxCostUsd before sending it', async () => {
    const provider = reporting('mock', million)
    client = createClient({ providers: { mock: provider } }).use(cost({ prices: { 'mock/pricey': { input: 1000, output: 1000 } }, maxCostUsd: 0.01 }))
    const error = await client.chat({ model: 'mock/pricey', messages, max_tokens: 100 }).catch((thrown: unknown) => thrown)
    expect(error).toBeInstanceOf(BudgetExceededError)
    expect((error as BudgetExceededError).estimatedCostUsd).toBeGreaterThan(0.01)
    expect((error as Error).message).toMatch(/maxCostUsd: 0.01/)
    expect(provider.calls).toHaveLength(0)
  })

  it('lets a call within maxCostUsd through', async () => {
    const provider = reporting('mock', million)
    client = createClient({ providers: { mock: provider } }).use(cost({ prices: { 'mock/cheap': { input: 0.01, output: 0.01 } }, maxCostUsd: 0.01 }))
    await client.chat({ model: 'mock/cheap', messages, max_tokens: 100 })
    expect(provider.calls).toHaveLength(1)
  })

  it('rejects bad options with an error naming the field', () => {
    expect(() => cost({ maxCostUsd: -1 })).toThrow(/cost\(\) options: maxCostUsd/)
  })
})
