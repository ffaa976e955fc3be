/**
 * A non-streamed reply leaves the proxy the way the upstream sent it when every layer is built in
 * (none edits a reply), and is serialised from the call's result when a layer of the user's may
 * have changed it (src/proxy/exchange.ts). The upstream is a local server that pretty-prints its
 * JSON, so bytes written as received and bytes serialised again differ; the client is the official
 * `openai` SDK, read raw with `asResponse()`.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import OpenAI from 'openai'
import { afterEach, describe, expect, it } from 'vitest'
import { type Middleware } from 'llm-onion'
import { createProxyServer, parseConfig } from 'llm-onion/proxy'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const chatReply = {
  id: 'chatcmpl-pretty',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'gpt-4o-mini-2024-07-18',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from upstream.' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
}
const embeddingReply = {
  object: 'list',
  data: [{ object: 'embedding', index: 0, embedding: [0.25, -0.5, 1] }],
  model: 'text-embedding-3-small',
  usage: { prompt_tokens: 2, total_tokens: 2 },
}
/** What the upstream writes: its replies with two-space indentation. */
const pretty = (value: unknown) => JSON.stringify(value, null, 2)

async function prettyUpstream(): Promise<string> {
  const server: Server = createServer((request, response) => {
    request.resume()
    request.on('end', () => {
      const body = request.url?.endsWith('/embeddings') ? pretty(embeddingReply) : pretty(chatReply)
      response.writeHead(200, { 'content-type': 'application/json' }).end(body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(() => new Promise((resolve) => server.close(() => resolve())))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`
}

async function proxyOpenAI(middleware: Middleware[]): Promise<OpenAI> {
  const upstream = await prettyUpstream()
  const proxy = await createProxyServer({
    config: parseConfig({
      model_list: [
        { model_name: 'chat', litellm_params: { model: 'openai/gpt-4o-mini', api_base: upstream, api_key: 'sk-upstream' } },
        { model_name: 'embed', litellm_params: { model: 'openai/text-embedding-3-small', api_base: upstream, api_key: 'sk-upstream' } },
      ],
    }),
    middleware,
  })
  const { url } = await proxy.listen({ port: 0 })
  cleanups.push(() => proxy.close())
  return new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 })
}

const messages = [{ role: 'user' as const, content: 'Hi' }]

describe('the body of a non-streamed reply', () => {
  it('is what the upstream sent, byte for byte, when every layer is built in', async () => {
    const openai = await proxyOpenAI([])
    const chat = await openai.chat.completions.create({ model: 'chat', messages }).asResponse()
    expect(await chat.text()).toBe(pretty(chatReply))
    const embedding = await openai.embeddings.create({ model: 'embed', input: 'Hi', encoding_format: 'float' }).asResponse()
    expect(await embedding.text()).toBe(pretty(embeddingReply))
  })

  it('reads as the same reply through the SDK', async () => {
    const openai = await proxyOpenAI([])
    expect(await openai.chat.completions.create({ model: 'chat', messages })).toEqual(chatReply)
  })

  it('is serialised again, with the change, when a layer of yours edits the reply in place', async () => {
    const shout: Middleware = async function shout(ctx, next) {
      await next()
      const message = ctx.chatResponse?.choices[0]?.message
      if (message?.content) message.content = message.content.toUpperCase()
    }
    const openai = await proxyOpenAI([shout])
    const chat = await openai.chat.completions.create({ model: 'chat', messages }).asResponse()
    const text = await chat.text()
    expect(text).toBe(JSON.stringify({ ...chatReply, choices: [{ ...chatReply.choices[0], message: { role: 'assistant', content: 'HELLO FROM UPSTREAM.' } }] }))
  })

  it('is the new reply when a layer of yours replaces it', async () => {
    const replace: Middleware = async function replace(ctx, next) {
      await next()
      ctx.response = { ...ctx.chatResponse!, choices: [{ index: 0, message: { role: 'assistant', content: 'Replaced.' }, finish_reason: 'stop' }] }
    }
    const openai = await proxyOpenAI([replace])
    const reply = await openai.chat.completions.create({ model: 'chat', messages })
    expect(reply.choices[0]?.message.content).toBe('Replaced.')
  })

  it('carries base64 embeddings encoded by the proxy when the SDK asks for its default', async () => {
    const openai = await proxyOpenAI([])
    const reply = await openai.embeddings.create({ model: 'embed', input: 'Hi' })
    expect(reply.data[0]?.embedding).toEqual([0.25, -0.5, 1])
  })
})
