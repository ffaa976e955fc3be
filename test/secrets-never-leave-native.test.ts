/**
 * No credential leaves the process through the native mappings of issue 16 (LangSmith, PagerDuty,
 * Microsoft Teams, Discord, Resend, SendGrid, OpenMeter, Lago, CloudZero, Greenscale, PromptLayer, Humanloop, Argilla,
 * Microsoft Sentinel, DeepEval, Literal AI, Galileo): the same planted secrets as test/secrets-never-leave.test.ts — the
 * provider's key in the environment and in options, a base URL's query, a request's `api_key`, the
 * HTTP request's headers, metadata under every documented spelling and 10 levels deep, an upstream
 * 401 that echoes the key — with every one of these integrations on against its own local receiver,
 * each with a planted credential of its own. Every byte each receiver got is searched for every
 * secret but its own.
 */
import { inspect } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient, openai, type Client } from 'llm-onion'
import { observability } from 'llm-onion/middleware/observability'
import { startOpenAIFake, type OpenAIFake } from '../src/testing/openai-server'
import { startReceiver, type Receiver } from '../src/testing/receiver'

const planted = {
  openaiEnv: 'sk-plant-native-openai-env-5d1c',
  providerOption: 'sk-plant-native-provider-8e2f',
  baseUrlQuery: 'plant-native-base-query-3b7a',
  requestApiKey: 'sk-plant-native-request-9a4d',
  headerBearer: 'sk-plant-native-header-6c0e',
  metaApiKey: 'plant-native-meta-api_key-1f2e',
  metaAuthorization: 'plant-native-meta-auth-7d3c',
  metaToken: 'plant-native-meta-token-4b5a',
  metaDeep: 'plant-native-meta-deep-2e9f',
  langsmith: 'lsv2_plant-native-langsmith-0a1b',
  pagerduty: 'plantNativePagerdutyRouting2c3d',
  teams: 'plantNativeTeamsWebhookToken4e5f',
  discord: 'plantNativeDiscordWebhookToken6a7b',
  resend: 're_plantNativeResendKey8c9d',
  sendgrid: 'SG.plantNativeSendgridKey0e1f',
  openmeter: 'om_plantNativeOpenmeterKey2a3b',
  deepeval: 'plantNativeConfidentApiKey6c7d',
  lago: 'plantNativeLagoApiKey4c5d',
  cloudzero: 'plantNativeCloudzeroApiKey7b8c',
  greenscale: 'plantNativeGreenscaleKey6e7f',
  promptlayer: 'pl_plantNativePromptlayerKey8a9b',
  humanloop: 'hl_sk_plantNativeHumanloopKey0c1d',
  argilla: 'plantNativeArgillaApiKey2e3f',
  azureClientSecret: 'plantNativeAzureClientSecret4a5b',
  literalai: 'lsk_plantNativeLiteralaiKey6c7d',
  galileoPassword: 'plantNativeGalileoPassword6c7d',
}
const secrets = Object.entries(planted)

const receiverNames = ['langsmith', 'pagerduty', 'teams', 'discord', 'resend', 'sendgrid', 'openmeter', 'lago', 'cloudzero', 'greenscale', 'promptlayer', 'humanloop', 'argilla', 'azureSentinel', 'deepeval', 'literalai', 'galileo'] as const
/** What a receiver answers when the integration reads the answer (a token, a dataset list); else `{}`. */
const answers: Partial<Record<ReceiverName, string>> = {
  azureSentinel: JSON.stringify({ token_type: 'Bearer', expires_in: 3600, access_token: 'native-azure-token-6c7d8e9f' }),
  galileo: JSON.stringify({ access_token: 'native-galileo-token-8e9f0a1b', token_type: 'bearer' }),
  argilla: JSON.stringify({ items: [{ id: '3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f', name: 'llm-calls' }] }),
  literalai: JSON.stringify({ data: { step0: { ok: true, message: null } } }),
}
type ReceiverName = (typeof receiverNames)[number]

function plantedMetadata(): Record<string, unknown> {
  let deep: Record<string, unknown> = { api_key: planted.metaDeep }
  for (let level = 0; level < 10; level++) deep = { level: deep }
  return { api_key: planted.metaApiKey, authorization: `Bearer ${planted.metaAuthorization}`, token: planted.metaToken, nested: deep, team: 'search' }
}

function leaks(text: string, allowed: string[] = []): string[] {
  return secrets.filter(([, secret]) => !allowed.includes(secret) && text.includes(secret)).map(([name]) => name)
}

describe('no planted secret leaves the process through langsmith, pagerduty, teams, discord, resend_email, sendgrid_email, openmeter, lago, cloudzero, greenscale, promptlayer, humanloop, argilla, azure_sentinel, deepeval, literalai or galileo', () => {
  let receivers: Record<ReceiverName, Receiver>
  let upstream: OpenAIFake
  beforeAll(async () => {
    receivers = Object.fromEntries(await Promise.all(receiverNames.map(async (name) => [name, await startReceiver({ responseBody: answers[name] })] as const))) as typeof receivers
    upstream = await startOpenAIFake()
  })
  afterAll(async () => {
    await upstream?.close()
    await Promise.all(Object.values(receivers ?? {}).map((receiver) => receiver.close()))
  })

  it('each receiver gets the calls (the failures included) and none but its own credential', async () => {
    const env = {
      LANGSMITH_API_KEY: planted.langsmith,
      LANGSMITH_BASE_URL: receivers.langsmith.url,
      PAGERDUTY_API_KEY: planted.pagerduty,
      PAGERDUTY_API_BASE: receivers.pagerduty.url,
      MICROSOFT_TEAMS_WEBHOOK_URL: `${receivers.teams.url}/webhookb2/${planted.teams}`,
      DISCORD_WEBHOOK_URL: `${receivers.discord.url}/api/webhooks/1/${planted.discord}`,
      RESEND_API_KEY: planted.resend,
      RESEND_FROM_EMAIL: 'alerts@example.com',
      RESEND_API_BASE: receivers.resend.url,
      SENDGRID_API_KEY: planted.sendgrid,
      SENDGRID_SENDER_EMAIL: 'alerts@example.com',
      SENDGRID_API_BASE: receivers.sendgrid.url,
      LLM_ONION_ALERT_EMAILS: 'oncall@example.com',
      OPENMETER_API_KEY: planted.openmeter,
      OPENMETER_API_ENDPOINT: receivers.openmeter.url,
      CONFIDENT_API_KEY: planted.deepeval,
      CONFIDENT_BASE_URL: receivers.deepeval.url,
      LAGO_API_KEY: planted.lago,
      LAGO_API_EVENT_CODE: 'llm_tokens',
      LAGO_API_BASE: receivers.lago.url,
      CLOUDZERO_API_KEY: planted.cloudzero,
      CLOUDZERO_CONNECTION_ID: '1234abcd-1234-abcd-1234-abcd1234efgh',
      CLOUDZERO_API_BASE: receivers.cloudzero.url,
      GREENSCALE_API_KEY: planted.greenscale,
      GREENSCALE_ENDPOINT: `${receivers.greenscale.url}/log`,
      PROMPTLAYER_API_KEY: planted.promptlayer,
      URL_API_PROMPTLAYER: receivers.promptlayer.url,
      HUMANLOOP_API_KEY: planted.humanloop,
      HUMANLOOP_BASE_URL: receivers.humanloop.url,
      ARGILLA_API_KEY: planted.argilla,
      ARGILLA_BASE_URL: receivers.argilla.url,
      ARGILLA_DATASET_NAME: 'llm-calls',
      AZURE_SENTINEL_DCR_IMMUTABLE_ID: 'dcr-00112233445566778899aabbccddeeff',
      AZURE_SENTINEL_ENDPOINT: receivers.azureSentinel.url,
      AZURE_SENTINEL_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47',
      AZURE_SENTINEL_CLIENT_ID: '0b2c3d4e-5f60-4718-9a0b-1c2d3e4f5a6b',
      AZURE_SENTINEL_CLIENT_SECRET: planted.azureClientSecret,
      AZURE_AUTHORITY_HOST: receivers.azureSentinel.url,
      LITERAL_API_KEY: planted.literalai,
      LITERAL_API_URL: receivers.literalai.url,
      // Galileo's login flow: the password goes to /login only, the token it answers only in a header.
      GALILEO_PROJECT_ID: 'b3c4d5e6-f7a8-4b9c-8d0e-1f2a3b4c5d6e',
      GALILEO_USERNAME: 'observer@example.com',
      GALILEO_PASSWORD: planted.galileoPassword,
      GALILEO_BASE_URL: receivers.galileo.url,
    }
    const layer = observability({ quiet: true, env })
    expect([...layer.enabled].sort()).toEqual(
      ['argilla', 'azureSentinel', 'cloudzero', 'deepeval', 'discord', 'galileo', 'greenscale', 'humanloop', 'lago', 'langsmith', 'literalai', 'openmeter', 'pagerduty', 'promptlayer', 'resendEmail', 'sendgridEmail', 'teams'].sort(),
    )
    const gateway = openai({ name: 'gateway', apiKey: planted.providerOption, baseURL: `${upstream.url}?key=${planted.baseUrlQuery}`, transport: 'http' })
    const direct = openai({ apiKey: planted.openaiEnv, baseURL: upstream.url, transport: 'http' })
    const client: Client = createClient({ providers: { gateway, openai: direct } }).use(layer)
    const http = { method: 'POST', url: '/v1/chat/completions', headers: { authorization: `Bearer ${planted.headerBearer}` } }
    const request = { messages: [{ role: 'user' as const, content: 'What is the capital of France?' }], metadata: plantedMetadata(), api_key: planted.requestApiKey, user: 'user-7' }

    await client.chat({ model: 'openai/gpt-4o-mini', ...request }, { http })
    for await (const _chunk of client.stream({ model: 'gateway/gateway-model', ...request })) void _chunk
    const echo = (key: string) => ({ kind: 'error' as const, status: 401, message: `Incorrect API key provided: ${key} (Authorization: Bearer ${key}).` })
    upstream.enqueue(echo(planted.openaiEnv), echo(`${planted.providerOption} for ?key=${planted.baseUrlQuery}`))
    const thrown: string[] = []
    for (const model of ['openai/gpt-4o-mini', 'gateway/gateway-model']) {
      await client.chat({ model, ...request }, { http }).then(
        () => expect.unreachable('the upstream answered 401'),
        (error: unknown) => void thrown.push(inspect(error, { depth: 20 })),
      )
    }
    await client.close()

    const own: Record<ReceiverName, string[]> = {
      langsmith: [planted.langsmith],
      pagerduty: [planted.pagerduty],
      teams: [planted.teams],
      discord: [planted.discord],
      resend: [planted.resend],
      sendgrid: [planted.sendgrid],
      openmeter: [planted.openmeter],
      deepeval: [planted.deepeval],
      lago: [planted.lago],
      cloudzero: [planted.cloudzero],
      greenscale: [planted.greenscale],
      promptlayer: [planted.promptlayer],
      humanloop: [planted.humanloop],
      argilla: [planted.argilla],
      // The client secret goes to the token endpoint (the same receiver here), never to the ingestion.
      azureSentinel: [planted.azureClientSecret],
      literalai: [planted.literalai],
      // The password goes to the login (the same receiver here), never to the ingestion.
      galileo: [planted.galileoPassword],
    }
    for (const name of receiverNames) {
      const text = receivers[name].requests.map((received) => `${received.method} ${received.path}?${received.query}\n${JSON.stringify(received.headers)}\n${received.text}`).join('\n')
      expect({ receiver: name, received: text.length > 0, leaks: leaks(text, own[name]) }).toEqual({ receiver: name, received: true, leaks: [] })
    }
    const ingestion = receivers.azureSentinel.requests.filter((received) => !received.path.endsWith('/oauth2/v2.0/token'))
    expect(ingestion.length).toBeGreaterThan(0)
    expect(leaks(ingestion.map((received) => `${JSON.stringify(received.headers)}\n${received.text}`).join('\n'))).toEqual([])
    const galileoIngestion = receivers.galileo.requests.filter((received) => received.path !== '/login')
    expect(galileoIngestion.length).toBeGreaterThan(0)
    expect(receivers.galileo.requests.filter((received) => received.path === '/login')).toHaveLength(1)
    expect(leaks(galileoIngestion.map((received) => `${JSON.stringify(received.headers)}\n${received.text}`).join('\n'))).toEqual([])
    // The echoing 401s reached the alerts, scrubbed: what the test looks for was there to leak.
    expect(receivers.discord.requests.map((received) => received.text).join('\n')).toContain('[redacted]')
    expect(leaks(thrown.join('\n'))).toEqual([])
  })
})
