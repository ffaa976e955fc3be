/**
 * LiteLLM's alerting keys in the proxy config, and the spend report: `alerting`, `alerting_threshold`,
 * `alert_types` and `alerting_args` read with LiteLLM's names and defaults; names neither LiteLLM nor
 * llm-onion knows refused with the path; LiteLLM alert types llm-onion does not send said at start.
 * The report: two proxies sharing one Redis, a clock of the test's, calls in one period, and the
 * report of that period sent once when the next one begins.
 */
import OpenAI from 'openai'
import { afterAll, describe, expect, it } from 'vitest'
import { redisStore } from 'llm-onion'
import { createProxyServer } from 'llm-onion/proxy'
import { parseConfig } from '../../src/proxy/config'
import { startReceiver } from '../../src/testing/receiver'
import { inspector, machineRedisUrl, removePrefix, uniquePrefix } from '../fakes/redis-server'

const models = [{ model_name: 'gpt-test', litellm_params: { model: 'mock/gpt-test', input_cost_per_token: 0.000002, output_cost_per_token: 0.000004 } }]
const prefix = uniquePrefix('alerting-report')

afterAll(async () => {
  const redis = inspector()
  await removePrefix(redis, prefix)
  redis.disconnect()
})

describe('general_settings alerting keys', () => {
  it("reads LiteLLM's names and defaults", () => {
    const config = parseConfig({ model_list: models, general_settings: { alerting: ['slack'], alerting_threshold: 120, alerting_args: { budget_alert_ttl: 3600, minor_outage_alert_threshold: 3 } } })
    expect(config.alerting).toMatchObject({
      destinations: ['slack'],
      thresholdMs: 120_000,
      types: ['llm_exceptions', 'llm_too_slow', 'llm_requests_hanging', 'budget_alerts', 'daily_reports', 'outage_alerts'],
      budget: { thresholds: [0.5, 0.8, 1], ttlMs: 3_600_000 },
      outage: { windowMs: 60_000, errors: [3, 10], rate: 0 },
      hangingMs: 120_000,
      report: { frequencyMs: 43_200_000, checkIntervalMs: 300_000 },
    })
  })

  it('refuses an alert type or argument neither LiteLLM nor llm-onion knows, naming its path', () => {
    expect(() => parseConfig({ model_list: models, general_settings: { alerting: ['slack'], alert_types: ['llm_exceptions', 'budget_alert'] } })).toThrow(/general_settings\.alert_types\[1\]: unknown alert type "budget_alert"/)
    expect(() => parseConfig({ model_list: models, general_settings: { alerting: ['slack'], alerting_args: { budget_ttl: 5 } } })).toThrow(/general_settings\.alerting_args\.budget_ttl: unknown alerting argument/)
    expect(() => parseConfig({ model_list: models, general_settings: { alerting: ['slack'], alerting_args: { latency_window: 300 } } })).toThrow(/needs latency_average_threshold or latency_p95_threshold/)
  })

  it("says which LiteLLM alert types and arguments it does not act on, and that alerting without destinations does nothing", () => {
    const config = parseConfig({ model_list: models, general_settings: { alerting: ['slack'], alert_types: ['db_exceptions', 'llm_exceptions'], alerting_args: { log_to_console: true } } })
    expect(config.alerting?.types).toEqual(['llm_exceptions'])
    expect(config.warnings).toContain('general_settings.alert_types[0] "db_exceptions" is a LiteLLM alert llm-onion does not send (docs/proxy.md, Alerting)')
    expect(config.warnings).toContain('general_settings.alerting_args.log_to_console is not read by llm-onion: alerts go to the configured destinations only')
    const silent = parseConfig({ model_list: models, general_settings: { alerting_threshold: 10 } })
    expect(silent.alerting).toBeUndefined()
    expect(silent.warnings.join('\n')).toContain('general_settings.alerting is empty')
  })

  it('refuses a destination it cannot send to, at start', async () => {
    await expect(createProxyServer({ config: parseConfig({ model_list: models, general_settings: { alerting: ['webhook'] } }) })).rejects.toThrow(/general_settings\.alerting\[0\]: "webhook" alerting .* is not supported yet/)
    await expect(createProxyServer({ config: parseConfig({ model_list: models, general_settings: { alerting: ['carrier-pigeon'] } }) })).rejects.toThrow(/unknown alerting destination "carrier-pigeon"/)
  })
})

describe('the spend report', () => {
  it('is sent once by two proxies sharing Redis when the period ends, with the clock of the test', async () => {
    const hook = await startReceiver({ responseBody: 'ok', contentType: 'text/plain' })
    let now = Date.UTC(2026, 0, 5, 9, 0, 0)
    const config = parseConfig({
      model_list: models,
      general_settings: { alerting: ['slack'], alert_types: ['daily_reports'], alerting_args: { daily_report_frequency: 86_400, report_check_interval: 0.05 } },
    }, { environment: { SLACK_WEBHOOK_URL: hook.url } })
    const previous = process.env.SLACK_WEBHOOK_URL
    process.env.SLACK_WEBHOOK_URL = hook.url
    const stores = [redisStore({ url: machineRedisUrl, prefix }), redisStore({ url: machineRedisUrl, prefix })]
    const proxies = await Promise.all(stores.map((store) => createProxyServer({ config, store, alertingClock: () => now })))
    try {
      const urls = await Promise.all(proxies.map(async (proxy) => (await proxy.listen({ port: 0 })).url))
      const openai = urls.map((url) => new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 }))
      for (let index = 0; index < 6; index++) await openai[index % 2]!.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: `call ${index}` }] })
      // Checked every 50 ms, the report of the running day is not due.
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(hook.requests).toHaveLength(0)
      now += 86_400_000
      await hook.waitFor(1)
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(hook.requests).toHaveLength(1)
      const text = (hook.requests[0]!.json as { text: string }).text
      expect(text).toMatch(/^Spend report for 2026-01-05T00:00:00\.000Z to 2026-01-06T00:00:00\.000Z: \$\S+ over 6 calls, 0 failed$/)
    } finally {
      await Promise.all(proxies.map((proxy) => proxy.close()))
      await Promise.all(stores.map((store) => store.close()))
      await hook.close()
      if (previous === undefined) delete process.env.SLACK_WEBHOOK_URL
      else process.env.SLACK_WEBHOOK_URL = previous
    }
  })
})
