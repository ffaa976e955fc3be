/**
 * A client that goes away before its answer is complete cancels its call (src/proxy/exchange.ts):
 * the upstream request is closed and the layers see the call end as cancelled, for chat and embeddings.
 * The proxy runs in-process; its OpenAI deployment points at a local fake that never answers.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { isAbortError, type Context, type Middleware } from 'llm-onion'
import { createProxyServer, parseConfig } from 'llm-onion/proxy'
import { startOpenAIFake } from '../../src/testing/openai-server'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function hangingUpstreamProxy() {
  const fake = await startOpenAIFake()
  cleanups.push(() => fake.close())
  const finished: Context[] = []
  const watch: Middleware = async function watch(ctx, next) {
    try {
      await next()
    } finally {
      finished.push(ctx)
    }
  }
  const proxy = await createProxyServer({
    config: parseConfig({ model_list: [{ model_name: 'stuck', litellm_params: { model: 'openai/gpt-4o', api_base: fake.url, api_key: 'sk-upstream' } }] }),
    middleware: [watch],
  })
  const { url } = await proxy.listen({ port: 0 })
  cleanups.push(() => proxy.close())
  return { fake, url, finished }
}

describe('a client that disconnects', () => {
  it.each([
    ['chat completion', '/v1/chat/completions', { model: 'stuck', messages: [{ role: 'user', content: 'never answered' }] }],
    ['embedding', '/v1/embeddings', { model: 'stuck', input: 'never answered' }],
  ])('cancels its %s: the upstream request is closed and the call ends as cancelled', async (_name, path, body) => {
    const { fake, url, finished } = await hangingUpstreamProxy()
    fake.enqueue({ kind: 'hang' })
    const upstreamClosed = fake.waitForDisconnect()
    const controller = new AbortController()
    const answer = fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: controller.signal })
    await fake.waitForRequests(1)
    controller.abort()
    await expect(answer).rejects.toThrow()
    await upstreamClosed
    await expect.poll(() => finished.length).toBe(1)
    expect(isAbortError(finished[0]!.error)).toBe(true)
    expect(finished[0]!.toEvent().status).toBe('cancelled')
  })
})
