/**
 * The catalogue is the one list of built-in integrations: every entry must have its docs page, its
 * test file and its row in the alias table (docs/integrations/README.md), and be accepted by
 * `callbacks()`, by `observability()` and by the proxy's config under every name it declares.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { callbacks } from '../../middleware/callbacks'
import { observability } from '../../middleware/observability'
import { catalogue, findIntegration } from '../../src/integrations/catalogue'
import { namesOf, onionPositions, type IntegrationDescriptor } from '../../src/integrations/descriptor'
import { parseConfig } from '../../src/proxy/config'
import { assembleLayers } from '../../src/proxy/layers'
import type { Middleware } from '../../src/types'

const integrations: readonly IntegrationDescriptor[] = catalogue
const kebab = (name: string) => name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)
const aliasTable = readFileSync('docs/integrations/README.md', 'utf8')

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
}

afterEach(() => {
  vi.unstubAllEnvs()
})

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
        expect(existsSync(`docs/integrations/${kebab(integration.name)}.md`), `docs/integrations/${kebab(integration.name)}.md`).toBe(true)
        expect(existsSync(`test/middleware/${kebab(integration.name)}.test.ts`), `test/middleware/${kebab(integration.name)}.test.ts`).toBe(true)
        const row = rowOf(integration.name)
        expect(row, `a row "| [${integration.name}](...) |" in docs/integrations/README.md`).toBeDefined()
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
