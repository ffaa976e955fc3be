/**
 * The merge of the workers' expositions under `serve --workers`: what each worker's prometheus()
 * layer and HTTP counters render, merged into one exposition that promtool accepts and that counts
 * as one process would have.
 */
import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { createClient } from '../../src/client'
import { prometheus } from '../../middleware/prometheus'
import { createHttpMetrics } from '../../src/proxy/http-metrics'
import { carriedCounters, mergeExpositions } from '../../src/proxy/exposition-merge'

/** Runs Debian's `promtool check metrics`; throws with promtool's output when it objects. */
function promtoolCheck(exposition: string): string {
  return execFileSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] })
}

/** The value of one sample line, by its exact name and labels. */
function sample(exposition: string, series: string): number | undefined {
  const line = exposition.split('\n').find((candidate) => candidate.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

/** One worker's exposition after `calls` successful chats, one failed one, and `inFlight` requests still open. */
async function workerExposition(calls: number, inFlight: number): Promise<string> {
  const metrics = prometheus()
  const client = createClient().use(metrics)
  const http = createHttpMetrics()
  for (let index = 0; index < calls; index++) {
    http.started()
    await client.chat({ model: 'mock/echo', messages: [{ role: 'user', content: 'hi' }], mock_response: 'one two three' })
    http.finished('/v1/chat/completions', 200)
  }
  await expect(client.chat({ model: 'mock/echo', messages: [{ role: 'user', content: 'hi' }], mock_error: { status: 429, message: 'Slow down' } })).rejects.toThrow()
  for (let index = 0; index < inFlight; index++) http.started()
  await client.close()
  return metrics.metrics() + http.render()
}

const success = 'provider="mock",model="echo",status="success"'

describe('mergeExpositions', () => {
  it('sums counters, histograms and in-flight gauges of real worker expositions, in one exposition promtool accepts', async () => {
    const first = await workerExposition(3, 1)
    const second = await workerExposition(2, 2)
    const merged = mergeExpositions([{ worker: '101', text: first }, { worker: '102', text: second }])

    expect(promtoolCheck(merged)).toBe('')
    expect(merged.match(/^# TYPE llm_onion_requests_total /gm)).toHaveLength(1)
    expect(merged.match(/^# HELP llm_onion_request_duration_seconds /gm)).toHaveLength(1)
    expect(sample(merged, `llm_onion_requests_total{${success}}`)).toBe(5)
    expect(sample(merged, 'llm_onion_requests_total{provider="mock",model="echo",status="failure"}')).toBe(2)
    expect(sample(merged, `llm_onion_output_tokens_total{${success}}`)).toBe(sample(first, `llm_onion_output_tokens_total{${success}}`)! + sample(second, `llm_onion_output_tokens_total{${success}}`)!)
    expect(sample(merged, `llm_onion_request_duration_seconds_count{${success}}`)).toBe(5)
    expect(sample(merged, `llm_onion_request_duration_seconds_bucket{${success},le="+Inf"}`)).toBe(5)
    expect(sample(merged, `llm_onion_request_duration_seconds_bucket{${success},le="0.05"}`)).toBe(
      sample(first, `llm_onion_request_duration_seconds_bucket{${success},le="0.05"}`)! + sample(second, `llm_onion_request_duration_seconds_bucket{${success},le="0.05"}`)!,
    )
    expect(sample(merged, 'llm_onion_proxy_http_requests_total{route="/v1/chat/completions",status="200"}')).toBe(5)
    expect(sample(merged, 'llm_onion_proxy_http_requests_in_flight')).toBe(3)
    expect(sample(merged, 'llm_onion_metrics_workers_missing')).toBe(0)
    expect(merged).not.toContain('worker=')
  })

  it('keeps series that only one worker has, with their own labels', () => {
    const merged = mergeExpositions(
      [
        { worker: '101', text: '# HELP calls_total Calls.\n# TYPE calls_total counter\ncalls_total{model="a"} 1\n' },
        { worker: '102', text: '# HELP calls_total Calls.\n# TYPE calls_total counter\ncalls_total{model="b"} 4\ncalls_total{model="a"} 2\n' },
      ],
    )
    expect(promtoolCheck(merged)).toBe('')
    expect(sample(merged, 'calls_total{model="a"}')).toBe(3)
    expect(sample(merged, 'calls_total{model="b"}')).toBe(4)
  })

  it('adds samples whose labels come in another order, and keeps escaped label values intact', () => {
    const merged = mergeExpositions(
      [
        { worker: '101', text: '# HELP calls_total Calls.\n# TYPE calls_total counter\ncalls_total{model="say \\"hi\\"\\\\n",status="ok"} 1\n' },
        { worker: '102', text: '# HELP calls_total Calls.\n# TYPE calls_total counter\ncalls_total{status="ok",model="say \\"hi\\"\\\\n"} 2\n' },
      ],
    )
    expect(promtoolCheck(merged)).toBe('')
    expect(sample(merged, 'calls_total{model="say \\"hi\\"\\\\n",status="ok"}')).toBe(3)
  })

  it('keeps gauges whose sum means nothing, and summary quantiles, per worker; sums the summary _sum and _count', () => {
    const worker = (pid: string, start: number, median: number) => ({
      worker: pid,
      text: [
        '# HELP process_start_time_seconds Start time of the process.',
        '# TYPE process_start_time_seconds gauge',
        `process_start_time_seconds ${start}`,
        '# HELP latency_seconds Latency.',
        '# TYPE latency_seconds summary',
        `latency_seconds{quantile="0.5"} ${median}`,
        'latency_seconds_sum 2.5',
        'latency_seconds_count 10',
        '',
      ].join('\n'),
    })
    const merged = mergeExpositions([worker('101', 1700000000, 0.2), worker('102', 1700000100, 0.3)])
    expect(promtoolCheck(merged)).toBe('')
    expect(sample(merged, 'process_start_time_seconds{worker="101"}')).toBe(1700000000)
    expect(sample(merged, 'process_start_time_seconds{worker="102"}')).toBe(1700000100)
    expect(sample(merged, 'latency_seconds{quantile="0.5",worker="101"}')).toBe(0.2)
    expect(sample(merged, 'latency_seconds{quantile="0.5",worker="102"}')).toBe(0.3)
    expect(sample(merged, 'latency_seconds_sum')).toBe(5)
    expect(sample(merged, 'latency_seconds_count')).toBe(20)
  })

  it('says which workers did not answer, in a comment and in llm_onion_metrics_workers_missing', async () => {
    const merged = mergeExpositions([{ worker: '101', text: await workerExposition(1, 0) }], { missing: ['102', '103'] })
    expect(promtoolCheck(merged)).toBe('')
    expect(merged).toContain('# llm-onion: worker(s) 102, 103 did not answer in time; their counters are as of their last answer, their gauges are left out')
    expect(sample(merged, 'llm_onion_metrics_workers_missing')).toBe(2)
    expect(sample(merged, `llm_onion_requests_total{${success}}`)).toBe(1)
  })

  it('adds the counters carried for workers that missed the scrape or ended, but not their gauges, so totals never go down', async () => {
    const live = await workerExposition(2, 1)
    const lastOfMissing = await workerExposition(3, 4)
    const lastOfEnded = await workerExposition(1, 5)
    const perWorkerGauge = '# HELP process_start_time_seconds Start time.\n# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds 1700000000\n'
    const ended = carriedCounters(['', lastOfEnded + perWorkerGauge])
    expect(promtoolCheck(ended)).toBe('')
    expect(ended).not.toContain('in_flight')
    expect(ended).not.toContain('process_start_time_seconds')

    const merged = mergeExpositions([{ worker: '101', text: live }], { missing: ['102'], carried: [ended, lastOfMissing] })
    expect(promtoolCheck(merged)).toBe('')
    expect(sample(merged, `llm_onion_requests_total{${success}}`)).toBe(2 + 3 + 1)
    expect(sample(merged, `llm_onion_request_duration_seconds_bucket{${success},le="+Inf"}`)).toBe(6)
    expect(sample(merged, 'llm_onion_proxy_http_requests_total{route="/v1/chat/completions",status="200"}')).toBe(6)
    // In flight now: only the worker that answered knows.
    expect(sample(merged, 'llm_onion_proxy_http_requests_in_flight')).toBe(1)
    expect(merged).not.toContain('process_start_time_seconds')
  })

  it('names the line it cannot read', () => {
    expect(() => mergeExpositions([{ worker: '101', text: '# TYPE calls_total counter\ncalls_total{model=a} 1\n' }])).toThrow(/line 2: labels unreadable from "model=a"/)
    expect(() => mergeExpositions([{ worker: '101', text: 'calls_total one\n' }])).toThrow(/line 1: the value "one" is not a number/)
  })
})
