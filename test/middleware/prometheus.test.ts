import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { helicone } from 'llm-onion/middleware/helicone'
import { prometheus } from 'llm-onion/middleware/prometheus'
import { prompt, receiverPerTest, runCalls } from './exporter-contract'

/** Runs Debian's `promtool check metrics` on the exposition; throws with promtool's output when it objects (or is missing). */
function promtoolCheck(exposition: string): string {
  return execFileSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] })
}

/** The value of one sample line, by its exact name and labels. */
function sample(exposition: string, series: string): number | undefined {
  const line = exposition.split('\n').find((candidate) => candidate.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('prometheus()', () => {
  let client: Client
  const receiver = receiverPerTest({ client: () => client })

  it('counts requests, tokens and latency by provider, model and status, in an exposition promtool accepts', async () => {
    const metrics = prometheus()
    client = createClient().use(metrics)
    await runCalls(client)
    const text = metrics.metrics()

    expect(() => promtoolCheck(text)).not.toThrow()
    expect(metrics.contentType).toBe('text/plain; version=0.0.4; charset=utf-8')
    expect(text).toContain('# HELP llm_onion_requests_total ')
    expect(text).toContain('# TYPE llm_onion_requests_total counter')
    expect(text).toContain('# TYPE llm_onion_request_duration_seconds histogram')
    const success = 'provider="mock",model="echo",status="success"'
    const failure = 'provider="mock",model="echo",status="failure"'
    expect(sample(text, `llm_onion_requests_total{${success}}`)).toBe(2)
    expect(sample(text, `llm_onion_requests_total{${failure}}`)).toBe(1)
    expect(sample(text, `llm_onion_output_tokens_total{${success}}`)).toBe(4 + 2)
    expect(sample(text, `llm_onion_input_tokens_total{${success}}`)).toBeGreaterThan(0)
    expect(sample(text, `llm_onion_request_duration_seconds_count{${success}}`)).toBe(2)
    expect(sample(text, `llm_onion_request_duration_seconds_bucket{${success},le="+Inf"}`)).toBe(2)
    expect(sample(text, `llm_onion_request_duration_seconds_sum{${success}}`)).toBeGreaterThanOrEqual(0)
    // Only the streamed call has a first chunk.
    expect(sample(text, `llm_onion_time_to_first_chunk_seconds_count{${success}}`)).toBe(1)
    expect(sample(text, `llm_onion_time_to_first_chunk_seconds_count{${failure}}`)).toBeUndefined()
  })

  it('makes histogram buckets cumulative', async () => {
    const metrics = prometheus({ latencyBuckets: [0.0000001, 1000] })
    client = createClient().use(metrics)
    await client.chat({ model: 'mock/echo', messages: prompt })
    const text = metrics.metrics()

    const labels = 'provider="mock",model="echo",status="success"'
    const tiny = sample(text, `llm_onion_request_duration_seconds_bucket{${labels},le="1e-7"}`)!
    expect(tiny).toBeLessThanOrEqual(1)
    expect(sample(text, `llm_onion_request_duration_seconds_bucket{${labels},le="1000"}`)).toBe(1)
    expect(sample(text, `llm_onion_request_duration_seconds_bucket{${labels},le="+Inf"}`)).toBe(1)
    expect(() => promtoolCheck(text)).not.toThrow()
  })

  it('escapes quotes, backslashes and line feeds in label values', async () => {
    const metrics = prometheus()
    client = createClient().use(metrics)
    await client.chat({ model: 'mock/odd"model\\name', messages: prompt })
    const text = metrics.metrics()

    expect(text).toContain('model="odd\\"model\\\\name"')
    expect(() => promtoolCheck(text)).not.toThrow()
  })

  it('keeps /metrics small when clients send 20,000 distinct model names: the ones past maxModels share model="other", counted', async () => {
    const metrics = prometheus()
    client = createClient().use(metrics)
    for (let index = 0; index < 20_000; index++) await client.chat({ model: `mock/invented-${index}`, messages: prompt })
    const text = metrics.metrics()

    const series = text.split('\n').filter((line) => line.startsWith('llm_onion_requests_total{'))
    expect(series).toHaveLength(500 + 1)
    expect(sample(text, 'llm_onion_requests_total{provider="mock",model="invented-0",status="success"}')).toBe(1)
    expect(sample(text, 'llm_onion_requests_total{provider="mock",model="invented-500",status="success"}')).toBeUndefined()
    expect(sample(text, 'llm_onion_requests_total{provider="mock",model="other",status="success"}')).toBe(19_500)
    expect(sample(text, 'llm_onion_model_label_overflow_total')).toBe(19_500)
    expect(text.length).toBeLessThan(2_000_000)
    expect(() => promtoolCheck(text)).not.toThrow()
  }, 60_000)

  it('keeps a model seen before the limit in its own series after the limit is reached', async () => {
    const metrics = prometheus({ maxModels: 2 })
    client = createClient().use(metrics)
    for (const model of ['a', 'b', 'c', 'a', 'd']) await client.chat({ model: `mock/${model}`, messages: prompt })
    const text = metrics.metrics()

    expect(sample(text, 'llm_onion_requests_total{provider="mock",model="a",status="success"}')).toBe(2)
    expect(sample(text, 'llm_onion_requests_total{provider="mock",model="other",status="success"}')).toBe(2)
    expect(sample(text, 'llm_onion_model_label_overflow_total')).toBe(2)
    expect(() => promtoolCheck(text)).not.toThrow()
  })

  it('records a stream the caller stopped reading as cancelled', async () => {
    const metrics = prometheus()
    client = createClient().use(metrics)
    for await (const _chunk of client.stream({ model: 'mock/echo', messages: prompt, mock_response: 'one two three four' })) break

    expect(sample(metrics.metrics(), 'llm_onion_requests_total{provider="mock",model="echo",status="cancelled"}')).toBe(1)
  })

  it('reports the delivery queue counters of the exporters beside it, drops by sink and reason', async () => {
    receiver.answerWith(400)
    const metrics = prometheus()
    client = createClient({ queue: { onDrop: () => {} } }).use(metrics, helicone({ apiKey: 'hc-key', baseUrl: receiver.url }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()
    const text = metrics.metrics()

    expect(sample(text, 'llm_onion_exporter_dropped_total{sink="helicone",reason="rejected"}')).toBe(1)
    expect(sample(text, 'llm_onion_exporter_delivered_total{sink="helicone"}')).toBe(1)
    expect(sample(text, 'llm_onion_exporter_pending{sink="helicone"}')).toBe(0)
    expect(() => promtoolCheck(text)).not.toThrow()

    // Totals survive the client closing.
    await client.close()
    expect(sample(metrics.metrics(), 'llm_onion_exporter_dropped_total{sink="helicone",reason="rejected"}')).toBe(1)
  })

  it('never puts a secret or message content in a metric', async () => {
    const metrics = prometheus()
    client = createClient().use(metrics)
    await runCalls(client)
    const text = metrics.metrics()

    expect(text).not.toContain('sk-secret')
    expect(text).not.toContain('sk-provider-secret')
    expect(text).not.toContain('Paris')
  })

  it('rejects buckets out of order, naming the option', () => {
    expect(() => prometheus({ latencyBuckets: [1, 0.5] })).toThrow(/latencyBuckets/)
  })
})
