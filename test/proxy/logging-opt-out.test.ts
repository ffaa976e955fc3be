/**
 * Per-request logging controls on a `serve` child, driven by the official `openai` client: `no-log`
 * and `x-litellm-disable-callbacks` send nothing to the callbacks, unless the config forbids it
 * (`global_disable_no_log_param`); `x-litellm-tags` and `metadata.tags` join the event's tags.
 */
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient } from 'llm-onion'
import { createRecorder, mock, startReceiver, type Receiver } from 'llm-onion/testing'
import { loggingControls } from '../../src/proxy/logging-controls'
import { spawnProxy, type SpawnedProxy } from './fixtures/spawn-proxy'

let receiver: Receiver
let open: SpawnedProxy
let forbidden: SpawnedProxy

beforeAll(async () => {
  receiver = await startReceiver()
  const env = { HELICONE_API_KEY: 'hc-opt-out-test-key', HELICONE_API_BASE: receiver.url }
  ;[open, forbidden] = await Promise.all([
    spawnProxy(['--config', 'test/proxy/fixtures/logging-opt-out.yaml'], env),
    spawnProxy(['--config', 'test/proxy/fixtures/logging-opt-out-forbidden.yaml'], env),
  ])
})

afterAll(async () => {
  await open?.stop()
  await forbidden?.stop()
  await receiver?.close()
})

const clientOf = (proxy: SpawnedProxy, headers: Record<string, string> = {}) => new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'unused', maxRetries: 0, defaultHeaders: headers })
const body = (content: string, extra: Record<string, unknown> = {}) => ({ model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content }], ...extra }) as OpenAI.ChatCompletionCreateParamsNonStreaming
/** The prompts the receiver got, after the proxies' queues had time to deliver a marker call sent last. */
async function deliveredPrompts(proxy: SpawnedProxy): Promise<string> {
  const before = receiver.requests.length
  await clientOf(proxy).chat.completions.create(body('marker'))
  await receiver.waitFor(before + 1, 10_000)
  await new Promise((resolve) => setTimeout(resolve, 300))
  return receiver.requests.map((request) => request.text).join('\n')
}

describe('per-request logging controls in serve', () => {
  it('sends a no-log request and one that disables the callback nowhere, and an ordinary one to the callback', async () => {
    await clientOf(open).chat.completions.create(body('ordinary-call'))
    await clientOf(open).chat.completions.create(body('no-log-call', { 'no-log': true }))
    await clientOf(open, { 'x-litellm-disable-callbacks': 'helicone' }).chat.completions.create(body('disabled-call'))
    const delivered = await deliveredPrompts(open)
    expect(delivered).toContain('ordinary-call')
    expect(delivered).not.toContain('no-log-call')
    expect(delivered).not.toContain('disabled-call')
  })

  it('logs them anyway when the config sets global_disable_no_log_param', async () => {
    await clientOf(forbidden).chat.completions.create(body('forced-no-log-call', { 'no-log': true }))
    await clientOf(forbidden, { 'x-litellm-disable-callbacks': 'helicone' }).chat.completions.create(body('forced-disabled-call'))
    const delivered = await deliveredPrompts(forbidden)
    expect(delivered).toContain('forced-no-log-call')
    expect(delivered).toContain('forced-disabled-call')
  })
})

describe('tags', () => {
  it('merges metadata.tags and the x-litellm-tags header into the event tags', async () => {
    const recorder = createRecorder()
    const client = createClient({ providers: { mock: mock() }, middleware: [recorder.layer, loggingControls({ allowOptOut: true })] })
    await client.chat(
      { model: 'mock/echo', messages: [{ role: 'user', content: 'hi' }], tags: ['own'], metadata: { tags: ['from-metadata', 'own'] } },
      { http: { method: 'POST', url: '/v1/chat/completions', headers: { 'x-litellm-tags': 'team-a, batch' } } },
    )
    expect(recorder.events[0]!.tags).toEqual(['own', 'from-metadata', 'team-a', 'batch'])
    await client.close()
  })
})
