/**
 * LiteLLM users' config habits, each in a config of LiteLLM's shape (test/proxy/litellm-configs/):
 * every file starts `llm-onion serve` as written, and the official `openai` SDK sees the habit work.
 */
import { readdirSync } from 'node:fs'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startReceiver, type Receiver } from '../../src/testing/receiver'
import { decodeOtlpTraces } from '../fakes/otlp-decoder'
import { spawnProxy, type SpawnedProxy } from './fixtures/spawn-proxy'

const folder = 'test/proxy/litellm-configs'
const started = new Map<string, Promise<SpawnedProxy>>()
/** The OTLP collector of the config that names "otel": such a config needs an endpoint to start. */
let collector: Receiver

beforeAll(async () => {
  collector = await startReceiver()
})

/** The proxy serving `file` from the folder, started once for every test that uses it. */
function serve(file: string): Promise<SpawnedProxy> {
  let proxy = started.get(file)
  if (!proxy) {
    // LITELLM_CONFIG_TEST_FROM_SHELL is left unset: the config lists it without a value.
    proxy = spawnProxy(['--config', `${folder}/${file}`], { LITELLM_CONFIG_TEST_FROM_SHELL: '', OTEL_EXPORTER_OTLP_ENDPOINT: collector.url })
    started.set(file, proxy)
  }
  return proxy
}

const clientOf = (proxy: SpawnedProxy) => new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'sk-1234', maxRetries: 0 })
const ask = (content: string) => [{ role: 'user' as const, content }]

afterAll(async () => {
  await Promise.all([...started.values()].map(async (proxy) => (await proxy).stop()))
  await collector.close()
})

describe('LiteLLM-shaped configs', () => {
  const files = readdirSync(folder).filter((file) => file.endsWith('.yaml')).sort()

  it.each(files)('%s starts as written and answers a chat completion', async (file) => {
    const proxy = await serve(file)
    const client = clientOf(proxy)
    const { data: models } = await client.models.list()
    expect(models.length).toBeGreaterThan(0)
    const reply = await client.chat.completions.create({ model: models[0]!.id, messages: ask('hello') })
    expect(reply.choices[0]?.message.content).toBeTruthy()
    expect(proxy.output()).not.toMatch(/is not read by llm-onion/)
  })

  it('reads YAML 1.1 numbers (tpm: 20_000) and environment_variables entries without a value', async () => {
    const proxy = await serve('yaml-1.1-and-environment.yaml')
    const reply = await clientOf(proxy).chat.completions.create({ model: 'gpt-4o-mini', messages: ask('numbers') })
    expect(reply.choices[0]?.message.content).toBe('This is a mock reply to: numbers')
  })

  it('takes built-in names in litellm_settings.callbacks the way success_callback and failure_callback do', async () => {
    const proxy = await serve('callbacks-built-in.yaml')
    expect(proxy.output()).toContain('callbacks(success: otel; failure: otel; otel → otlp (OTEL_EXPORTER_OTLP_ENDPOINT))')
    const reply = await clientOf(proxy).chat.completions.create({ model: 'gpt-3.5-turbo', messages: ask('otel') })
    expect(reply.choices[0]?.message.content).toBe('This is a mock reply to: otel')
    // With no tracer provider in the proxy, "otel" exports over OTLP to OTEL_EXPORTER_OTLP_ENDPOINT.
    await collector.waitFor(1, 10_000)
    const spans = collector.requests.flatMap((request) => decodeOtlpTraces(request.body))
    expect(spans.some((span) => span.attributes['gen_ai.request.model'] === 'gpt-3.5-turbo')).toBe(true)
  })

  it('serves router_settings.model_group_alias names, listing only the aliases not hidden', async () => {
    const client = clientOf(await serve('model-group-alias.yaml'))
    const aliased = await client.chat.completions.create({ model: 'gpt-4', messages: ask('alias') })
    expect(aliased.choices[0]?.message.content).toBe('served by gpt-4o')
    const hidden = await client.chat.completions.create({ model: 'claude-3-sonnet', messages: ask('alias') })
    expect(hidden.choices[0]?.message.content).toBe('served by claude-sonnet')
    const ids = (await client.models.list()).data.map((model) => model.id)
    expect(ids).toEqual(['gpt-4o', 'claude-sonnet', 'gpt-4'])
  })

  it('weights deployments by tpm: with 1 against 1000 the small one gets almost nothing', async () => {
    const client = clientOf(await serve('load-balancing.yaml'))
    const counts = { small: 0, big: 0 }
    for (let call = 0; call < 200; call++) {
      const reply = await client.chat.completions.create({ model: 'gpt-4o', messages: ask('which') })
      if (reply.choices[0]?.message.content === 'small deployment') counts.small++
      else counts.big++
    }
    // Expected about 0.2 small picks in 200; an even split would give about 100.
    expect(counts.small).toBeLessThan(20)
    expect(counts.big).toBeGreaterThan(180)
  })

  it('answers n choices from a mock deployment, streamed or not', async () => {
    const client = clientOf(await serve('load-balancing.yaml'))
    const reply = await client.chat.completions.create({ model: 'gpt-4o', messages: ask('three'), n: 3 })
    expect(reply.choices.map((choice) => choice.index)).toEqual([0, 1, 2])
    expect(new Set(reply.choices.map((choice) => choice.message.content)).size).toBe(1)
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages: ask('two'), n: 2, stream: true })
    const texts = ['', '']
    for await (const chunk of stream) for (const choice of chunk.choices) texts[choice.index] += choice.delta.content ?? ''
    expect(texts[0]).toMatch(/deployment$/)
    expect(texts[1]).toBe(texts[0])
  })

  it('maps fallbacks, a deployment\'s own timeout and num_retries onto layers: a deployment that times out is served by its fallback', async () => {
    const proxy = await serve('reliability.yaml')
    expect(proxy.output()).toMatch(/drop_params > context_window_fallbacks > fallbacks > retry\(1\) > timeout > router/)
    const client = clientOf(proxy)
    const reply = await client.chat.completions.create({ model: 'slow-gpt', messages: ask('anyone there?') })
    expect(reply.choices[0]?.message.content).toBe('answered by gpt-4o-mini')
    const stream = await client.chat.completions.create({ model: 'slow-gpt', messages: ask('stream?'), stream: true })
    let text = ''
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ''
    expect(text).toBe('answered by gpt-4o-mini')
  })

  it('routes any model name through model: "*" to the provider the name gives, and says which providers it can reach otherwise', async () => {
    const client = clientOf(await serve('wildcard.yaml'))
    const reply = await client.chat.completions.create({ model: 'mock/any-model', messages: ask('wildcard') })
    expect(reply.choices[0]?.message.content).toBe('This is a mock reply to: wildcard')
    const error = await client.chat.completions.create({ model: 'nowhere/some-model', messages: ask('wildcard') }).then(
      () => expect.fail('the call succeeded'),
      (thrown: unknown) => thrown as InstanceType<typeof OpenAI.APIError>,
    )
    expect(error).toBeInstanceOf(OpenAI.NotFoundError)
    expect(error.message).toMatch(/names the provider "nowhere", which this proxy cannot reach \(it can reach .*mock/)
  })
})
