import { execFileSync } from 'node:child_process'
import { afterEach, describe, expect, it } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { prometheus } from 'llm-onion/middleware/prometheus'
import { busyLayer } from '../../src/testing/busy-wait'

/** Debian's `promtool check metrics`; throws with promtool's output when it objects (or is missing). */
function promtoolCheck(exposition: string): string {
  return execFileSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] })
}

function sample(exposition: string, series: string): number | undefined {
  const line = exposition.split('\n').find((candidate) => candidate.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

const messages = [{ role: 'user' as const, content: 'Hi' }]
let client: Client | undefined
afterEach(async () => client?.close())

describe('prometheus() on a profiled client', () => {
  it('keeps a histogram of each layer’s own time before and after next(), the layers outside it included', async () => {
    const metrics = prometheus()
    // prometheus() sits inside "outside": that layer's times are known only after prometheus() has finished.
    client = createClient({ profile: true, middleware: [busyLayer('outside', 40, 1), metrics, busyLayer('slow', 60, 1), busyLayer('quick', 0, 0)] })
    await client.chat({ model: 'mock/echo', messages })
    await client.chat({ model: 'mock/echo', messages })
    await client.chat({ model: 'mock/echo', messages })
    const text = metrics.metrics()

    expect(() => promtoolCheck(text)).not.toThrow()
    expect(text).toContain('# TYPE llm_onion_layer_duration_seconds histogram')
    for (const layer of ['outside', 'prometheus', 'slow', 'quick']) {
      for (const phase of ['before', 'after']) expect(sample(text, `llm_onion_layer_duration_seconds_count{layer="${layer}",phase="${phase}"}`)).toBe(3)
    }
    const before = (layer: string) => sample(text, `llm_onion_layer_duration_seconds_sum{layer="${layer}",phase="before"}`)!
    expect(before('slow')).toBeGreaterThanOrEqual(3 * 0.06)
    expect(before('outside')).toBeGreaterThanOrEqual(3 * 0.04)
    expect(before('slow')).toBeGreaterThan(before('quick'))
    // +Inf counts every observation; the buckets are cumulative.
    expect(sample(text, 'llm_onion_layer_duration_seconds_bucket{layer="slow",phase="before",le="+Inf"}')).toBe(3)
  })

  it('adds no layer series on a client without profiling', async () => {
    const metrics = prometheus()
    client = createClient({ middleware: [metrics, busyLayer('slow', 1, 1)] })
    await client.chat({ model: 'mock/echo', messages })
    const text = metrics.metrics()
    expect(() => promtoolCheck(text)).not.toThrow()
    expect(text).not.toContain('llm_onion_layer_duration_seconds_count')
  })
})
