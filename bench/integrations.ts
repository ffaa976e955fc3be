/**
 * Turns on every built-in integration for a benchmark by pointing its environment variables at one
 * local sink (healthy, or a port that refuses connections), and loads the observability preset — or,
 * until the preset exists, every layer of the integration registry. A guard refuses any request that
 * would leave the machine, so an integration with no local endpoint is reported, never reached.
 *
 * The preset takes the integrations the variable scan below switches on. Integrations it cannot
 * guess (their settings are not a key beside a base URL: a queue URL, a table, a service-account
 * file, an option) have their settings in {@link aloneSettings} and are measured alone, in the
 * per-integration table; those that cannot be measured against an HTTP sink say why in
 * {@link notBenched}.
 */
import http from 'node:http'
import https from 'node:https'
import { generateKeyPairSync } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Middleware } from '../src/types'

const root = new URL('..', import.meta.url).pathname

/** The variables the integrations spec names, so a layer that reads them is covered before its source is scanned. */
const specVariables = [
  'HELICONE_API_KEY', 'HELICONE_API_BASE', 'LANGFUSE_PUBLIC_KEY', 'LANGFUSE_SECRET_KEY', 'LANGFUSE_HOST', 'SENTRY_DSN',
  'SLACK_WEBHOOK_URL', 'POSTHOG_API_KEY', 'POSTHOG_API_URL', 'LUNARY_PUBLIC_KEY', 'LUNARY_API_URL', 'ATHINA_API_KEY',
  'ATHINA_BASE_URL', 'LOGFIRE_TOKEN', 'LOGFIRE_BASE_URL', 'TRACELOOP_API_KEY', 'TRACELOOP_BASE_URL', 'DD_API_KEY', 'DD_SITE', 'LOKI_URL',
]

const urlLike = /(_URL|_BASE|_HOST|_ENDPOINT|_BASE_URL|_API_BASE)$/
const secretLike = /(_KEY|_TOKEN|_SECRET)$/

/** Every upper-case `PREFIX_NAME` variable quoted in the integrations' sources. */
function discoveredVariables(): string[] {
  const found = new Set(specVariables)
  for (const folder of ['middleware', 'src/integrations/otel']) {
    const directory = join(root, folder)
    if (!existsSync(directory)) continue
    for (const file of readdirSync(directory)) {
      if (!file.endsWith('.ts')) continue
      const source = readFileSync(join(directory, file), 'utf8')
      for (const match of source.matchAll(/['"`]([A-Z][A-Z0-9]*_[A-Z0-9_]+)['"`]/g)) found.add(match[1]!)
    }
  }
  return [...found].sort()
}

/**
 * Environment that enables every integration against `sinkUrl`. An integration's credentials are set
 * only when it has a base-URL variable to point at the sink; one whose endpoint cannot be made local
 * (Datadog's `DD_SITE` builds an https host) stays off and is listed in `skipped`.
 */
export function integrationEnvironment(sinkUrl: string): { env: Record<string, string>; skipped: string[] } {
  const variables = discoveredVariables()
  const sink = new URL(sinkUrl)
  const prefixesWithUrl = new Set(variables.filter((name) => urlLike.test(name) || /WEBHOOK|DSN/.test(name)).map((name) => name.split('_')[0]))
  const env: Record<string, string> = {}
  const skipped = new Set<string>()
  for (const name of variables) {
    const prefix = name.split('_')[0]!
    if (name.endsWith('_DSN')) env[name] = `http://benchpublickey@${sink.host}/1`
    else if (name.includes('WEBHOOK')) env[name] = `${sinkUrl}/slack/webhook`
    else if (urlLike.test(name)) env[name] = sinkUrl
    else if (/(_FILE|_PATH)$/.test(name)) env[name] = '/dev/null'
    else if (secretLike.test(name)) {
      if (prefixesWithUrl.has(prefix)) env[name] = `bench-${name.toLowerCase()}`
      else skipped.add(prefix)
    }
  }
  // AgentOps fetches its JWT from its own auth endpoint before the first export; the sink answers it there.
  if (env.AGENTOPS_AUTH_ENDPOINT !== undefined) env.AGENTOPS_AUTH_ENDPOINT = `${sinkUrl}/v3/auth/token`
  return { env, skipped: [...skipped] }
}

/** Catalogue integrations no benchmark measures, and why. */
export const notBenched: Readonly<Record<string, string>> = {
  postgres: 'speaks the PostgreSQL protocol, not HTTP, so the fake sink cannot answer it; test/middleware/postgres.test.ts runs it against PostgreSQL',
  smtpEmail: 'speaks SMTP, not HTTP; it sends only alert emails, none on a successful call',
  consoleLog: 'prints to the terminal; it delivers nothing',
}

/**
 * Variables and options of the integrations measured alone: what the variable scan cannot guess,
 * pointed at the sink (the AWS ones sign with SigV4 and read SQS's and DynamoDB's JSON answers,
 * gcsPubsub signs a JWT with a generated service-account key for the sink's token endpoint,
 * azureSentinel gets its Entra token from the sink, galileo logs in at the sink's `/login`). Integrations that `observability()` switches
 * on only when asked for (dynamodb, awsSqs, supabase, clickhouse, otlp) are asked for by name.
 */
export function aloneSettings(sinkUrl: string): { env: Record<string, string>; options: Record<string, true | Record<string, unknown>> } {
  const aws = { AWS_ACCESS_KEY_ID: 'AKIABENCHEXAMPLE', AWS_SECRET_ACCESS_KEY: 'bench-aws-secret-access-key', AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: sinkUrl }
  const emails = { LLM_ONION_ALERT_EMAILS: 'oncall@example.com' }
  const env: Record<string, string> = {
    ...aws,
    ...emails,
    S3_BUCKET_NAME: 'bench-calls',
    DYNAMODB_TABLE_NAME: 'bench-calls',
    SQS_QUEUE_URL: `${sinkUrl}/123456789012/bench-calls`,
    GCS_BUCKET_NAME: 'bench-calls',
    GCS_HMAC_ACCESS_ID: 'GOOGBENCHEXAMPLE',
    GCS_HMAC_SECRET: 'bench-gcs-hmac-secret',
    STORAGE_EMULATOR_HOST: sinkUrl,
    GCS_PUBSUB_PROJECT_ID: 'bench',
    GCS_PUBSUB_TOPIC_ID: 'bench-calls',
    GCS_PUBSUB_API_BASE: sinkUrl,
    GCS_PATH_SERVICE_ACCOUNT: serviceAccountFile(sinkUrl),
    AZURE_STORAGE_ACCOUNT_NAME: 'bench',
    AZURE_STORAGE_FILE_SYSTEM: 'bench-calls',
    AZURE_STORAGE_ACCOUNT_KEY: Buffer.from('bench-azure-storage-account-key').toString('base64'),
    AZURE_STORAGE_ACCOUNT_URL: sinkUrl,
    AZURE_SENTINEL_DCR_IMMUTABLE_ID: 'dcr-00000000000000000000000000000000',
    AZURE_SENTINEL_ENDPOINT: sinkUrl,
    AZURE_SENTINEL_TENANT_ID: 'bench-tenant',
    AZURE_SENTINEL_CLIENT_ID: 'bench-client',
    AZURE_SENTINEL_CLIENT_SECRET: 'bench-client-secret',
    AZURE_AUTHORITY_HOST: sinkUrl,
    // galileo's login flow, the one that reads an answer back (a token); the scan's GALILEO_API_KEY,
    // emptied here (an empty variable counts as unset), would pick the API key flow instead.
    GALILEO_PROJECT_ID: 'bench-project',
    GALILEO_USERNAME: 'bench@example.com',
    GALILEO_PASSWORD: 'bench-galileo-password',
    GALILEO_BASE_URL: sinkUrl,
    GALILEO_API_KEY: '',
    LAGO_API_KEY: 'bench-lago-api-key',
    LAGO_API_EVENT_CODE: 'llm_call',
    LAGO_API_BASE: sinkUrl,
    CLOUDZERO_API_KEY: 'bench-cloudzero-api-key',
    CLOUDZERO_CONNECTION_ID: '00000000-0000-4000-8000-0000000c10d0',
    CLOUDZERO_API_BASE: sinkUrl,
    PROMPTLAYER_API_KEY: 'bench-promptlayer-api-key',
    URL_API_PROMPTLAYER: sinkUrl,
    SUPABASE_URL: sinkUrl,
    SUPABASE_KEY: 'bench-supabase-key',
    CLICKHOUSE_HOST: sinkUrl,
    CLICKHOUSE_PASSWORD: 'bench-clickhouse-password',
    WANDB_API_KEY: 'bench-wandb-api-key',
    WANDB_PROJECT_ID: 'bench/calls',
    WANDB_HOST: sinkUrl,
    OPIK_API_KEY: 'bench-opik-api-key',
    OPIK_URL_OVERRIDE: sinkUrl,
    MLFLOW_TRACKING_URI: sinkUrl,
    NEW_RELIC_LICENSE_KEY: 'bench-new-relic-license-key',
    RESEND_API_KEY: 'bench-resend-api-key',
    RESEND_FROM_EMAIL: 'alerts@example.com',
    RESEND_API_BASE: sinkUrl,
    SENDGRID_API_KEY: 'bench-sendgrid-api-key',
    SENDGRID_SENDER_EMAIL: 'alerts@example.com',
    SENDGRID_API_BASE: sinkUrl,
  }
  const options: Record<string, true | Record<string, unknown>> = {
    s3: true, gcsBucket: true, azureStorage: true, dynamodb: true, awsSqs: true, gcsPubsub: true, supabase: true, clickhouse: true,
    lago: true, cloudzero: true, promptlayer: true, azureSentinel: true, galileo: true, otlp: true, weaveOtel: true, opik: true, mlflow: true,
    // New Relic's endpoint follows from the license key; no variable moves it.
    newrelic: { baseUrl: sinkUrl },
    resendEmail: true, sendgridEmail: true,
  }
  return { env, options }
}

/**
 * What an integration measured alone needs in the request: Lago bills a customer, and a call with no
 * `user` is not billed at all (its event is counted as `mapping_failed`, nothing is sent).
 */
export const aloneRequestFields: Readonly<Record<string, Record<string, unknown>>> = { lago: { user: 'bench-customer' } }

/**
 * Client options of an integration measured alone: CloudZero exports only calls with a known cost,
 * and the canned model has no price of its own, so its client prices it (USD per million tokens);
 * without one it would send nothing. Its row then includes pricing the call, which the bare client
 * it is compared with does not do.
 */
export const aloneClientOptions: Readonly<Record<string, { cost: { prices: Record<string, { input: number; output: number }> } }>> = {
  cloudzero: { cost: { prices: { 'canned/gpt-4o-mini': { input: 0.15, output: 0.6 } } } },
}

let keyFile: string | undefined

/** A service-account key file (a fresh RSA key) whose token URI is the sink's, removed when the process exits. */
function serviceAccountFile(sinkUrl: string): string {
  if (keyFile === undefined) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const file = join(tmpdir(), `llm-onion-bench-service-account-${process.pid}.json`)
    const account = { type: 'service_account', project_id: 'bench', client_email: 'bench@bench.iam.gserviceaccount.com', private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() }
    writeFileSync(file, JSON.stringify(account), { mode: 0o600 })
    process.on('exit', () => rmSync(file, { force: true }))
    keyFile = file
  }
  const account = JSON.parse(readFileSync(keyFile, 'utf8')) as Record<string, unknown>
  if (account.token_uri !== `${sinkUrl}/token`) writeFileSync(keyFile, JSON.stringify({ ...account, token_uri: `${sinkUrl}/token` }), { mode: 0o600 })
  return keyFile
}

/** Hosts a benchmark may reach. */
const loopback = new Set(['127.0.0.1', 'localhost', '[::1]', '::1'])

/**
 * Refuses, and records, every fetch or http(s) request to a host that is not loopback. Returns the
 * list of refused URLs (a benchmark reports them: such an integration was not measured).
 */
export function guardNetwork(): string[] {
  const refused: string[] = []
  const originalFetch = globalThis.fetch
  globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url)
    if (!loopback.has(url.hostname)) {
      refused.push(url.origin)
      throw new TypeError(`bench network guard: refused ${url.origin} (only loopback is allowed)`)
    }
    return originalFetch(input, init)
  }) as typeof fetch
  for (const module of [http, https]) {
    const original = module.request
    ;(module as { request: typeof http.request }).request = ((...parameters: Parameters<typeof http.request>) => {
      const first = parameters[0] as string | URL | http.RequestOptions
      const host = typeof first === 'string' || first instanceof URL ? new URL(first).hostname : (first.hostname ?? first.host ?? 'localhost')
      if (!loopback.has(String(host).replace(/:\d+$/, ''))) {
        refused.push(String(host))
        throw new TypeError(`bench network guard: refused ${host} (only loopback is allowed)`)
      }
      return original(...parameters)
    }) as typeof http.request
  }
  return refused
}

/** A port nothing listens on: connections to it are refused at once. */
export async function refusedPortUrl(): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${port}`
}

export interface LoadedObservability {
  /** `observability()` when the preset exists, else `registry` (each integration's factory). */
  source: string
  layers: Middleware[]
  /** The integrations that are on. */
  names: string[]
  /** Integrations measured alone only, with their {@link aloneSettings} (when `loadObservability` was given the sink). */
  alone: string[]
  /** One integration alone, as the preset builds it (undefined before the preset exists). */
  single?: (name: string) => Middleware
}

/** Integrations that print to the terminal rather than export; a benchmark leaves them off. */
const terminalOnly = new Set(['consoleLog', 'console', 'console-log'])

/**
 * Loads the observability preset (reading the environment set by {@link integrationEnvironment}),
 * or every registered integration whose settings are present. Call after setting `process.env`.
 * With `sinkUrl`, `single` also builds the integrations of {@link aloneSettings} (listed in `alone`).
 */
export async function loadObservability(sinkUrl?: string): Promise<LoadedObservability> {
  const presetFile = join(root, 'middleware/observability.ts')
  if (existsSync(presetFile)) {
    const module = (await import(pathToFileURL(presetFile).href)) as Record<string, unknown>
    const factory = module.observability as ((options?: unknown) => Middleware) | undefined
    if (typeof factory === 'function') {
      // Prometheus is switched on by no variable; "every integration" includes it.
      const layer = factory({ prometheus: true, quiet: true })
      const names = (layer as unknown as { enabled?: string[] }).enabled ?? []
      const extra = sinkUrl === undefined ? { env: {}, options: {} } : aloneSettings(sinkUrl)
      const alone = Object.keys(extra.options).filter((name) => !names.includes(name))
      // The settings measured alone go through observability()'s env, so the preset above never sees them.
      const env = { ...process.env, ...extra.env }
      const single = (name: string) => factory({ detect: false, quiet: true, env, [name]: extra.options[name] ?? true })
      return { source: 'observability({ prometheus: true })', layers: [layer], names, alone, single }
    }
  }
  const registry = (await import(pathToFileURL(join(root, 'middleware/registry.ts')).href)) as {
    integrations: Record<string, (options?: Record<string, unknown>) => Middleware>
  }
  const layers: Middleware[] = []
  const names: string[] = []
  for (const [name, factory] of Object.entries(registry.integrations)) {
    if (terminalOnly.has(name)) continue
    try {
      layers.push(factory())
      names.push(name)
    } catch {
      // Its settings are not in the environment (it has no local endpoint): it stays off.
    }
  }
  return { source: 'registry (observability() not there yet)', layers, names, alone: [] }
}
