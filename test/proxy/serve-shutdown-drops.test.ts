/**
 * `llm-onion serve` on SIGTERM when an exporter's receiver is down: shutdown keeps its deadline,
 * prints what it dropped per sink and exits non-zero, so a deploy notices that events were lost.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { afterAll, describe, expect, it } from 'vitest'
import { refusedUrl } from '../fakes/delivery-receivers'
import { spawnProxy, withMock, type SpawnedProxy } from './fixtures/spawn-proxy'

const started: SpawnedProxy[] = []
afterAll(async () => {
  await Promise.all(started.map((proxy) => proxy.stop()))
})

describe('llm-onion serve shutdown', () => {
  it('on SIGTERM prints the events it dropped per sink and exits non-zero when an exporter could not deliver', { timeout: 90_000 }, async () => {
    const config = join(mkdtempSync(join(tmpdir(), 'llm-onion-drops-')), 'config.yaml')
    writeFileSync(config, ['model_list:', '  - model_name: m', '    litellm_params:', '      model: mock/m', 'litellm_settings:', '  success_callback: ["helicone"]', ''].join('\n'))
    const proxy = await spawnProxy(['--config', config], { HELICONE_API_KEY: 'sk-helicone-test', HELICONE_API_BASE: await refusedUrl() })
    started.push(proxy)
    const openai = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'unused', maxRetries: 0 })
    for (let call = 0; call < 3; call++) {
      await openai.chat.completions.create(withMock({ model: 'm', messages: [{ role: 'user' as const, content: 'hi' }] }, { mock_response: 'hello' }))
    }
    const code = await proxy.stop()
    expect(code, proxy.output()).toBe(1)
    expect(proxy.output()).toContain('llm-onion: stopped; 3 event(s) dropped on shutdown: helicone 3')
    // Whatever was still pending at the deadline (not dropped earlier by its own retries) is reported once more, in one line.
    expect(proxy.output().match(/delivery queue closed with \d+ item\(s\) still undelivered/g)?.length ?? 0).toBeLessThanOrEqual(1)
  })
})
