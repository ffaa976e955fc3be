/**
 * The proxy as a user runs it: `llm-onion serve --config <LiteLLM config.yaml>` in its own process,
 * the official `openai` SDK as the client, a `.ts` CustomLogger module whose hooks write what they
 * receive, and a Helicone receiver standing in for a built-in success_callback.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startReceiver, type Receiver } from '../../src/testing/receiver'
import { eventually, readRecords, spawnProxy, waitForRecord, withMock, type SpawnedProxy } from './fixtures/spawn-proxy'

const masterKey = 'sk-proxy-test-master-key-4f9c'
const logFile = join(mkdtempSync(join(tmpdir(), 'llm-onion-proxy-')), 'callbacks.jsonl')
let proxy: SpawnedProxy
let helicone: Receiver
let openai: OpenAI

beforeAll(async () => {
  helicone = await startReceiver()
  proxy = await spawnProxy(['--config', 'test/proxy/fixtures/litellm-config.yaml'], {
    PROXY_TEST_MASTER_KEY: masterKey,
    PROXY_TEST_LOG: logFile,
    HELICONE_API_KEY: 'sk-helicone-test',
    HELICONE_API_BASE: helicone.url,
  })
  openai = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: masterKey, maxRetries: 0 })
})

afterAll(async () => {
  await proxy?.stop()
  await helicone?.close()
})

const ask = (content: string) => [{ role: 'user' as const, content }]

describe('llm-onion serve with a LiteLLM config', () => {
  it('prints where it listens, the models and the layers', () => {
    expect(proxy.output()).toContain('gpt-3.5-turbo -> mock/gpt-3.5-turbo')
    expect(proxy.output()).toMatch(/layers: .*callbacks\(success: helicone\).*recording_callbacks\.recorder.*router/)
    expect(proxy.output()).toContain('key from general_settings.master_key')
  })

  it('answers a chat completion through the OpenAI SDK', async () => {
    const reply = await openai.chat.completions.create({ model: 'gpt-3.5-turbo', messages: ask('Hello proxy') })
    expect(reply.object).toBe('chat.completion')
    expect(reply.choices[0]?.message.content).toBe('This is a mock reply to: Hello proxy')
    expect(reply.usage?.total_tokens).toBeGreaterThan(0)
  })

  it('streams a chat completion as SSE the OpenAI SDK reads', async () => {
    const stream = await openai.chat.completions.create({ model: 'gpt-3.5-turbo', messages: ask('Stream please'), stream: true, stream_options: { include_usage: true } })
    let text = ''
    let usage: OpenAI.CompletionUsage | undefined | null
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? ''
      if (chunk.usage) usage = chunk.usage
    }
    expect(text).toBe('This is a mock reply to: Stream please')
    expect(usage?.completion_tokens).toBe(8)
  })

  it('frames a stream as data: lines ending with data: [DONE], without the usage chunk unless asked', async () => {
    const response = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-3.5-turbo', messages: ask('frame'), stream: true }),
    })
    expect(response.headers.get('content-type')).toContain('text/event-stream')
    const events = (await response.text()).split('\n\n').filter((event) => event !== '')
    expect(events.every((event) => event.startsWith('data: '))).toBe(true)
    expect(events.at(-1)).toBe('data: [DONE]')
    const chunks = events.slice(0, -1).map((event) => JSON.parse(event.slice('data: '.length)))
    expect(chunks.every((chunk) => chunk.choices.length > 0 && chunk.usage === undefined)).toBe(true)
  })

  it('returns embeddings, base64-encoded when the SDK asks for its default', async () => {
    const asDefault = await openai.embeddings.create({ model: 'text-embedding-3-small', input: ['first', 'second'] })
    const asFloats = await openai.embeddings.create({ model: 'text-embedding-3-small', input: ['first', 'second'], encoding_format: 'float' })
    expect(asDefault.data).toHaveLength(2)
    expect(asFloats.data[0]!.embedding).toHaveLength(8)
    // The SDK decoded the base64 float32 vectors: the same numbers at float32 precision.
    asDefault.data[0]!.embedding.forEach((value, index) => expect(value).toBeCloseTo(asFloats.data[0]!.embedding[index]!, 6))
  })

  it('lists the configured model names', async () => {
    const models = await openai.models.list()
    expect(models.data.map((model) => model.id)).toEqual(['gpt-3.5-turbo', 'slow-model', 'text-embedding-3-small'])
    const one = await openai.models.retrieve('slow-model')
    expect(one.id).toBe('slow-model')
  })

  it('fires the callback module: success with proxy_server_request and model_info, stream chunks', async () => {
    const stream = await openai.chat.completions.create({ model: 'gpt-3.5-turbo', messages: ask('hooks please'), stream: true, user: 'proxy-test-user' })
    for await (const _chunk of stream) {
      // read to the end
    }
    const success = await waitForRecord(logFile, (record) => record.hook === 'success' && record.user === 'proxy-test-user')
    expect(success.content).toBe('This is a mock reply to: hooks please')
    expect(success.model).toBe('gpt-3.5-turbo')
    expect(success.modelInfo).toMatchObject({ team: 'proxy-tests' })
    expect(success.proxyServerRequest.url).toBe(`${proxy.url}/v1/chat/completions`)
    expect(success.proxyServerRequest.method).toBe('POST')
    expect(success.proxyServerRequest.headers['user-agent']).toContain('OpenAI/JS')
    expect(success.proxyServerRequest.headers.authorization).toBeUndefined()
    expect(success.proxyServerRequest.body).toMatchObject({ model: 'gpt-3.5-turbo', user: 'proxy-test-user', stream: true })
    const deltas = readRecords(logFile).filter((record) => record.hook === 'stream' && record.callId === success.callId)
    expect(deltas.map((record) => record.delta ?? '').join('')).toBe('This is a mock reply to: hooks please')
  })

  it('fires the failure hook, and answers the typed OpenAI error, when the upstream fails', async () => {
    const failing = openai.chat.completions.create(
      withMock(
        {
          model: 'gpt-3.5-turbo',
          messages: ask('fail please'),
          user: 'failure-user',
        },
        { mock_error: { status: 429, message: 'Slow down', retry_after_ms: 2000 } },
      ),
    )
    const error = await failing.catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(OpenAI.RateLimitError)
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after')).toBe('2')
    const failure = await waitForRecord(logFile, (record) => record.hook === 'failure' && record.user === 'failure-user')
    expect(failure).toMatchObject({ status: 'failure', error: 'RateLimitError', modelInfo: { team: 'proxy-tests' } })
  })

  it('surfaces an error after the first chunk as an error event the SDK raises', async () => {
    const stream = await openai.chat.completions.create(
      withMock(
        {
          model: 'gpt-3.5-turbo',
          messages: ask('one two three four'),
          stream: true,
        },
        { mock_error: { status: 500, message: 'Upstream died', after_chunks: 2 } },
      ),
    )
    let text = ''
    const reading = (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ''
    })()
    await expect(reading).rejects.toThrow('Upstream died')
    expect(text).toBe('This is')
  })

  it('cancels the upstream call when the client disconnects mid-stream, recorded as cancelled', async () => {
    const stream = await openai.chat.completions.create(
      withMock(
        {
          model: 'slow-model',
          messages: ask('cancel me'),
          stream: true,
          user: 'disconnecting-user',
        },
        { mock_response: 'one two three four five six seven eight nine ten' },
      ),
    )
    for await (const _chunk of stream) break
    const failure = await waitForRecord(logFile, (record) => record.hook === 'failure' && record.user === 'disconnecting-user')
    expect(failure.status).toBe('cancelled')
    expect(failure.error).toBe('AbortError')
    const chunks = readRecords(logFile).filter((record) => record.hook === 'stream' && record.callId === failure.callId)
    expect(chunks.length).toBeLessThan(10)
    expect(readRecords(logFile).some((record) => record.hook === 'success' && record.callId === failure.callId)).toBe(false)
  })

  it('answers 401 in OpenAI shape without the master key, and with a wrong one', async () => {
    const anonymous = await fetch(`${proxy.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'gpt-3.5-turbo', messages: ask('hi') }) })
    expect(anonymous.status).toBe(401)
    expect(await anonymous.json()).toEqual({ error: { message: expect.stringContaining('Authorization: Bearer'), type: 'authentication_error', param: null, code: 'invalid_api_key' } })
    const wrongKey = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'sk-wrong', maxRetries: 0 })
    await expect(wrongKey.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError)
  })

  it('answers 400 naming the problem for malformed JSON', async () => {
    const response = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
      body: '{"model": "gpt-3.5-turbo", "messages": [',
    })
    expect(response.status).toBe(400)
    const body = await response.json()
    expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json' })
    expect(body.error.message).toContain('not valid JSON')
  })

  it('answers 400 with param naming the wrong field for a schema error', async () => {
    const error = await openai.chat.completions
      // @ts-expect-error a role the API does not have, on purpose
      .create({ model: 'gpt-3.5-turbo', messages: [{ role: 'robot', content: 'beep' }] })
      .catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('messages[0].role')
  })

  it('answers 404 naming the available models for an unknown model', async () => {
    const error = await openai.chat.completions.create({ model: 'gpt-7', messages: ask('hi') }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(OpenAI.NotFoundError)
    const typed = error as InstanceType<typeof OpenAI.NotFoundError>
    expect(typed.code).toBe('model_not_found')
    expect(typed.message).toContain('gpt-3.5-turbo, slow-model, text-embedding-3-small')
  })

  it('answers 413 for a body over max_request_size_mb', async () => {
    const error = await openai.chat.completions.create({ model: 'gpt-3.5-turbo', messages: ask('x'.repeat(20_000)) }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(413)
    expect((error as Error).message).toContain('max_request_size_mb')
  })

  it('serves health and Prometheus metrics without the key', async () => {
    expect((await fetch(`${proxy.url}/health/liveliness`)).status).toBe(200)
    expect(await (await fetch(`${proxy.url}/health/readiness`)).json()).toEqual({ status: 'healthy' })
    const metrics = await (await fetch(`${proxy.url}/metrics`)).text()
    expect(metrics).toMatch(/llm_onion_requests_total\{provider="mock",model="gpt-3.5-turbo",status="success"\} \d+/)
    expect(metrics).toMatch(/llm_onion_proxy_http_requests_total\{route="\/v1\/chat\/completions",status="401"\} \d+/)
  })

  it('exports through the built-in success_callback, with no master key in any payload', async () => {
    await openai.chat.completions.create({ model: 'gpt-3.5-turbo', messages: ask('export me'), user: 'export-user' })
    await eventually(() => helicone.requests.some((request) => request.path === '/custom/v1/log' && request.text.includes('export me')))
    for (const request of helicone.requests) expect(request.text).not.toContain(masterKey)
    expect(readRecords(logFile).map((record) => JSON.stringify(record)).join('\n')).not.toContain(masterKey)
  })
})
