/**
 * Tokens written to a prompt cache are priced at the cache-write rate where the price data has one
 * (`cache_write_mtok`), reads at the cache-read rate, the rest of the input at the input rate. Over the
 * real AWS SDK against the local Bedrock fake (Converse reports `cacheWriteInputTokens`), and the
 * openai SDK against the local OpenAI fake answering with LiteLLM's usage fields; the rates are read
 * from the price data here, not through src/cost.ts.
 */
import { findProvider } from '@pydantic/genai-prices'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { bedrock, createClient, openai, type CallEvent, type Client } from '../src/index'
import { createRecorder } from '../src/testing/recorder'
import { startBedrockFake, type BedrockFake } from '../src/testing/bedrock-server'
import { startOpenAIFake, type OpenAIFake } from '../src/testing/openai-server'

const messages = [{ role: 'user' as const, content: 'A long prompt, cached.' }]

/** The price data's flat rates (USD per million tokens) of one model, as the data lists them. */
function ratesOf(providerId: string, modelId: string) {
  const model = findProvider({ providerId })!.models.find((candidate) => candidate.id === modelId)!
  const prices = model.prices as Record<string, unknown>
  const rate = (name: string) => {
    expect(typeof prices[name], `${modelId} ${name} is a flat rate`).toBe('number')
    return prices[name] as number
  }
  return { input: rate('input_mtok'), cacheRead: rate('cache_read_mtok'), cacheWrite: rate('cache_write_mtok'), output: rate('output_mtok') }
}

describe('cache writes priced at the cache-write rate: bedrock/ (Converse)', () => {
  // bedrock/anthropic.claude-3-7-sonnet-20250219-v1:0 is the price data's `regional.anthropic.claude-3-7-sonnet-20250219-v1:0` (provider aws).
  const model = 'bedrock/anthropic.claude-3-7-sonnet-20250219-v1:0'
  const rates = ratesOf('aws', 'regional.anthropic.claude-3-7-sonnet-20250219-v1:0')
  const usage = { inputTokens: 1_000, cacheReadInputTokens: 8_000, cacheWriteInputTokens: 2_000, outputTokens: 500 }
  let fake: BedrockFake
  let client: Client
  let recorder: ReturnType<typeof createRecorder>
  beforeEach(async () => {
    fake = await startBedrockFake()
    recorder = createRecorder()
    client = createClient({ providers: { bedrock: bedrock({ endpoint: fake.url, region: 'us-east-1', ...fake.credentials }, {}) } }).use(recorder.layer)
  })
  afterEach(async () => {
    await client.close()
    await fake.close()
  })

  it('the rates differ, so the test can tell them apart', () => {
    expect(rates.cacheWrite).toBeGreaterThan(rates.input)
    expect(rates.cacheRead).toBeLessThan(rates.input)
  })

  for (const streaming of [false, true]) {
    it(`a ${streaming ? 'streamed' : 'chat'} call costs write rate × written tokens + read rate × read tokens + input rate × the rest`, async () => {
      fake.enqueue({ kind: 'chat', text: 'cached answer', usage })
      if (streaming) for await (const _chunk of client.stream({ model, messages })) void _chunk
      else await client.chat({ model, messages })
      const event = recorder.events[0] as CallEvent
      expect(event.usage).toMatchObject({ inputTokens: 11_000, cachedInputTokens: 8_000, cacheCreationInputTokens: 2_000, outputTokens: 500 })
      const input = (1_000 * rates.input + 8_000 * rates.cacheRead + 2_000 * rates.cacheWrite) / 1e6
      const output = (500 * rates.output) / 1e6
      expect(event.cost!.input).toBeCloseTo(input, 12)
      expect(event.cost!.output).toBeCloseTo(output, 12)
      expect(event.cost!.total).toBeCloseTo(input + output, 12)
    })
  }

  it('2,000 written tokens cost 2,000 × (write rate − input rate) more than 2,000 plain input tokens', async () => {
    fake.enqueue({ kind: 'chat', usage })
    fake.enqueue({ kind: 'chat', usage: { inputTokens: 3_000, cacheReadInputTokens: 8_000, outputTokens: 500 } })
    await client.chat({ model, messages })
    await client.chat({ model, messages })
    const [written, plain] = recorder.events as CallEvent[]
    expect(plain!.usage!.cacheCreationInputTokens).toBeUndefined()
    expect(written!.cost!.total - plain!.cost!.total).toBeCloseTo((2_000 * (rates.cacheWrite - rates.input)) / 1e6, 12)
  })
})

describe('cache writes priced at the cache-write rate: an OpenAI-compatible server reporting LiteLLM’s usage fields', () => {
  let fake: OpenAIFake
  let client: Client
  let recorder: ReturnType<typeof createRecorder>
  beforeEach(async () => {
    fake = await startOpenAIFake()
    recorder = createRecorder()
    client = createClient({
      providers: { openai: openai({ apiKey: 'sk-cache-test', baseURL: fake.url }) },
      cost: { prices: { 'openai/my-cached-model': { input: 2, output: 8, cachedInput: 0.2, cacheWrite: 2.5 } } },
    }).use(recorder.layer)
  })
  afterEach(async () => {
    await client.close()
    await fake.close()
  })

  it.each([
    ['prompt_tokens_details.cache_creation_tokens', { prompt_tokens: 11_000, completion_tokens: 500, total_tokens: 11_500, prompt_tokens_details: { cached_tokens: 8_000, cache_creation_tokens: 2_000 } }],
    ['cache_creation_input_tokens', { prompt_tokens: 11_000, completion_tokens: 500, total_tokens: 11_500, prompt_tokens_details: { cached_tokens: 8_000 }, cache_creation_input_tokens: 2_000 }],
  ])('reads the written tokens from %s and prices them at the override’s cacheWrite', async (_field, usage) => {
    fake.enqueue({ kind: 'chat', content: 'ok', usage })
    await client.chat({ model: 'openai/my-cached-model', messages })
    const event = recorder.events[0] as CallEvent
    expect(event.usage).toMatchObject({ inputTokens: 11_000, cachedInputTokens: 8_000, cacheCreationInputTokens: 2_000 })
    expect(event.cost!.input).toBeCloseTo((1_000 * 2 + 8_000 * 0.2 + 2_000 * 2.5) / 1e6, 12)
    expect(event.cost!.output).toBeCloseTo((500 * 8) / 1e6, 12)
  })
})
