/**
 * The catalogue is the one list of built-in integrations: every entry must have its docs page, its
 * test file and its row in the alias table (docs/integrations/README.md), and be accepted by
 * `callbacks()`, by `observability()` and by the proxy's config under every name it declares.
 */
import { generateKeyPairSync } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { callbacks } from '../../middleware/callbacks'
import { observability } from '../../middleware/observability'
import { otlpPresetIntegrations } from '../../middleware/otlp-presets'
import { catalogue, findIntegration } from '../../src/integrations/catalogue'
import { namesOf, onionPositions, type IntegrationDescriptor } from '../../src/integrations/descriptor'
import { parseConfig } from '../../src/proxy/config'
import { assembleLayers } from '../../src/proxy/layers'
import type { Middleware } from '../../src/types'

const integrations: readonly IntegrationDescriptor[] = catalogue
const kebab = (name: string) => name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)
const aliasTable = readFileSync('docs/integrations/README.md', 'utf8')

/** A service-account key file for gcsPubsub (read at construction; nothing is sent with it). */
const serviceAccountFile = join(mkdtempSync(join(tmpdir(), 'catalogue-sa-')), 'service-account.json')
writeFileSync(serviceAccountFile, JSON.stringify({
  type: 'service_account',
  client_email: 'catalogue@example.iam.gserviceaccount.com',
  private_key: generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey,
  token_uri: 'http://127.0.0.1:9/token',
}))

/** Settings that let every integration be built, pointing at a port nothing listens on (nothing is sent). */
const environment: Record<string, string> = {
  OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
  SENTRY_DSN: 'http://public@127.0.0.1:9/42',
  LANGFUSE_PUBLIC_KEY: 'pk-lf-test',
  LANGFUSE_SECRET_KEY: 'sk-lf-test',
  LOGFIRE_TOKEN: 'pylf_v1_us_test',
  TRACELOOP_API_KEY: 'tl-test',
  DD_API_KEY: 'dd-test',
  HELICONE_API_KEY: 'sk-helicone-test',
  POSTHOG_API_KEY: 'phc_test',
  LUNARY_PUBLIC_KEY: 'lunary-test',
  ATHINA_API_KEY: 'athina-test',
  LOKI_URL: 'http://127.0.0.1:9',
  SLACK_WEBHOOK_URL: 'http://127.0.0.1:9/hook',
  // Databases: switched on only when asked for, built from these (nothing listens on port 9).
  DATABASE_URL: 'postgresql://postgres@127.0.0.1:9/none',
  SUPABASE_URL: 'http://127.0.0.1:9',
  SUPABASE_KEY: 'sb-test-key',
  CLICKHOUSE_HOST: '127.0.0.1',
  CLICKHOUSE_PORT: '9',
  S3_BUCKET_NAME: 'llm-logs',
  S3_ENDPOINT_URL: 'http://127.0.0.1:9',
  AWS_ACCESS_KEY_ID: 'AKIATEST',
  AWS_SECRET_ACCESS_KEY: 'aws-secret-test',
  GCS_BUCKET_NAME: 'llm-logs',
  GCS_HMAC_ACCESS_ID: 'GOOG1TEST',
  GCS_HMAC_SECRET: 'gcs-secret-test',
  STORAGE_EMULATOR_HOST: 'http://127.0.0.1:9',
  AZURE_STORAGE_ACCOUNT_NAME: 'devstoreaccount1',
  AZURE_STORAGE_FILE_SYSTEM: 'llm-logs',
  AZURE_STORAGE_ACCOUNT_KEY: 'YXp1cmUta2V5LXRlc3Q=',
  AZURE_STORAGE_SAS_TOKEN: 'sv=2021-12-02&sig=test',
  AZURE_STORAGE_ACCOUNT_URL: 'http://127.0.0.1:9/devstoreaccount1',
  GENERIC_LOGGER_ENDPOINT: 'http://127.0.0.1:9/events',
  ARIZE_API_KEY: 'arize-test',
  ARIZE_SPACE_KEY: 'arize-space-test',
  ARIZE_SPACE_ID: 'arize-space-test',
  PHOENIX_COLLECTOR_HTTP_ENDPOINT: 'http://127.0.0.1:9',
  PHOENIX_COLLECTOR_ENDPOINT: 'http://127.0.0.1:9',
  PHOENIX_API_KEY: 'phoenix-test',
  LANGTRACE_API_KEY: 'langtrace-test',
  WANDB_API_KEY: 'wandb-test',
  WANDB_PROJECT_ID: 'team/project',
  OPIK_API_KEY: 'opik-test',
  BRAINTRUST_API_KEY: 'braintrust-test',
  MLFLOW_TRACKING_URI: 'http://127.0.0.1:9',
  AGENTOPS_API_KEY: 'agentops-test',
  NEW_RELIC_LICENSE_KEY: 'newrelic-test',
  HONEYCOMB_API_KEY: 'honeycomb-test',
  TEMPO_URL: 'http://127.0.0.1:9',
  LLM_ONION_LOG_FILE: join(mkdtempSync(join(tmpdir(), 'catalogue-')), 'calls.jsonl'),
  // native mappings (issue 16)
  LANGSMITH_API_KEY: 'lsv2_test',
  OPENMETER_API_KEY: 'om_test',
  PAGERDUTY_API_KEY: 'pd-routing-test',
  MICROSOFT_TEAMS_WEBHOOK_URL: 'http://127.0.0.1:9/teams',
  DISCORD_WEBHOOK_URL: 'http://127.0.0.1:9/api/webhooks/1/x',
  RESEND_API_KEY: 're_test',
  RESEND_FROM_EMAIL: 'alerts@example.com',
  SENDGRID_API_KEY: 'SG.test',
  SENDGRID_SENDER_EMAIL: 'alerts@example.com',
  LLM_ONION_ALERT_EMAILS: 'oncall@example.com',
  SMTP_HOST: '127.0.0.1',
  SMTP_SENDER_EMAIL: 'alerts@example.com',
  // native mappings (issue 16): lago, greenscale, promptlayer, humanloop, argilla, azure_sentinel
  LAGO_API_KEY: 'lago-test',
  LAGO_API_EVENT_CODE: 'llm_tokens',
  CLOUDZERO_API_KEY: 'cloudzero-test',
  CLOUDZERO_CONNECTION_ID: 'cloudzero-connection-test',
  GREENSCALE_API_KEY: 'greenscale-test',
  GREENSCALE_ENDPOINT: 'http://127.0.0.1:9/greenscale',
  PROMPTLAYER_API_KEY: 'pl_test',
  HUMANLOOP_API_KEY: 'hl_sk_test',
  ARGILLA_API_KEY: 'argilla.apikey',
  ARGILLA_BASE_URL: 'http://127.0.0.1:9',
  AZURE_SENTINEL_DCR_IMMUTABLE_ID: 'dcr-test',
  AZURE_SENTINEL_ENDPOINT: 'http://127.0.0.1:9',
  AZURE_SENTINEL_TENANT_ID: 'tenant-test',
  AZURE_SENTINEL_CLIENT_ID: 'client-test',
  AZURE_SENTINEL_CLIENT_SECRET: 'client-secret-test',
  AZURE_SENTINEL_WORKSPACE_ID: 'workspace-test',
  AZURE_SENTINEL_SHARED_KEY: 'c2hhcmVkLWtleS10ZXN0',
  CONFIDENT_API_KEY: 'confident-test',
  LITERAL_API_KEY: 'lsk_test',
  // galileo: hosted (API key) or a self-hosted cluster's login
  GALILEO_PROJECT_ID: 'galileo-project-test',
  GALILEO_API_KEY: 'galileo-api-key-test',
  GALILEO_USERNAME: 'observer@example.com',
  GALILEO_PASSWORD: 'galileo-password-test',
  GALILEO_BASE_URL: 'http://127.0.0.1:9',
  // cloud tables and queues (dynamodb, aws_sqs, gcs_pubsub)
  DYNAMODB_TABLE_NAME: 'llm-calls',
  SQS_QUEUE_URL: 'http://127.0.0.1:9/000000000000/llm-calls',
  GCS_PUBSUB_PROJECT_ID: 'example-project',
  GCS_PUBSUB_TOPIC_ID: 'llm-calls',
  GCS_PATH_SERVICE_ACCOUNT: serviceAccountFile,
  GOOGLE_APPLICATION_CREDENTIALS: serviceAccountFile,
  PUBSUB_EMULATOR_HOST: '127.0.0.1:9',
  GCS_PUBSUB_API_BASE: 'http://127.0.0.1:9',
}

afterEach(() => {
  vi.unstubAllEnvs()
})

/**
 * The test file that covers an integration: its own, or for a vendor preset of otlp() the one
 * parameterised test that walks every preset of the table (middleware/otlp-presets.ts).
 */
function testFileOf(integration: IntegrationDescriptor): string {
  const presets: readonly IntegrationDescriptor[] = otlpPresetIntegrations
  return presets.includes(integration) ? 'test/middleware/otlp-presets.test.ts' : `test/middleware/${kebab(integration.name)}.test.ts`
}

/** The docs page a row links to (`otlp-presets.md#arize`), checked to exist with that heading. */
function expectLinkedPage(row: string[], name: string): void {
  const link = /\]\(([^)#]+)(?:#([^)]+))?\)/.exec(row[1]!)
  expect(link, `the row of ${name} links to its docs page`).not.toBeNull()
  const page = `docs/integrations/${link![1]}`
  expect(existsSync(page), page).toBe(true)
  if (!link![2]) return
  const slugs = readFileSync(page, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('#'))
    .map((line) => line.replace(/^#+\s*/, '').trim().toLowerCase().replace(/[^a-z0-9 _-]/g, '').replace(/ /g, '-'))
  expect(slugs, `a heading for #${link![2]} in ${page}`).toContain(link![2])
}

/** The alias table's row for an integration: its cells, or undefined. */
function rowOf(name: string): string[] | undefined {
  const row = aliasTable.split('\n').find((line) => line.startsWith(`| [${name}](`))
  return row?.split('|').map((cell) => cell.trim())
}

describe('the catalogue of integrations', () => {
  it('lists every integration once, by unique names, in onion order', () => {
    expect(integrations.length).toBeGreaterThanOrEqual(15)
    const names = integrations.flatMap(namesOf)
    expect(new Set(names).size).toBe(names.length)
    const ranks = integrations.map((integration) => onionPositions.indexOf(integration.position))
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b))
  })

  it('covers every variable the test environment sets, so each switch is exercised', () => {
    const variables = integrations.flatMap((integration) => integration.switchedOnBy.flat())
    for (const variable of variables) if (variable !== 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') expect(Object.keys(environment)).toContain(variable)
  })

  for (const integration of integrations) {
    describe(integration.name, () => {
      it('has a docs page, a test file and a row in the alias table naming every name it answers to', () => {
        expect(existsSync(testFileOf(integration)), testFileOf(integration)).toBe(true)
        const row = rowOf(integration.name)
        expect(row, `a row "| [${integration.name}](...) |" in docs/integrations/README.md`).toBeDefined()
        // The page the row links to: its own (docs/integrations/<name>.md) or a section of a shared one.
        expectLinkedPage(row!, integration.name)
        const listed = [...row![2]!.matchAll(/`([^`]+)`/g)].map((match) => match[1])
        expect(listed.sort()).toEqual(namesOf(integration).sort())
      })

      it('is found under every name it declares', () => {
        for (const name of namesOf(integration)) expect(findIntegration(name)).toBe(integration)
      })

      it('is accepted by callbacks() under every name it declares, at every moment', () => {
        for (const name of namesOf(integration)) {
          const options = integration.takesEnv ? { [integration.name]: { env: environment } } : {}
          const layer: Middleware = callbacks({ input: [name], success: [name], failure: [name], integrationOptions: options })
          expect(typeof layer).toBe('function')
        }
      })

      it('is accepted by observability() by its name, and switched on by its variables', () => {
        const asked = observability({ detect: false, quiet: true, env: environment, [integration.name]: true })
        expect(asked.enabled).toEqual([integration.name])
        if (integration.switchedOnBy.length === 0) return
        const detected = observability({ quiet: true, env: Object.fromEntries(integration.switchedOnBy[0]!.map((variable) => [variable, environment[variable]])) })
        expect(detected.enabled).toContain(integration.name)
      })

      it('is accepted by the proxy config under every name it declares', async () => {
        for (const [variable, value] of Object.entries(environment)) vi.stubEnv(variable, value)
        for (const name of namesOf(integration)) {
          const config = parseConfig({
            model_list: [{ model_name: 'm', litellm_params: { model: 'mock/m' } }],
            litellm_settings: { input_callback: [name], success_callback: [name], failure_callback: [name] },
          })
          const router: Middleware = async (_ctx, next) => next()
          const { names } = await assembleLayers(config, {}, router)
          // The proxy's own metrics layer stands for a prometheus named in a list.
          if (integration.name !== 'prometheus') expect(names.join(' ')).toContain(name)
        }
      })
    })
  }
})

describe("the table of LiteLLM's callback names", () => {
  const section = aliasTable.slice(aliasTable.indexOf("## LiteLLM's callback names"))
  const rows = [...section.matchAll(/^\| `([a-z0-9_]+)` \| ([^|]+) \|/gm)]
    .map((match) => ({ name: match[1]!, servedBy: match[2]!.trim() }))
    .filter(({ servedBy }) => !servedBy.startsWith('not a LiteLLM name'))

  it('lists a served name as the layer the name builds, linked to its docs page, and nothing else as served', () => {
    for (const { name, servedBy } of rows) {
      const integration = findIntegration(name)
      if (integration) {
        expect(servedBy, name).toMatch(new RegExp(`^\\[${integration.name}\\]\\(`))
        expectLinkedPage(['', servedBy], name)
      } else expect(servedBy, name).toMatch(/^(none|not yet)/)
    }
  })

  it('shows at least 45 of LiteLLM\'s names served', () => {
    expect(rows.filter(({ name }) => findIntegration(name)).length).toBeGreaterThanOrEqual(45)
  })
})
