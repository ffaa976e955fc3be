/**
 * What the official `openai` SDK and LiteLLM's clients send and expect, against a `serve` child:
 * `null` for optional parameters, LiteLLM's key headers, the call id and the upstream's request id
 * on every response, error messages without the library's advice, and metadata bounded at
 * validation.
 */
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startOpenAIFake, type OpenAIFake } from '../../src/testing/openai-server'
import { spawnProxy, type SpawnedProxy } from './fixtures/spawn-proxy'

const masterKey = 'sk-compat-master-key-7d21'
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
let proxy: SpawnedProxy
let upstream: OpenAIFake
let openai: OpenAI

beforeAll(async () => {
  upstream = await startOpenAIFake()
  proxy = await spawnProxy(['--config', 'test/proxy/fixtures/client-compat.yaml'], { COMPAT_MASTER_KEY: masterKey, COMPAT_UPSTREAM_BASE: upstream.url })
  openai = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: masterKey, maxRetries: 0 })
})

afterAll(async () => {
  await proxy?.stop()
  await upstream?.close()
})

const ask = (content: string) => [{ role: 'user' as const, content }]

/** What a call through the SDK threw (it must throw). */
async function thrownBy(call: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await call
  } catch (error) {
    expect(error).toBeInstanceOf(OpenAI.APIError)
    return error as InstanceType<typeof OpenAI.APIError>
  }
  throw new Error('the call succeeded')
}

const post = (headers: Record<string, string>) =>
  fetch(`${proxy.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: ask('Hi') }),
  })

describe('null for optional parameters', () => {
  // Every optional parameter the SDK's types allow as null, as a client that fills a form would send them.
  const nulls = {
    temperature: null, top_p: null, max_tokens: null, max_completion_tokens: null, n: null, seed: null, stop: null,
    presence_penalty: null, frequency_penalty: null, stream: null, stream_options: null, metadata: null, logprobs: null,
    top_logprobs: null, reasoning_effort: null, service_tier: null, store: null, prediction: null, audio: null,
    modalities: null, prompt_cache_key: null, safety_identifier: null, verbosity: null,
  } satisfies Partial<OpenAI.ChatCompletionCreateParamsNonStreaming>

  it('treats null as absent: the official SDK sending nulls gets a reply, not a 400', async () => {
    const reply = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: ask('nulls'), ...nulls })
    expect(reply.choices[0]?.message.content).toBe('This is a mock reply to: nulls')
  })

  it('sends none of the nulls upstream', async () => {
    await openai.chat.completions.create({ model: 'upstream-gpt', messages: ask('nulls upstream'), ...nulls })
    const sent = upstream.requests.at(-1)!.body
    for (const name of Object.keys(nulls)) expect(sent, name).not.toHaveProperty(name)
  })

  it('still refuses a null model or messages, naming the field', async () => {
    const error = await thrownBy(openai.chat.completions.create({ model: 'gpt-4o-mini', messages: null as never }))
    expect(error.status).toBe(400)
    expect(error.message).toContain('messages')
  })
})

describe("LiteLLM's key headers", () => {
  it.each([['x-litellm-api-key'], ['X-LiteLLM-Api-Key'], ['API-Key'], ['api-key']])('accepts the master key in %s', async (header) => {
    expect((await post({ [header]: masterKey })).status).toBe(200)
  })

  it('accepts x-litellm-api-key with Bearer, as LiteLLM does', async () => {
    expect((await post({ 'x-litellm-api-key': `Bearer ${masterKey}` })).status).toBe(200)
  })

  it('reads x-litellm-api-key first: the SDK may carry another key in Authorization', async () => {
    const client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'sk-some-provider-key', defaultHeaders: { 'x-litellm-api-key': masterKey }, maxRetries: 0 })
    const reply = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: ask('via header') })
    expect(reply.choices[0]?.message.content).toBe('This is a mock reply to: via header')
  })

  it('refuses a wrong key in any of them with a 401 that names the header, never the key', async () => {
    for (const header of ['x-litellm-api-key', 'api-key']) {
      const response = await post({ [header]: 'sk-wrong-key-123' })
      expect(response.status).toBe(401)
      const text = await response.text()
      expect(text).toContain(header)
      expect(text).not.toContain('sk-wrong-key-123')
    }
  })
})

describe('call ids on every response', () => {
  it('sends x-litellm-call-id on a reply, and the upstream request id where there is one', async () => {
    const mocked = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: ask('id') }).withResponse()
    expect(mocked.response.headers.get('x-litellm-call-id')).toMatch(uuid)
    expect(mocked.response.headers.get('x-request-id')).toBeNull()

    const { response, request_id: requestId } = await openai.chat.completions.create({ model: 'upstream-gpt', messages: ask('id') }).withResponse()
    expect(response.headers.get('x-litellm-call-id')).toMatch(uuid)
    expect(response.headers.get('llm_provider-x-request-id')).toMatch(/^req_fake_/)
    expect(requestId).toBe(response.headers.get('llm_provider-x-request-id'))
  })

  it('sends a different call id for each call', async () => {
    const first = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: ask('one') }).withResponse()
    const second = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: ask('two') }).withResponse()
    expect(first.response.headers.get('x-litellm-call-id')).not.toBe(second.response.headers.get('x-litellm-call-id'))
  })

  it('sends x-litellm-call-id on a stream and on embeddings', async () => {
    const { data: stream, response } = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: ask('stream'), stream: true }).withResponse()
    for await (const _chunk of stream) void _chunk
    expect(response.headers.get('x-litellm-call-id')).toMatch(uuid)
    const embedded = await openai.embeddings.create({ model: 'gpt-4o-mini', input: 'x' }).withResponse()
    expect(embedded.response.headers.get('x-litellm-call-id')).toMatch(uuid)
  })

  it('sends x-litellm-call-id on errors, and the upstream request id of a failed upstream call', async () => {
    const refused = await thrownBy(openai.chat.completions.create({ model: 'no-such-model', messages: ask('x') }))
    expect(refused.headers?.get('x-litellm-call-id')).toMatch(uuid)
    const invalid = await thrownBy(openai.chat.completions.create({ model: 'gpt-4o-mini', messages: ask('x'), temperature: 7 }))
    expect(invalid.headers?.get('x-litellm-call-id')).toMatch(uuid)
    upstream.enqueue({ kind: 'error', status: 400, message: 'Bad thing.' })
    const failed = await thrownBy(openai.chat.completions.create({ model: 'upstream-gpt', messages: ask('x') }))
    expect(failed.headers?.get('x-litellm-call-id')).toMatch(uuid)
    expect(failed.requestID).toMatch(/^req_fake_/)
  })
})

describe('error messages to HTTP clients', () => {
  it.each([
    [429, 'Rate limit reached for gpt-4o.'],
    [500, 'The server had an error while processing your request.'],
    [401, 'Incorrect API key provided.'],
  ])("keep the upstream's %i message and drop the library's advice (retry(), openai({ apiKey }))", async (status, message) => {
    upstream.enqueue({ kind: 'error', status, message })
    const error = await thrownBy(openai.chat.completions.create({ model: 'upstream-gpt', messages: ask('fail') }))
    expect(error.status).toBe(status)
    expect(error.message).toContain(message)
    expect(error.message).not.toMatch(/retry\(\)|openai\(\{|timeout\(\)|tries again/)
  })

  it('drop the advice from an unreachable upstream too', async () => {
    upstream.enqueue({ kind: 'drop' })
    const error = await thrownBy(openai.chat.completions.create({ model: 'upstream-gpt', messages: ask('drop') }))
    expect(error.status).toBe(502)
    expect(error.message).toMatch(/connection/i)
    expect(error.message).not.toContain('retry()')
  })
})

describe('metadata bounds', () => {
  const nested = (depth: number): Record<string, unknown> => {
    let value: Record<string, unknown> = { leaf: true }
    for (let level = 1; level < depth; level++) value = { next: value }
    return value
  }

  it('refuses metadata nested deeper than 32 levels with a 400 naming metadata', async () => {
    const error = await thrownBy(openai.chat.completions.create({ model: 'gpt-4o-mini', messages: ask('deep'), metadata: nested(33) as never }))
    expect(error.status).toBe(400)
    expect(error.param).toBe('metadata')
    expect(error.message).toMatch(/metadata nests deeper than 32 levels/)
  })

  it('refuses metadata nested 100,000 deep without crashing the proxy', async () => {
    const body = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}],"metadata":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`
    const response = await fetch(`${proxy.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' }, body })
    expect(response.status).toBe(400)
    expect(((await response.json()) as { error: { param: string } }).error.param).toBe('metadata')
  })

  it('accepts metadata 32 levels deep', async () => {
    const reply = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: ask('deep enough'), metadata: nested(32) as never })
    expect(reply.choices[0]?.message.content).toBe('This is a mock reply to: deep enough')
  })

  it('refuses metadata larger than 64 KiB as JSON with a 400 naming metadata', async () => {
    const error = await thrownBy(openai.chat.completions.create({ model: 'gpt-4o-mini', messages: ask('big'), metadata: { note: 'x'.repeat(70_000) } }))
    expect(error.status).toBe(400)
    expect(error.param).toBe('metadata')
    expect(error.message).toMatch(/65536 bytes/)
  })
})
