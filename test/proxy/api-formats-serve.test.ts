/**
 * `llm-onion serve` as a user starts it, without a config (the embedded mock models), answering the
 * Anthropic SDK on `/v1/messages` and the Vercel AI SDK's default provider on `/v1/responses`.
 */
import Anthropic from '@anthropic-ai/sdk'
import { createOpenAI } from '@ai-sdk/openai'
import { generateText } from 'ai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnProxy, type SpawnedProxy } from './fixtures/spawn-proxy'

let proxy: SpawnedProxy

beforeAll(async () => {
  // No provider keys: only the mock models are served.
  proxy = await spawnProxy([], { OPENAI_API_KEY: '', GEMINI_API_KEY: '', GOOGLE_API_KEY: '' })
})

afterAll(async () => {
  await proxy?.stop()
})

describe('llm-onion serve speaks the Messages and Responses APIs', () => {
  it('answers the Anthropic SDK for a mock model', async () => {
    const anthropic = new Anthropic({ baseURL: proxy.url, apiKey: 'unused', maxRetries: 0 })
    const message = await anthropic.messages.create({ model: 'mock/claude', max_tokens: 64, messages: [{ role: 'user', content: 'Hello serve' }] })
    expect(message.content).toEqual([{ type: 'text', text: 'This is a mock reply to: Hello serve' }])
  })

  it('answers the Vercel AI SDK default provider for a mock model', async () => {
    const openai = createOpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'unused' })
    const result = await generateText({ model: openai('mock/gpt'), prompt: 'Hello serve', maxRetries: 0 })
    expect(result.text).toBe('This is a mock reply to: Hello serve')
  })
})
