/**
 * Every vendor preset of otlp() (middleware/otlp-presets.ts), one parameterised test per preset
 * against a local receiver: the path, the auth headers and the vendor's attributes each documents,
 * spans decoded with the official protobuf definitions, and the exporter contract (no secret in a
 * payload, redaction honoured). The catalogue test accepts this file as each preset's test file.
 */
import { describe, expect, it } from 'vitest'
import { createClient, type Client, type Middleware } from 'llm-onion'
import { agentops, arize, arizePhoenix, braintrust, honeycomb, langtrace, mlflow, newrelic, opik, otlpPresetIntegrations, tempo, weaveOtel } from 'llm-onion/middleware/otlp-presets'
import { decodeOtlpTraces, SpanKind } from '../fakes/otlp-decoder'
import { exporterContract, receiverPerTest, runCalls } from './exporter-contract'
import { otlpPayloadOf } from './otlp-spans'

const clientOptions = { queue: { minTimeoutMs: 10 } }
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
/** What the receiver answers: AgentOps' token endpoint reads it; the OTLP endpoints ignore it. */
const tokenAnswer = JSON.stringify({ token: 'jwt-agentops-1', project_id: 'project-1' })

interface PresetCase {
  /** Builds the layer from variables only, pointing at the receiver. */
  layer: (url: string, redact?: { messages?: boolean }) => Middleware
  path: string
  headers: Record<string, string>
  /** The variable construction fails naming when nothing is given, or undefined when nothing is required. */
  requires: string | undefined
  /** Credentials that may go in headers but never in a payload. */
  secrets: string[]
  attributes?: Record<string, unknown>
  resource?: Record<string, unknown>
}

const cases: Record<string, PresetCase> = {
  arize: {
    requires: 'ARIZE_API_KEY',
    layer: (url, redact) => arize({ redact, env: { ARIZE_API_KEY: 'arize-key-1', ARIZE_SPACE_KEY: 'space-1', ARIZE_HTTP_ENDPOINT: `${url}/v1`, ARIZE_PROJECT_NAME: 'shop' } }),
    path: '/v1/traces',
    headers: { space_id: 'space-1', api_key: 'arize-key-1' },
    secrets: ['arize-key-1'],
    attributes: {
      'openinference.span.kind': 'LLM',
      'llm.model_name': 'echo',
      'llm.input_messages.0.message.role': 'user',
      'llm.input_messages.0.message.content': 'What is the capital of France?',
      'llm.output_messages.0.message.content': 'Paris is the capital.',
      'output.value': 'Paris is the capital.',
    },
    resource: { model_id: 'shop', 'openinference.project.name': 'shop' },
  },
  arizePhoenix: {
    requires: undefined,
    layer: (url, redact) => arizePhoenix({ redact, env: { PHOENIX_COLLECTOR_ENDPOINT: url, PHOENIX_API_KEY: 'phoenix-key-1', PHOENIX_PROJECT_NAME: 'shop' } }),
    path: '/v1/traces',
    headers: { authorization: 'Bearer phoenix-key-1' },
    secrets: ['phoenix-key-1'],
    attributes: { 'openinference.span.kind': 'LLM', 'llm.token_count.prompt': expect.any(Number), 'input.mime_type': 'application/json' },
    resource: { 'openinference.project.name': 'shop' },
  },
  langtrace: {
    requires: 'LANGTRACE_API_KEY',
    layer: (url, redact) => langtrace({ redact, env: { LANGTRACE_API_KEY: 'langtrace-key-1', LANGTRACE_API_HOST: url } }),
    path: '/api/trace',
    headers: { 'x-api-key': 'langtrace-key-1' },
    secrets: ['langtrace-key-1'],
  },
  weaveOtel: {
    requires: 'WANDB_API_KEY',
    layer: (url, redact) => weaveOtel({ redact, env: { WANDB_API_KEY: 'wandb-key-1', WANDB_PROJECT_ID: 'team/shop', WANDB_HOST: url } }),
    path: '/otel/v1/traces',
    headers: { authorization: basic('api', 'wandb-key-1'), project_id: 'team/shop' },
    secrets: ['wandb-key-1'],
  },
  opik: {
    requires: undefined,
    layer: (url, redact) => opik({ redact, env: { OPIK_API_KEY: 'opik-key-1', OPIK_WORKSPACE: 'team', OPIK_PROJECT_NAME: 'shop', OPIK_URL_OVERRIDE: `${url}/opik/api` } }),
    path: '/opik/api/v1/private/otel/v1/traces',
    headers: { authorization: 'opik-key-1', 'comet-workspace': 'team', projectname: 'shop' },
    secrets: ['opik-key-1'],
  },
  braintrust: {
    requires: 'BRAINTRUST_API_KEY',
    layer: (url, redact) => braintrust({ redact, env: { BRAINTRUST_API_KEY: 'braintrust-key-1', BRAINTRUST_API_BASE: url, BRAINTRUST_PROJECT_ID: 'proj-9' } }),
    path: '/otel/v1/traces',
    headers: { authorization: 'Bearer braintrust-key-1', 'x-bt-parent': 'project_id:proj-9' },
    secrets: ['braintrust-key-1'],
  },
  mlflow: {
    requires: 'MLFLOW_TRACKING_URI',
    layer: (url, redact) => mlflow({ redact, env: { MLFLOW_TRACKING_URI: url, MLFLOW_EXPERIMENT_ID: '12', MLFLOW_TRACKING_TOKEN: 'mlflow-token-1' } }),
    path: '/v1/traces',
    headers: { 'x-mlflow-experiment-id': '12', authorization: 'Bearer mlflow-token-1' },
    secrets: ['mlflow-token-1'],
  },
  agentops: {
    requires: 'AGENTOPS_API_KEY',
    layer: (url, redact) =>
      agentops({ redact, env: { AGENTOPS_API_KEY: 'agentops-key-1', AGENTOPS_EXPORTER_ENDPOINT: `${url}/v1/traces`, AGENTOPS_AUTH_ENDPOINT: `${url}/v3/auth/token` } }),
    path: '/v1/traces',
    headers: { authorization: 'Bearer jwt-agentops-1' },
    secrets: ['agentops-key-1'],
    resource: { 'service.name': 'agentops', 'deployment.environment': 'production' },
  },
  newrelic: {
    requires: 'NEW_RELIC_LICENSE_KEY',
    layer: (url, redact) => newrelic({ redact, captureContent: true, baseUrl: url, env: { NEW_RELIC_LICENSE_KEY: 'newrelic-key-1', NEW_RELIC_APP_NAME: 'shop' } }),
    path: '/v1/traces',
    headers: { 'api-key': 'newrelic-key-1' },
    secrets: ['newrelic-key-1'],
    resource: { 'service.name': 'shop' },
  },
  honeycomb: {
    requires: 'HONEYCOMB_API_KEY',
    layer: (url, redact) => honeycomb({ redact, captureContent: true, env: { HONEYCOMB_API_KEY: 'honeycomb-key-1', HONEYCOMB_API_ENDPOINT: url, HONEYCOMB_DATASET: 'llm' } }),
    path: '/v1/traces',
    headers: { 'x-honeycomb-team': 'honeycomb-key-1', 'x-honeycomb-dataset': 'llm' },
    secrets: ['honeycomb-key-1'],
  },
  tempo: {
    requires: 'TEMPO_URL',
    layer: (url, redact) => tempo({ redact, captureContent: true, env: { TEMPO_URL: `${url}/otlp`, TEMPO_USERNAME: '12345', TEMPO_PASSWORD: 'tempo-token-1', TEMPO_TENANT_ID: 'team-a' } }),
    path: '/otlp/v1/traces',
    headers: { authorization: basic('12345', 'tempo-token-1'), 'x-scope-orgid': 'team-a' },
    secrets: ['tempo-token-1'],
  },
}

describe('otlp() vendor presets', () => {
  it('covers every preset of the table', () => {
    expect(Object.keys(cases).sort()).toEqual(otlpPresetIntegrations.map((integration) => integration.name).sort())
  })

  for (const integration of otlpPresetIntegrations) {
    const preset = cases[integration.name]!
    describe(`${integration.name}()`, () => {
      let client: Client
      const receiver = receiverPerTest({ client: () => client, responseBody: tokenAnswer, contentType: 'application/json' })

      it(`sends gzip OTLP protobuf to ${preset.path} with its auth headers and attributes`, async () => {
        client = createClient(clientOptions).use(preset.layer(receiver.url))
        await runCalls(client)

        const exports = receiver.requests.filter((request) => request.path !== '/v3/auth/token')
        expect(exports.length).toBeGreaterThan(0)
        for (const request of exports) {
          expect(request.path).toBe(preset.path)
          expect(request.headers['content-type']).toBe('application/x-protobuf')
          expect(request.headers['content-encoding']).toBe('gzip')
          for (const [header, value] of Object.entries(preset.headers)) expect(request.headers[header], header).toBe(value)
        }
        const spans = exports.flatMap((request) => decodeOtlpTraces(request.body))
        expect(spans).toHaveLength(3)
        expect(spans[0]!.kind).toBe(SpanKind.CLIENT)
        expect(spans[0]!.attributes['gen_ai.operation.name']).toBe('chat')
        if (preset.attributes) expect(spans[0]!.attributes).toMatchObject(preset.attributes)
        if (preset.resource) expect(spans[0]!.resource).toMatchObject(preset.resource)
      })

      exporterContract({
        name: integration.name,
        layer: (url, redact) => preset.layer(url, redact),
        client: clientOptions,
        receiver: { responseBody: tokenAnswer, contentType: 'application/json' },
        // AgentOps' token request carries its key by design (to its own auth endpoint); the exports are the payloads.
        isPayload: (request) => request.path !== '/v3/auth/token',
        payloadOf: otlpPayloadOf,
        secrets: preset.secrets,
      })

      it(preset.requires ? `fails at construction naming ${preset.requires} when it is not set` : 'builds with no setting at all (a local, keyless server)', () => {
        if (preset.requires) expect(() => integration.factory({ env: {} })).toThrow(new RegExp(`needs ${preset.requires}`))
        else expect(() => integration.factory({ env: {} })).not.toThrow()
      })
    })
  }

  it('agentops() exchanges its API key for a token once, before the first export', async () => {
    const { startReceiver } = await import('../../src/testing/receiver')
    const receiver = await startReceiver({ responseBody: tokenAnswer, contentType: 'application/json' })
    const client = createClient(clientOptions).use(cases.agentops!.layer(receiver.url))
    try {
      await runCalls(client)
      await client.chat({ model: 'mock/echo', messages: [{ role: 'user', content: 'again' }] })
      await client.flush()
      const tokenRequests = receiver.requests.filter((request) => request.path === '/v3/auth/token')
      expect(tokenRequests).toHaveLength(1)
      expect(tokenRequests[0]!.json).toEqual({ api_key: 'agentops-key-1' })
      expect(receiver.requests.indexOf(tokenRequests[0]!)).toBe(0)
    } finally {
      await client.close()
      await receiver.close()
    }
  })

  it('agentops() drops the batch as rejected when the token exchange is refused, naming AGENTOPS_API_KEY but not the key', async () => {
    const { startReceiver } = await import('../../src/testing/receiver')
    const receiver = await startReceiver({ responseBody: JSON.stringify({ error: 'invalid api key agentops-key-1' }), contentType: 'application/json' })
    receiver.answerWith(401)
    const drops: string[] = []
    const client = createClient({ ...clientOptions, queue: { onDrop: (drop) => void drops.push(String((drop.error as Error | undefined)?.message)) } }).use(cases.agentops!.layer(receiver.url))
    try {
      const reply = await client.chat({ model: 'mock/echo', messages: [{ role: 'user', content: 'Hello' }], mock_response: 'fine' })
      await client.flush()
      expect(reply.choices[0]!.message.content).toBe('fine')
      expect(receiver.requests.map((request) => request.path)).toEqual(['/v3/auth/token'])
      expect(client.services.queue.stats().sinks.agentops!.dropped.rejected).toBe(1)
      expect(drops.join('\n')).toContain('AGENTOPS_API_KEY')
      expect(drops.join('\n')).not.toContain('agentops-key-1')
    } finally {
      await client.close()
      await receiver.close()
    }
  })
})
