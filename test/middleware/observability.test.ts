import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { observability, presets } from 'llm-onion/middleware/observability'
import type { PrometheusLayer } from 'llm-onion/middleware/prometheus'
import { startReceiver, type Receiver } from '../../src/testing/receiver'
import { prompt, runCalls } from './exporter-contract'

const services = ['helicone', 'posthog', 'lunary', 'athina', 'loki', 'slack', 'langfuse', 'sentry', 'datadog'] as const

describe('observability()', () => {
  let receivers: Record<(typeof services)[number], Receiver>
  let folder: string
  let env: Record<string, string>
  let client: Client | undefined
  beforeEach(async () => {
    receivers = Object.fromEntries(await Promise.all(services.map(async (name) => [name, await startReceiver()] as const))) as typeof receivers
    folder = await mkdtemp(join(tmpdir(), 'llm-onion-observability-'))
    env = {
      HELICONE_API_KEY: 'hc-key',
      HELICONE_API_BASE: receivers.helicone.url,
      POSTHOG_API_KEY: 'phc_key',
      POSTHOG_API_URL: receivers.posthog.url,
      LUNARY_PUBLIC_KEY: 'lunary-key',
      LUNARY_API_URL: receivers.lunary.url,
      ATHINA_API_KEY: 'athina-key',
      ATHINA_BASE_URL: receivers.athina.url,
      LOKI_URL: receivers.loki.url,
      SLACK_WEBHOOK_URL: `${receivers.slack.url}/services/hook`,
      LANGFUSE_PUBLIC_KEY: 'pk-lf-test',
      LANGFUSE_SECRET_KEY: 'sk-lf-test',
      LANGFUSE_HOST: receivers.langfuse.url,
      SENTRY_DSN: `http://sentry-public-key@127.0.0.1:${receivers.sentry.port}/42`,
      DD_API_KEY: 'dd-key',
      DD_BASE_URL: receivers.datadog.url,
      LLM_ONION_LOG_FILE: join(folder, 'calls.jsonl'),
    }
  })
  afterEach(async () => {
    await client?.close()
    client = undefined
    await Promise.all(Object.values(receivers).map((receiver) => receiver.close()))
    await rm(folder, { recursive: true, force: true })
  })

  it('enables every integration whose variables are set and each receiver gets its calls', async () => {
    const layer = observability({ env, quiet: true })
    expect(layer.enabled).toEqual(['sentry', 'langfuse', 'datadog', 'helicone', 'posthog', 'lunary', 'athina', 'loki', 'slack', 'jsonLog'])
    client = createClient().use(layer)
    await runCalls(client)

    expect(receivers.helicone.requests.map((request) => request.path)).toEqual(['/custom/v1/log', '/custom/v1/log', '/custom/v1/log'])
    expect(receivers.posthog.requests.flatMap((request) => (request.json as { batch: unknown[] }).batch)).toHaveLength(3)
    expect(receivers.lunary.requests.flatMap((request) => (request.json as { events: unknown[] }).events)).toHaveLength(6)
    expect(receivers.athina.requests).toHaveLength(3)
    expect(receivers.loki.requests[0]!.path).toBe('/loki/api/v1/push')
    // Slack only alerts: the one failure.
    expect(receivers.slack.requests.map((request) => request.path)).toEqual(['/services/hook'])
    expect(receivers.langfuse.requests[0]!.path).toBe('/api/public/otel/v1/traces')
    expect(receivers.langfuse.requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from('pk-lf-test:sk-lf-test').toString('base64')}`)
    // Sentry: the failure only.
    expect(receivers.sentry.requests.map((request) => request.path)).toEqual(['/api/42/envelope/'])
    expect(receivers.datadog.requests.map((request) => request.path)).toContain('/api/v2/logs')
    const lines = (await readFile(env.LLM_ONION_LOG_FILE!, 'utf8')).trimEnd().split('\n')
    expect(lines).toHaveLength(3)
  })

  it('says which integrations it enabled in one console.info line', () => {
    const info = vi.spyOn(console, 'info').mockImplementation(() => {})
    try {
      observability({ env: { HELICONE_API_KEY: 'k', SLACK_WEBHOOK_URL: 'http://127.0.0.1:9/hook' } })
      observability({ env: {} })
      expect(info.mock.calls).toEqual([
        ['[llm-onion] observability(): enabled helicone, slack.'],
        [expect.stringMatching(/^\[llm-onion\] observability\(\): no integration enabled; none of .*LANGFUSE_PUBLIC_KEY \+ LANGFUSE_SECRET_KEY.*HELICONE_API_KEY.* is set\.$/)],
      ])
    } finally {
      info.mockRestore()
    }
  })

  it('with no credentials enables nothing and passes calls through', async () => {
    const layer = observability({ env: {}, quiet: true })
    expect(layer.enabled).toEqual([])
    client = createClient().use(layer)
    const reply = await client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'hello' })
    expect(reply.choices[0]!.message.content).toBe('hello')
  })

  it('leaves out an integration set to false and adds one set to true or given options', () => {
    const layer = observability({ env, quiet: true, helicone: false, posthog: false, prometheus: true, consoleLog: { write: () => {} } })
    expect(layer.enabled).not.toContain('helicone')
    expect(layer.enabled).not.toContain('posthog')
    expect(layer.enabled).toContain('prometheus')
    expect(layer.enabled).toContain('consoleLog')
    expect(typeof (layer.integrations.prometheus as PrometheusLayer).metrics).toBe('function')
  })

  it('an integration asked for by name without its credentials fails naming the variable', () => {
    expect(() => observability({ env: {}, quiet: true, helicone: true })).toThrow(/HELICONE_API_KEY/)
  })

  it('detect: false enables only the integrations named', () => {
    expect(observability({ env, quiet: true, detect: false, slack: true }).enabled).toEqual(['slack'])
  })

  it('never sends the provider API key or an authorization header to any receiver', async () => {
    client = createClient().use(observability({ env, quiet: true }))
    await runCalls(client)

    for (const receiver of Object.values(receivers)) {
      expect(receiver.requests.length).toBeGreaterThan(0)
      for (const request of receiver.requests) {
        expect(request.text).not.toContain('sk-secret')
        expect(request.text).not.toContain('sk-provider-secret')
        expect(request.text.toLowerCase()).not.toContain('bearer')
      }
    }
    const file = await readFile(env.LLM_ONION_LOG_FILE!, 'utf8')
    expect(file).not.toContain('sk-secret')
  })

  it.each([
    ['on the client', { client: { messages: true }, layer: undefined }],
    ['on observability()', { client: undefined, layer: { messages: true } }],
  ])('redact: { messages: true } %s removes prompt and completion content from every sink', async (_where, redact) => {
    client = createClient({ redact: redact.client }).use(observability({ env, quiet: true, redact: redact.layer }))
    await runCalls(client)

    for (const receiver of Object.values(receivers)) {
      for (const request of receiver.requests) {
        expect(request.text).not.toContain('capital of France')
        expect(request.text).not.toContain('Paris')
      }
    }
    const file = await readFile(env.LLM_ONION_LOG_FILE!, 'utf8')
    expect(file).not.toContain('Paris')
    expect(file).toContain('[redacted]')
  })

  it('presets.development prints a line per call and writes the JSON-lines file', async () => {
    const lines: string[] = []
    const layer = presets.development({ env, quiet: true, consoleLog: { write: (line) => lines.push(line) } })
    expect(layer.enabled).toEqual(['jsonLog', 'consoleLog'])
    client = createClient().use(layer)
    await runCalls(client)

    expect(lines).toHaveLength(3)
    expect((await readFile(env.LLM_ONION_LOG_FILE!, 'utf8')).trimEnd().split('\n')).toHaveLength(3)
    expect(receivers.helicone.requests).toHaveLength(0)
  })

  it('presets.langfuseSentrySlack enables exactly those three and fails naming a missing variable', () => {
    expect(presets.langfuseSentrySlack({ env, quiet: true }).enabled).toEqual(['sentry', 'langfuse', 'slack'])
    expect(() => presets.langfuseSentrySlack({ env: { ...env, SENTRY_DSN: '' }, quiet: true })).toThrow(/SENTRY_DSN/)
  })

  it('presets.grafana needs LOKI_URL and serves metrics', () => {
    expect(() => presets.grafana({ env: {}, quiet: true })).toThrow(/LOKI_URL/)
    const layer = presets.grafana({ env, quiet: true })
    expect(layer.enabled).toEqual(['loki', 'prometheus'])
  })

  it('rejects an unknown integration name, naming it', () => {
    expect(() => observability({ helicon: true } as never)).toThrow(/observability\(\) options/)
  })
})
