/**
 * No credential leaves the process: a distinct secret is planted in every place one can enter — the
 * environment, provider options, a base URL's query, a request's `api_key`, the proxy request's
 * headers, metadata under every documented spelling and 10 levels deep, and an upstream 401 body that
 * echoes the key — with every integration on against local receivers. Then every byte each receiver
 * got, every reply, every log line, every hook's arguments and every thrown error is searched for
 * every secret. Once through the library, once through `llm-onion serve --logs` driven by the official
 * `openai` SDK.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { format, inspect } from 'node:util'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createClient, CustomLogger, openai, type Client } from 'llm-onion'
import { customLogger } from 'llm-onion/middleware/custom-logger'
import { observability } from 'llm-onion/middleware/observability'
import { startOpenAIFake, type OpenAIFake } from '../src/testing/openai-server'
import { startReceiver, type Receiver } from '../src/testing/receiver'
import { spawnProxy, type SpawnedProxy } from './proxy/fixtures/spawn-proxy'

/** Every planted secret by where it entered; each is distinct and long enough to be scrubbed. */
const planted = {
  openaiEnv: 'sk-plant-openai-env-7f3a91c2',
  geminiEnv: 'AIzaPlantGeminiEnv5b21d8e4',
  anthropicEnv: 'sk-ant-plant-anthropic-env-6c1d0f',
  providerOption: 'sk-plant-provider-option-44c0e1',
  baseUrlQuery: 'plant-base-query-9d7e2a61',
  requestApiKey: 'sk-plant-request-apikey-1b9f07',
  headerBearer: 'sk-plant-header-bearer-63ae55',
  headerApiKey: 'plant-header-x-api-key-2c8d41',
  masterKey: 'sk-plant-master-key-0e6b93',
  proxyQuery: 'plant-proxy-query-token-8a7b6c',
  metaApiKey: 'plant-meta-api_key-a1b2c3d4',
  metaApiKeyCamel: 'plant-meta-apiKey-e5f6a7b8',
  metaAuthorization: 'plant-meta-authorization-c9d0e1',
  metaXApiKey: 'plant-meta-x-api-key-f2a3b4c5',
  metaToken: 'plant-meta-token-d6e7f8a9',
  metaDeep: 'plant-meta-deep-10-levels-b0c1d2',
  helicone: 'sk-plant-helicone-3e4f5a6b',
  posthog: 'phc_plant-posthog-7c8d9e0f',
  langfusePublic: 'pk-lf-plant-public-1a2b3c4d',
  langfuseSecret: 'sk-lf-plant-secret-5e6f7a8b',
  lunary: 'plant-lunary-public-9c0d1e2f',
  athina: 'plant-athina-key-3a4b5c6d',
  lokiPassword: 'plant-loki-password-7e8f9a0b',
  datadog: 'plant-datadog-key-1c2d3e4f',
  sentryPublic: 'plantsentrypublickey5a6b7c8d',
  slackToken: 'plantSlackWebhookToken9e0f1a',
  logfire: 'pylf_v1_us_plantLogfireToken2b3c',
  traceloop: 'plant-traceloop-key-4d5e6f7a',
  webhookHeader: 'plant-webhook-header-8b9c0d1e',
  webhookSigning: 'plant-webhook-signing-2f3a4b5c',
  otlpHeader: 'plant-otlp-header-6d7e8f9a',
  otlpMetricsHeader: 'plant-otlp-metrics-header-0b1c2d',
  arize: 'plant-arize-key-3e4f5a6b',
  honeycomb: 'plant-honeycomb-key-7c8d9e0f',
  tempoPassword: 'plant-tempo-password-1a2b3c',
  agentops: 'plant-agentops-key-4d5e6f7a',
}
const secrets = Object.entries(planted)

/** The integrations' receivers, and the secrets each may legitimately receive: its own credentials. */
const receiverNames = ['helicone', 'posthog', 'langfuse', 'lunary', 'athina', 'loki', 'datadog', 'sentry', 'slack', 'logfire', 'traceloop', 'webhook', 'otlp', 'arize', 'honeycomb', 'tempo', 'agentops'] as const
type ReceiverName = (typeof receiverNames)[number]
const ownCredentials: Record<ReceiverName, string[]> = {
  helicone: [planted.helicone],
  posthog: [planted.posthog],
  langfuse: [planted.langfusePublic, planted.langfuseSecret],
  lunary: [planted.lunary],
  athina: [planted.athina],
  loki: [planted.lokiPassword],
  datadog: [planted.datadog],
  sentry: [planted.sentryPublic],
  slack: [planted.slackToken],
  logfire: [planted.logfire],
  traceloop: [planted.traceloop],
  webhook: [planted.webhookHeader],
  otlp: [planted.otlpHeader],
  arize: [planted.arize],
  honeycomb: [planted.honeycomb],
  tempo: [planted.tempoPassword],
  // Its key goes to its token endpoint (on the same receiver here), exchanged for the JWT it exports with.
  agentops: [planted.agentops],
}
/** How a receiver answers, where the default `{}` would not do: AgentOps' token endpoint. */
const receiverOptions: Partial<Record<ReceiverName, Parameters<typeof startReceiver>[0]>> = {
  agentops: { responseBody: JSON.stringify({ token: 'agentops-jwt', project_id: 'p' }), contentType: 'application/json' },
}

/** Metadata with a secret under each documented spelling, one 10 levels deep, and one plain field. */
function plantedMetadata(): Record<string, unknown> {
  let deep: Record<string, unknown> = { api_key: planted.metaDeep, authorization: `Bearer ${planted.metaDeep}` }
  for (let level = 0; level < 10; level++) deep = { level: deep }
  return {
    api_key: planted.metaApiKey,
    apiKey: planted.metaApiKeyCamel,
    authorization: `Bearer ${planted.metaAuthorization}`,
    'x-api-key': planted.metaXApiKey,
    token: planted.metaToken,
    nested: deep,
    team: 'search',
  }
}

/** The variables that switch every integration on against its receiver, each with a planted credential. */
function integrationEnvironment(receivers: Record<ReceiverName, Receiver>, logFile: string): Record<string, string> {
  return {
    GEMINI_API_KEY: planted.geminiEnv,
    ANTHROPIC_API_KEY: planted.anthropicEnv,
    HELICONE_API_KEY: planted.helicone,
    HELICONE_API_BASE: receivers.helicone.url,
    POSTHOG_API_KEY: planted.posthog,
    POSTHOG_API_URL: receivers.posthog.url,
    LANGFUSE_PUBLIC_KEY: planted.langfusePublic,
    LANGFUSE_SECRET_KEY: planted.langfuseSecret,
    LANGFUSE_HOST: receivers.langfuse.url,
    LUNARY_PUBLIC_KEY: planted.lunary,
    LUNARY_API_URL: receivers.lunary.url,
    ATHINA_API_KEY: planted.athina,
    ATHINA_BASE_URL: receivers.athina.url,
    LOKI_URL: receivers.loki.url,
    LOKI_USERNAME: 'loki-user',
    LOKI_PASSWORD: planted.lokiPassword,
    DD_API_KEY: planted.datadog,
    DD_BASE_URL: receivers.datadog.url,
    SENTRY_DSN: `http://${planted.sentryPublic}@127.0.0.1:${receivers.sentry.port}/42`,
    SLACK_WEBHOOK_URL: `${receivers.slack.url}/services/T000/B000/${planted.slackToken}`,
    LOGFIRE_TOKEN: planted.logfire,
    LOGFIRE_BASE_URL: receivers.logfire.url,
    TRACELOOP_API_KEY: planted.traceloop,
    TRACELOOP_BASE_URL: receivers.traceloop.url,
    GENERIC_LOGGER_ENDPOINT: `${receivers.webhook.url}/events`,
    GENERIC_LOGGER_HEADERS: `Authorization=Bearer ${planted.webhookHeader}`,
    GENERIC_LOGGER_SIGNING_SECRET: planted.webhookSigning,
    OTEL_EXPORTER_OTLP_ENDPOINT: receivers.otlp.url,
    OTEL_EXPORTER_OTLP_HEADERS: `api-key=${planted.otlpHeader}`,
    // A header of another signal: sent to nobody.
    OTEL_EXPORTER_OTLP_METRICS_HEADERS: `api-key=${planted.otlpMetricsHeader}`,
    ARIZE_API_KEY: planted.arize,
    ARIZE_SPACE_KEY: 'arize-space',
    ARIZE_HTTP_ENDPOINT: receivers.arize.url,
    HONEYCOMB_API_KEY: planted.honeycomb,
    HONEYCOMB_API_ENDPOINT: receivers.honeycomb.url,
    TEMPO_URL: receivers.tempo.url,
    TEMPO_USERNAME: 'tempo-user',
    TEMPO_PASSWORD: planted.tempoPassword,
    AGENTOPS_API_KEY: planted.agentops,
    AGENTOPS_AUTH_ENDPOINT: `${receivers.agentops.url}/v3/auth/token`,
    AGENTOPS_EXPORTER_ENDPOINT: `${receivers.agentops.url}/v1/traces`,
    LLM_ONION_LOG_FILE: logFile,
  }
}

/** Everything a receiver got, as one text: request lines, headers and bodies. */
function receivedText(receiver: Receiver): string {
  return receiver.requests.map((request) => `${request.method} ${request.path}?${request.query}\n${JSON.stringify(request.headers)}\n${request.text}`).join('\n')
}

/** The planted secrets found in `text`, except those `allowed` there. */
function leaks(text: string, allowed: string[] = []): string[] {
  return secrets.filter(([, secret]) => !allowed.includes(secret) && text.includes(secret)).map(([name]) => name)
}

/** Every receiver got the calls, the failures included, and none but its own credentials. */
function expectNoLeakAtReceivers(receivers: Record<ReceiverName, Receiver>): void {
  for (const name of receiverNames) {
    const text = receivedText(receivers[name])
    expect({ receiver: name, received: text.length > 0, leaks: leaks(text, ownCredentials[name]) }).toEqual({ receiver: name, received: true, leaks: [] })
  }
  // The echoing 401s reached the integrations (scrubbed): what the test looks for was there to leak.
  expect(receivedText(receivers.slack)).toContain('Incorrect API key provided: [redacted]')
}

/** Everything a thrown error carries: message, string form, and its inspection with causes and bodies. */
function errorText(error: unknown): string {
  return `${String(error)}\n${(error as Error)?.message}\n${inspect(error, { depth: 20 })}\n${JSON.stringify(error)}`
}

const ask = [{ role: 'user' as const, content: 'What is the capital of France?' }]

describe('no planted secret leaves the process', () => {
  let receivers: Record<ReceiverName, Receiver>
  let upstream: OpenAIFake
  let folder: string
  beforeAll(async () => {
    receivers = Object.fromEntries(await Promise.all(receiverNames.map(async (name) => [name, await startReceiver(receiverOptions[name])] as const))) as typeof receivers
    upstream = await startOpenAIFake()
    folder = await mkdtemp(join(tmpdir(), 'llm-onion-secrets-'))
  })
  afterAll(async () => {
    vi.unstubAllEnvs()
    vi.restoreAllMocks()
    await upstream?.close()
    await Promise.all(Object.values(receivers ?? {}).map((receiver) => receiver.close()))
    await rm(folder, { recursive: true, force: true })
  })

  /** The upstream's 401, echoing the key it was sent (as many OpenAI-compatible gateways do). */
  const echoingUnauthorised = (key: string) => ({
    kind: 'error' as const,
    status: 401,
    message: `Incorrect API key provided: ${key}. You can find your API key at https://example.invalid/keys (Authorization: Bearer ${key}).`,
  })

  it('through the library: receivers, jsonLog, console, hook arguments and thrown errors hold none', async () => {
    const logFile = join(folder, 'library.jsonl')
    const environment = integrationEnvironment(receivers, logFile)
    for (const [name, value] of Object.entries({ ...environment, OPENAI_API_KEY: planted.openaiEnv, OPENAI_BASE_URL: upstream.url })) vi.stubEnv(name, value)
    const printed: string[] = []
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void printed.push(format(...args)))
    }
    const hookArguments: string[] = []
    class Dumper extends CustomLogger {
      override logPreApiCall(...args: unknown[]) { hookArguments.push(inspect(args, { depth: 20 })) }
      override logSuccessEvent(...args: unknown[]) { hookArguments.push(inspect(args, { depth: 20 })) }
      override logFailureEvent(...args: unknown[]) { hookArguments.push(inspect(args, { depth: 20 })) }
      override logStreamEvent(...args: unknown[]) { hookArguments.push(inspect(args, { depth: 20 })) }
    }
    const gateway = openai({ name: 'gateway', apiKey: planted.providerOption, baseURL: `${upstream.url}?key=${planted.baseUrlQuery}`, transport: 'http' })
    const client: Client = createClient({ providers: { gateway } })
    // otlp is never switched on by a variable (OTEL_EXPORTER_OTLP_ENDPOINT switches on otel()): asked for here.
    client.use(observability({ consoleLog: true, otlp: true }), customLogger(new Dumper()))

    const thrown: string[] = []
    const request = { messages: ask, metadata: plantedMetadata(), api_key: planted.requestApiKey, user: 'user-7' }
    await client.chat({ model: 'openai/gpt-4o-mini', ...request })
    for await (const _chunk of client.stream({ model: 'gateway/gateway-model', ...request })) void _chunk
    upstream.enqueue(echoingUnauthorised(planted.openaiEnv), echoingUnauthorised(`${planted.providerOption} for ?key=${planted.baseUrlQuery}`))
    for (const model of ['openai/gpt-4o-mini', 'gateway/gateway-model']) {
      await client.chat({ model, ...request }).then(
        () => expect.unreachable('the upstream answered 401'),
        (error: unknown) => void thrown.push(errorText(error)),
      )
    }
    await client.close()

    // The provider's own key reaches the upstream (that is its job); the request's api_key never does.
    const upstreamBodies = upstream.requests.map((received) => JSON.stringify(received.body)).join('\n')
    expect(leaks(upstreamBodies)).toEqual([])
    expect(thrown.join('\n')).toContain('Incorrect API key provided: [redacted]')
    expectNoLeakAtReceivers(receivers)
    expect(leaks(await readFile(logFile, 'utf8'))).toEqual([])
    expect(leaks(printed.join('\n'))).toEqual([])
    expect(hookArguments.length).toBeGreaterThan(0)
    expect(leaks(hookArguments.join('\n'))).toEqual([])
    expect(leaks(thrown.join('\n'))).toEqual([])
    vi.restoreAllMocks()
    vi.unstubAllEnvs()
    for (const receiver of Object.values(receivers)) receiver.requests.length = 0
  })

  it('through llm-onion serve --logs: replies, receivers, jsonLog, its output and hook arguments hold none', async () => {
    const logFile = join(folder, 'proxy.jsonl')
    const dumpFile = join(folder, 'kwargs.txt')
    let proxy: SpawnedProxy | undefined
    try {
      proxy = await spawnProxy(['--config', 'test/proxy/fixtures/secrets-config.yaml', '--logs'], {
        ...integrationEnvironment(receivers, logFile),
        OPENAI_API_KEY: planted.openaiEnv,
        SECRETS_TEST_OPENAI_BASE: upstream.url,
        SECRETS_TEST_GATEWAY_KEY: planted.providerOption,
        SECRETS_TEST_GATEWAY_BASE: `${upstream.url}?key=${planted.baseUrlQuery}`,
        SECRETS_TEST_MASTER_KEY: planted.masterKey,
        SECRETS_TEST_DUMP: dumpFile,
      })
      const sdk = new OpenAI({ baseURL: `${proxy.url}/v1`, defaultQuery: { token: planted.proxyQuery }, apiKey: planted.masterKey, maxRetries: 0, defaultHeaders: { 'x-api-key': planted.headerApiKey, 'x-auth-token': planted.headerBearer } })
      const body = { messages: ask, metadata: plantedMetadata(), api_key: planted.requestApiKey, user: 'user-7' } as Record<string, unknown>
      const replies: string[] = []
      const thrown: string[] = []
      replies.push(JSON.stringify(await sdk.chat.completions.create({ model: 'gpt-4o-mini', ...body } as never)))
      const stream = await sdk.chat.completions.create({ model: 'gateway-model', stream: true, ...body } as never)
      for await (const chunk of stream as unknown as AsyncIterable<unknown>) replies.push(JSON.stringify(chunk))
      upstream.enqueue(echoingUnauthorised(planted.openaiEnv), echoingUnauthorised(`${planted.providerOption} for ?key=${planted.baseUrlQuery}`))
      for (const model of ['gpt-4o-mini', 'gateway-model']) {
        await sdk.chat.completions.create({ model, ...body } as never).then(
          () => expect.unreachable('the upstream answered 401'),
          (error: unknown) => void thrown.push(errorText(error)),
        )
      }
      // The same failure read raw, byte for byte as the proxy sent it.
      upstream.enqueue(echoingUnauthorised(planted.openaiEnv))
      const raw = await fetch(`${proxy.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${planted.masterKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', ...body }),
      })
      replies.push(`${raw.status} ${JSON.stringify(Object.fromEntries(raw.headers as unknown as Iterable<[string, string]>))} ${await raw.text()}`)
      expect(raw.status).toBe(401)
      expect(await proxy.stop()).toBe(0)

      expect(thrown.join('\n')).toContain('Incorrect API key provided: [redacted]')
      expect(leaks(replies.join('\n'))).toEqual([])
      expect(leaks(thrown.join('\n'))).toEqual([])
      const upstreamBodies = upstream.requests.map((received) => JSON.stringify(received.body)).join('\n')
      expect(leaks(upstreamBodies)).toEqual([])
      expectNoLeakAtReceivers(receivers)
      expect(leaks(await readFile(logFile, 'utf8'))).toEqual([])
      const output = proxy.output()
      expect(output).toContain('failure chat gpt-4o-mini')
      expect(leaks(output)).toEqual([])
      const dumped = await readFile(dumpFile, 'utf8')
      expect(dumped).toContain('proxy_server_request')
      expect(leaks(dumped)).toEqual([])
    } finally {
      await proxy?.stop()
    }
  })
})
