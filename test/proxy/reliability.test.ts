/**
 * LiteLLM's reliability settings as the proxy's layers (src/proxy/reliability.ts), in-process:
 * num_retries retries, context_window_fallbacks only on a too-long prompt, fallbacks on the rest,
 * drop_params leaving out parameters outside OpenAI's chat API.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createClient, type Client } from '../../src/index'
import { ContextWindowExceededError, InternalServerError } from '../../src/errors'
import { reliabilityLayers, type ReliabilitySettings } from '../../src/proxy/reliability'
import type { ChatRequest, ChatResponse } from '../../src/schema'
import type { Provider } from '../../src/types'

const messages = [{ role: 'user' as const, content: 'hello' }]
let client: Client | undefined
afterEach(async () => {
  await client?.close()
  client = undefined
})

/** Fails each model's first `failures[model]` calls with the error given; records every request. */
function scriptedProvider(failures: Record<string, { count: number; error: () => Error }>) {
  const requests: Array<{ model: string; request: ChatRequest }> = []
  const provider: Provider = {
    name: 'scripted',
    async chat(request, call) {
      requests.push({ model: call.model, request: { ...request } })
      const failure = failures[call.model]
      if (failure && failure.count > 0) {
        failure.count--
        throw failure.error()
      }
      return { id: 'x', object: 'chat.completion', created: 0, model: call.model, choices: [{ index: 0, message: { role: 'assistant', content: `from ${call.model}` }, finish_reason: 'stop' }] } satisfies ChatResponse
    },
    stream: () => (async function* () {})(),
    embed: () => Promise.reject(new Error('not used')),
  }
  return { provider, requests }
}

function clientWith(settings: Partial<ReliabilitySettings>, provider: Provider) {
  client = createClient({ providers: { scripted: provider } })
  client.use(...reliabilityLayers({ fallbacks: {}, contextWindowFallbacks: {}, dropParams: false, ...settings }).layers)
  return client
}

describe('reliability settings as layers', () => {
  it('num_retries tries again after a server error', async () => {
    const { provider, requests } = scriptedProvider({ a: { count: 1, error: () => new InternalServerError('boom', { status: 500 }) } })
    const reply = await clientWith({ numRetries: 1 }, provider).chat({ model: 'scripted/a', messages })
    expect(reply.choices[0]!.message.content).toBe('from a')
    expect(requests.map((entry) => entry.model)).toEqual(['a', 'a'])
  })

  it('context_window_fallbacks move on only for a prompt too long for the model; fallbacks take the other failures', async () => {
    const tooLong = () => new ContextWindowExceededError('prompt too long', { status: 400 })
    const serverError = () => new InternalServerError('boom', { status: 500 })
    const settings = { contextWindowFallbacks: { 'scripted/small': ['scripted/large'] }, fallbacks: { 'scripted/small': ['scripted/other'] } }
    const first = scriptedProvider({ small: { count: 1, error: tooLong } })
    expect((await clientWith(settings, first.provider).chat({ model: 'scripted/small', messages })).choices[0]!.message.content).toBe('from large')
    await client!.close()
    const second = scriptedProvider({ small: { count: 1, error: serverError } })
    expect((await clientWith(settings, second.provider).chat({ model: 'scripted/small', messages })).choices[0]!.message.content).toBe('from other')
  })

  it('drop_params leaves out parameters outside OpenAI chat API and keeps the rest', async () => {
    const { provider, requests } = scriptedProvider({})
    await clientWith({ dropParams: true }, provider).chat({ model: 'scripted/a', messages, temperature: 0.3, safe_prompt: true } as ChatRequest)
    expect(requests[0]!.request).not.toHaveProperty('safe_prompt')
    expect(requests[0]!.request.temperature).toBe(0.3)
  })

  it('without drop_params such parameters go on to the provider', async () => {
    const { provider, requests } = scriptedProvider({})
    await clientWith({}, provider).chat({ model: 'scripted/a', messages, safe_prompt: true } as ChatRequest)
    expect(requests[0]!.request).toHaveProperty('safe_prompt', true)
  })
})
