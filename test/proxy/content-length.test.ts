/**
 * The proxy's events cut long content as the library does (`redact.maxLength`, 100,000 characters),
 * and LiteLLM's `MAX_STRING_LENGTH_PROMPT_IN_DB` sets the length, as a LiteLLM user raised it for
 * long transcripts.
 */
import OpenAI from 'openai'
import { afterEach, describe, expect, it } from 'vitest'
import type { CallEvent } from '../../src/event'
import { parseConfig } from '../../src/proxy/config'
import { buildProxyServer, type ProxyServer } from '../../src/proxy/server'

const config = () => parseConfig({ model_list: [{ model_name: 'm', litellm_params: { model: 'mock/m' } }] })

let proxy: ProxyServer | undefined
afterEach(async () => {
  await proxy?.close()
  proxy = undefined
  delete process.env.MAX_STRING_LENGTH_PROMPT_IN_DB
})

/** The prompt content of the event of one call through the proxy, asked with the official SDK. */
async function eventPromptOf(prompt: string): Promise<string> {
  const events: CallEvent[] = []
  proxy = await buildProxyServer({
    config: config(),
    middleware: [
      async function keepEvent(ctx, next) {
        await next()
        events.push(ctx.toEvent())
      },
    ],
  })
  const { url } = await proxy.listen({ port: 0 })
  const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 })
  await openai.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: prompt }] })
  return events[0]!.messages![0]!.content as string
}

describe('long content in the proxy', () => {
  const prompt = 'p'.repeat(150_000)

  it('is cut at 100,000 characters unless MAX_STRING_LENGTH_PROMPT_IN_DB says otherwise', async () => {
    const content = await eventPromptOf(prompt)
    expect(content).toBe(`${'p'.repeat(50_000)}…[50000 characters left out (redact.maxLength)]…${'p'.repeat(50_000)}`)
  })

  it('keeps what MAX_STRING_LENGTH_PROMPT_IN_DB allows', async () => {
    process.env.MAX_STRING_LENGTH_PROMPT_IN_DB = '200000'
    expect(await eventPromptOf(prompt)).toBe(prompt)
  })

  it('refuses to start on a MAX_STRING_LENGTH_PROMPT_IN_DB that is no whole number above 0, naming it', async () => {
    for (const value of ['many', '0', '2.5']) {
      process.env.MAX_STRING_LENGTH_PROMPT_IN_DB = value
      await expect(buildProxyServer({ config: config() })).rejects.toThrow(/MAX_STRING_LENGTH_PROMPT_IN_DB is .*; set it to a whole number of characters above 0/)
    }
  })
})
