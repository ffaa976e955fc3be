/**
 * Routing inside the proxy: several deployments of one model name (weighted pick, fallback on a
 * failing deployment), wildcards, deployment defaults, upstream connections kept alive, and the
 * upstream transport (undici by default, the SDK on request). The proxy runs in-process with the
 * official `openai` SDK as its client; OpenAI deployments point at local fakes.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import OpenAI from 'openai'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type Context, type Middleware } from 'llm-onion'
import { createProxyServer, parseConfig, type ProxyServer } from 'llm-onion/proxy'
import { startOpenAIFake, type OpenAIFake } from '../../src/testing/openai-server'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  vi.restoreAllMocks()
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** Starts the proxy on a free port with `modelList`; `seen` collects the context of every finished call. */
async function proxyWith(modelList: unknown[]): Promise<{ openai: OpenAI; seen: Context[]; proxy: ProxyServer }> {
  const seen: Context[] = []
  const watch: Middleware = async function watch(ctx, next) {
    try {
      await next()
    } finally {
      seen.push(ctx)
    }
  }
  const proxy = await createProxyServer({ config: parseConfig({ model_list: modelList }), middleware: [watch] })
  const { url } = await proxy.listen({ port: 0 })
  cleanups.push(() => proxy.close())
  return { openai: new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 }), seen, proxy }
}

async function openAIFake(): Promise<OpenAIFake> {
  const fake = await startOpenAIFake()
  cleanups.push(() => fake.close())
  return fake
}

const messages = [{ role: 'user' as const, content: 'route me' }]

describe('the proxy router', () => {
  it('falls back to the next deployment of a model name when one answers 503, as one call to the layers', async () => {
    const fake = await openAIFake()
    fake.enqueue({ kind: 'error', status: 503, message: 'overloaded' })
    const { openai, seen } = await proxyWith([
      { model_name: 'smart', litellm_params: { model: 'openai/gpt-4o', api_base: fake.url, api_key: 'sk-upstream' }, model_info: { region: 'us' } },
      { model_name: 'smart', litellm_params: { model: 'mock/smart', mock_response: 'from the second deployment' }, model_info: { region: 'eu' } },
    ])
    vi.spyOn(Math, 'random').mockReturnValue(0) // the weighted pick takes the first deployment
    const reply = await openai.chat.completions.create({ model: 'smart', messages })
    expect(reply.choices[0]?.message.content).toBe('from the second deployment')
    expect(fake.requests).toHaveLength(1)
    expect(seen).toHaveLength(1)
    expect(seen[0]!.attempts.map((attempt) => [attempt.provider, attempt.status])).toEqual([['openai', 'failure'], ['mock', 'success']])
    expect(seen[0]!.modelInfo).toMatchObject({ region: 'eu' })
    expect(seen[0]!.request.model).toBe('smart')
  })

  it('tries first the deployment the call names with the deployment option, whatever the weighted pick', async () => {
    const { proxy } = await proxyWith([
      { model_name: 'smart', litellm_params: { model: 'mock/smart', mock_response: 'from a' }, model_info: { id: 'deployment-a' } },
      { model_name: 'smart', litellm_params: { model: 'mock/smart', mock_response: 'from b' }, model_info: { id: 'deployment-b' } },
    ])
    vi.spyOn(Math, 'random').mockReturnValue(0) // the weighted pick would take deployment-a
    const reply = await proxy.client.chat({ model: 'smart', messages }, { deployment: 'deployment-b' })
    expect(reply.choices[0]?.message.content).toBe('from b')
    const picked = await proxy.client.chat({ model: 'smart', messages })
    expect(picked.choices[0]?.message.content).toBe('from a')
  })

  it('does not try another deployment after a 400: the request itself is wrong', async () => {
    const fake = await openAIFake()
    fake.enqueue({ kind: 'error', status: 400, message: 'bad request' })
    const { openai, seen } = await proxyWith([
      { model_name: 'smart', litellm_params: { model: 'openai/gpt-4o', api_base: fake.url, api_key: 'sk-upstream' } },
      { model_name: 'smart', litellm_params: { model: 'mock/smart' } },
    ])
    vi.spyOn(Math, 'random').mockReturnValue(0)
    await expect(openai.chat.completions.create({ model: 'smart', messages })).rejects.toBeInstanceOf(OpenAI.BadRequestError)
    expect(seen[0]!.attempts).toHaveLength(1)
  })

  it('answers the last deployment error when every deployment fails', async () => {
    const fake = await openAIFake()
    fake.enqueue({ kind: 'error', status: 503, message: 'first down' }, { kind: 'error', status: 429, message: 'second limited' })
    const { openai } = await proxyWith([
      { model_name: 'smart', litellm_params: { model: 'openai/gpt-4o', api_base: fake.url, api_key: 'sk-one' } },
      { model_name: 'smart', litellm_params: { model: 'openai/gpt-4o', api_base: fake.url, api_key: 'sk-two' } },
    ])
    vi.spyOn(Math, 'random').mockReturnValue(0)
    const error = await openai.chat.completions.create({ model: 'smart', messages }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(OpenAI.RateLimitError)
    expect(fake.requests.map((request) => request.headers.authorization)).toEqual(['Bearer sk-one', 'Bearer sk-two'])
  })

  it('picks deployments by weight', async () => {
    const { openai } = await proxyWith([
      { model_name: 'mixed', litellm_params: { model: 'mock/a', mock_response: 'heavy', weight: 3 } },
      { model_name: 'mixed', litellm_params: { model: 'mock/b', mock_response: 'light', weight: 1 } },
    ])
    const random = vi.spyOn(Math, 'random')
    const replies: string[] = []
    for (const point of [0, 0.5, 0.74, 0.76, 0.99]) {
      random.mockReturnValue(point)
      replies.push((await openai.chat.completions.create({ model: 'mixed', messages })).choices[0]!.message.content!)
    }
    expect(replies).toEqual(['heavy', 'heavy', 'heavy', 'light', 'light'])
  })

  it('routes a wildcard name with the matched part, and exact names before wildcards', async () => {
    const { openai, seen } = await proxyWith([
      { model_name: 'mock/*', litellm_params: { model: 'mock/*' } },
      { model_name: 'mock/special', litellm_params: { model: 'mock/special', mock_response: 'the exact entry' } },
    ])
    await openai.chat.completions.create({ model: 'mock/anything-goes', messages })
    expect(seen[0]!.model).toBe('anything-goes')
    const exact = await openai.chat.completions.create({ model: 'mock/special', messages })
    expect(exact.choices[0]?.message.content).toBe('the exact entry')
  })

  it("applies a deployment's litellm_params defaults only where the request sets nothing", async () => {
    const fake = await openAIFake()
    const { openai } = await proxyWith([{ model_name: 'tuned', litellm_params: { model: 'openai/gpt-4o', api_base: fake.url, api_key: 'sk-upstream', temperature: 0.2, max_tokens: 50 } }])
    await openai.chat.completions.create({ model: 'tuned', messages })
    await openai.chat.completions.create({ model: 'tuned', messages, temperature: 0.9 })
    expect(fake.requests.map((request) => [request.body.model, request.body.temperature, request.body.max_tokens])).toEqual([
      ['gpt-4o', 0.2, 50],
      ['gpt-4o', 0.9, 50],
    ])
  })

  it('sends upstream calls of deployments sharing an upstream over one kept-alive connection', async () => {
    let connections = 0
    const upstream: Server = createServer((request, response) => {
      request.resume().on('end', () => {
        const body = JSON.stringify({
          id: 'chatcmpl-1',
          object: 'chat.completion',
          created: 1,
          model: 'gpt-4o',
          choices: [{ index: 0, message: { role: 'assistant', content: 'kept alive' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
        })
        response.writeHead(200, { 'content-type': 'application/json' }).end(body)
      })
    })
    upstream.on('connection', () => connections++)
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
    cleanups.push(() => new Promise<void>((resolve) => (upstream.closeAllConnections(), upstream.close(() => resolve()))))
    const apiBase = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`
    const { openai, proxy } = await proxyWith([
      { model_name: 'one', litellm_params: { model: 'openai/gpt-4o', api_base: apiBase, api_key: 'sk-shared' } },
      { model_name: 'two', litellm_params: { model: 'openai/gpt-4o-mini', api_base: apiBase, api_key: 'sk-shared' } },
    ])
    for (const model of ['one', 'two', 'one', 'two', 'one']) await openai.chat.completions.create({ model, messages })
    expect(Object.keys(proxy.client.providers).filter((name) => name.startsWith('openai'))).toEqual(['openai'])
    expect(connections).toBe(1)
  })

  it('calls OpenAI deployments over undici, or over the openai SDK with litellm_params.transport: sdk', async () => {
    const fake = await openAIFake()
    const { openai } = await proxyWith([
      { model_name: 'lean', litellm_params: { model: 'openai/gpt-4o', api_base: fake.url, api_key: 'sk-upstream' } },
      { model_name: 'sdk', litellm_params: { model: 'openai/gpt-4o', api_base: fake.url, api_key: 'sk-upstream', transport: 'sdk' } },
    ])
    await openai.chat.completions.create({ model: 'lean', messages })
    await openai.chat.completions.create({ model: 'sdk', messages })
    expect(fake.requests.map((request) => request.headers['user-agent'])).toEqual(['llm-onion', expect.stringMatching(/^OpenAI\/JS /)])
  })

  it("streams an OpenAI deployment's reply through, with the usage chunk the client asked for", async () => {
    const fake = await openAIFake()
    fake.enqueue({ kind: 'chat', content: 'one two three', usage: { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 } })
    const { openai, seen } = await proxyWith([{ model_name: 'lean', litellm_params: { model: 'openai/gpt-4o', api_base: fake.url, api_key: 'sk-upstream' } }])
    const stream = await openai.chat.completions.create({ model: 'lean', messages, stream: true, stream_options: { include_usage: true } })
    let text = ''
    let usage: unknown
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? ''
      usage = chunk.usage ?? usage
    }
    expect(text).toBe('one two three')
    expect(usage).toEqual({ prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 })
    expect(seen[0]!.usage).toMatchObject({ inputTokens: 2, outputTokens: 3 })
  })

  it("prices calls with LiteLLM's input_cost_per_token / output_cost_per_token from litellm_params or model_info", async () => {
    const { openai, seen } = await proxyWith([
      { model_name: 'priced', litellm_params: { model: 'mock/priced', mock_response: 'one two three', input_cost_per_token: 0.000002, output_cost_per_token: 0.00001 } },
      { model_name: 'info-priced', litellm_params: { model: 'mock/info-priced', mock_response: 'one two three' }, model_info: { input_cost_per_token: 0.000001, output_cost_per_token: 0.000004 } },
    ])
    await openai.chat.completions.create({ model: 'priced', messages })
    await openai.chat.completions.create({ model: 'info-priced', messages })
    const [priced, infoPriced] = seen
    // the mock counts 3 prompt tokens ("route me" + 1) and 3 completion tokens
    expect(priced!.usage).toMatchObject({ inputTokens: 3, outputTokens: 3 })
    expect(priced!.cost!.input).toBeCloseTo(3 * 0.000002, 12)
    expect(priced!.cost!.output).toBeCloseTo(3 * 0.00001, 12)
    expect(infoPriced!.cost!.total).toBeCloseTo(3 * 0.000001 + 3 * 0.000004, 12)
  })

  it('counts calls once in GET /metrics when prometheus is also named in success_callback', async () => {
    const proxy = await createProxyServer({
      config: parseConfig({ model_list: [{ model_name: 'echo', litellm_params: { model: 'mock/echo' } }], litellm_settings: { success_callback: ['prometheus'] } }),
    })
    const { url } = await proxy.listen({ port: 0 })
    cleanups.push(() => proxy.close())
    const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 })
    await openai.chat.completions.create({ model: 'echo', messages })
    const metrics = await (await fetch(`${url}/metrics`)).text()
    const requests = metrics.split('\n').filter((line) => /^llm_onion_requests_total\{.*status="success"/.test(line))
    expect(requests).toHaveLength(1)
    expect(requests[0]).toMatch(/ 1$/)
    // one metrics layer, not a second instance counting into a registry nobody scrapes
    expect(proxy.layers.filter((name) => name.includes('prometheus'))).toEqual(['prometheus'])
  })
})
