/**
 * `default_team_settings` and key `metadata.logging` as the proxy reads them: problems fail at start
 * naming the entry, a team never borrows the proxy's credentials for an integration it names, and a
 * key whose settings cannot be built is warned about once and logged by the proxy's own callbacks.
 */
import { describe, expect, it } from 'vitest'
import { createClient } from 'llm-onion'
import { mock, startReceiver } from 'llm-onion/testing'
import { parseConfig } from 'llm-onion/proxy'
import { assembleLayers } from '../../src/proxy/layers'
import { ticketSlot, type Ticket } from '../../src/proxy/keys/access'
import { teamLogging } from '../../src/proxy/team-logging'
import { loggingControls } from '../../src/proxy/logging-controls'
import type { Middleware } from '../../src/types'

const models = [{ model_name: 'gpt-test', litellm_params: { model: 'mock/gpt-test' } }]
const router: Middleware = (_ctx, next) => next()

async function startError(settings: Record<string, unknown>, environment: Record<string, string> = {}): Promise<string> {
  const saved = { ...process.env }
  Object.assign(process.env, environment)
  try {
    const config = parseConfig({ model_list: models, litellm_settings: settings })
    await assembleLayers(config, {}, router)
  } catch (error) {
    return (error as Error).message
  } finally {
    for (const name of Object.keys(environment)) if (saved[name] === undefined) delete process.env[name]
  }
  throw new Error('the proxy started')
}

describe('default_team_settings at start', () => {
  it('fails naming the entry and the list for an unknown integration', async () => {
    const message = await startError({ default_team_settings: [{ team_id: 'team-a', success_callback: ['langfuze'] }] })
    expect(message).toContain('litellm_settings.default_team_settings[0] (team_id team-a).success_callback[0]: unknown integration "langfuze"')
  })

  it("fails naming the team's missing variable instead of borrowing the proxy's", async () => {
    const message = await startError(
      { success_callback: ['langfuse'], default_team_settings: [{ team_id: 'team-a', success_callback: ['langfuse'], langfuse_public_key: 'pk-lf-team-a' }] },
      { LANGFUSE_PUBLIC_KEY: 'pk-lf-proxy', LANGFUSE_SECRET_KEY: 'sk-lf-proxy-only' },
    )
    expect(message).toContain('litellm_settings.default_team_settings[0] (team_id team-a)')
    expect(message).toContain('LANGFUSE_SECRET_KEY')
    expect(message).toContain('langfuse_secret_key')
  })

  it('names a callback variable whose environment variable is unset', async () => {
    const config = () => parseConfig({ model_list: models, litellm_settings: { default_team_settings: [{ team_id: 'a', success_callback: 'langfuse', langfuse_secret: 'os.environ/UNSET_TEAM_SECRET_9' }] } })
    expect(config).toThrow(/default_team_settings\[0\]\.langfuse_secret: environment variable UNSET_TEAM_SECRET_9 is not set/)
  })
})

describe('key metadata.logging', () => {
  it("warns once about settings it cannot build and sends the key's calls to the proxy's callbacks", async () => {
    const proxyReceiver = await startReceiver()
    const warnings: string[] = []
    const layer = teamLogging({
      lists: { input: [], success: ['helicone'], failure: [] },
      environment: { HELICONE_API_KEY: 'hc-proxy-key', HELICONE_API_BASE: proxyReceiver.url },
      integrationOptions: { helicone: { apiKey: 'hc-proxy-key', baseUrl: proxyReceiver.url } },
      warn: (message) => warnings.push(message),
    })
    const ticket = {
      token: 'a'.repeat(64),
      found: { key: { key_name: 'sk-...abcd', team_id: null, metadata: { logging: [{ callback_name: 'helicone', callback_vars: { helicone_api_key: 'os.environ/NOT_SET_ANYWHERE' } }] } } },
    } as unknown as Ticket
    const withTicket: Middleware = (ctx, next) => {
      ctx.setSlot(ticketSlot, ticket)
      return next()
    }
    const client = createClient({ providers: { mock: mock() }, middleware: [withTicket, layer] })
    for (const content of ['first', 'second']) await client.chat({ model: 'mock/echo', messages: [{ role: 'user', content }] })
    await client.close()
    await proxyReceiver.waitFor(1)
    expect(proxyReceiver.requests.map((request) => request.text).join('\n')).toContain('second')
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain('key sk-...abcd: metadata.logging[0]: helicone_api_key names the environment variable NOT_SET_ANYWHERE, which is not set')
    await proxyReceiver.close()
  })
})

describe('x-litellm-disable-callbacks', () => {
  it("skips only the integrations it names, the proxy's and a team's alike", async () => {
    const [heliconeReceiver, langfuseReceiver] = await Promise.all([startReceiver(), startReceiver()])
    const layer = teamLogging({
      lists: { input: [], success: ['helicone', 'langfuse'], failure: [] },
      integrationOptions: { helicone: { apiKey: 'hc-key', baseUrl: heliconeReceiver.url }, langfuse: { publicKey: 'pk-lf', secretKey: 'sk-lf', baseUrl: langfuseReceiver.url } },
    })
    const client = createClient({ providers: { mock: mock() }, middleware: [loggingControls({ allowOptOut: true }), layer] })
    const http = (headers: Record<string, string>) => ({ http: { method: 'POST', url: '/v1/chat/completions', headers } })
    await client.chat({ model: 'mock/echo', messages: [{ role: 'user', content: 'not-for-helicone' }] }, http({ 'x-litellm-disable-callbacks': 'Helicone' }))
    await client.chat({ model: 'mock/echo', messages: [{ role: 'user', content: 'for-both' }] }, http({}))
    await client.close()
    const heliconeText = heliconeReceiver.requests.map((request) => request.text).join('\n')
    const langfuseText = langfuseReceiver.requests.map((request) => request.body.toString('latin1')).join('\n')
    expect(heliconeText).toContain('for-both')
    expect(heliconeText).not.toContain('not-for-helicone')
    expect(langfuseText).toContain('for-both')
    expect(langfuseText).toContain('not-for-helicone')
    await Promise.all([heliconeReceiver.close(), langfuseReceiver.close()])
  })

  it("tells LiteLLM's two Datadog callbacks apart: datadog sends logs, datadog_llm_observability spans, each disabled by its own name", async () => {
    const receiver = await startReceiver()
    const layer = teamLogging({
      lists: { input: [], success: ['datadog', 'datadog_llm_observability'], failure: [] },
      integrationOptions: { datadog: { env: { DD_API_KEY: 'dd-key', DD_BASE_URL: receiver.url } } },
    })
    const client = createClient({ providers: { mock: mock() }, middleware: [loggingControls({ allowOptOut: true }), layer] })
    const http = (headers: Record<string, string>) => ({ http: { method: 'POST', url: '/v1/chat/completions', headers } })
    await client.chat({ model: 'mock/echo', messages: [{ role: 'user', content: 'no-logs' }] }, http({ 'x-litellm-disable-callbacks': 'datadog' }))
    await client.chat({ model: 'mock/echo', messages: [{ role: 'user', content: 'no-spans' }] }, http({ 'x-litellm-disable-callbacks': 'datadog_llm_observability' }))
    await client.close()
    const textAt = (path: string) => receiver.requests.filter((request) => request.path === path).map((request) => request.text).join('\n')
    const logs = textAt('/api/v2/logs')
    const spans = textAt('/api/intake/llm-obs/v1/trace/spans')
    expect(logs).toContain('no-spans')
    expect(logs).not.toContain('no-logs')
    expect(spans).toContain('no-logs')
    expect(spans).not.toContain('no-spans')
    await receiver.close()
  })
})
