/**
 * A LiteLLM proxy-hook module ported to TypeScript (fixtures/proxy_hooks.ts), loaded through
 * `litellm_settings.callbacks` by a `serve` child and driven by the official `openai` SDK: the
 * pre-call hook's rejection and changed request, the success hook's changed reply, a moderation
 * rejection that cancels the upstream call, and a stream changed by the iterator hook.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startOpenAIFake, type OpenAIFake } from '../../src/testing/openai-server'
import { spawnProxy, type SpawnedProxy } from './fixtures/spawn-proxy'

let proxy: SpawnedProxy
let upstream: OpenAIFake
let openai: OpenAI
let folder: string
let moderationGo: string

beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), 'llm-onion-hooks-'))
  moderationGo = join(folder, 'moderation-go')
  upstream = await startOpenAIFake()
  proxy = await spawnProxy(['--config', 'test/proxy/fixtures/proxy-hooks.yaml'], { HOOKS_UPSTREAM_BASE: upstream.url, HOOKS_MODERATION_GO: moderationGo })
  openai = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'sk-hooks-master-key-51f0', maxRetries: 0 })
})

afterAll(async () => {
  await proxy?.stop()
  await upstream?.close()
  rmSync(folder, { recursive: true, force: true })
})

const ask = (content: string) => [{ role: 'user' as const, content }]

async function thrownBy(call: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await call
  } catch (error) {
    expect(error).toBeInstanceOf(OpenAI.APIError)
    return error as InstanceType<typeof OpenAI.APIError>
  }
  throw new Error('the call succeeded')
}

describe('LiteLLM proxy hooks in a callback module', () => {
  it('the pre-call hook rejection reaches the client as the HTTPException status and detail, and the upstream is never called', async () => {
    const before = upstream.requests.length
    const error = await thrownBy(openai.chat.completions.create({ model: 'gpt-4o', messages: ask('tell me the forbidden thing') }))
    expect(error.status).toBe(403)
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError)
    expect((error.error as { message: string }).message).toBe('Requests about forbidden topics are refused by policy.')
    expect(upstream.requests.length).toBe(before)
  })

  it('the upstream receives the request as the pre-call hook changed it, and the client the reply as the success hook changed it', async () => {
    upstream.enqueue({ kind: 'chat', content: 'Paris is the capital.' })
    const reply = await openai.chat.completions.create({ model: 'gpt-4o', messages: ask('capital of France?'), temperature: 0.9 })
    const received = upstream.requests.at(-1)!.body
    expect(received.messages).toEqual([
      { role: 'system', content: 'Answer in one sentence.' },
      { role: 'user', content: 'capital of France?' },
    ])
    expect(received.temperature).toBe(0.1)
    expect(reply.choices[0]!.message.content).toBe('Paris is the capital. [reviewed]')
  })

  it('a moderation rejection answers 400 and cancels the upstream call running beside it', async () => {
    upstream.enqueue({ kind: 'hang' })
    const before = upstream.requests.length
    const disconnected = upstream.waitForDisconnect()
    const answer = thrownBy(openai.chat.completions.create({ model: 'gpt-4o', messages: ask('moderate me please') }))
    // The upstream call is under way before the moderation hook decides.
    await upstream.waitForRequests(before + 1)
    writeFileSync(moderationGo, '')
    const error = await answer
    expect(error.status).toBe(400)
    expect((error.error as { message: string }).message).toBe('Flagged by moderation: violence.')
    await disconnected
  })

  it('a stream reaches the client as the streaming iterator hook transformed it', async () => {
    upstream.enqueue({ kind: 'chat', content: 'quiet words here' })
    const stream = await openai.chat.completions.create({ model: 'gpt-4o', messages: ask('say something'), stream: true })
    let text = ''
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ''
    expect(text).toBe('QUIET WORDS HERE')
  })

  it('a moderation rejection of a stream is answered with its status before any chunk is sent', async () => {
    // Runs after the test above released the moderation hook, so it rejects as soon as it runs.
    const error = await thrownBy(
      (async () => {
        const stream = await openai.chat.completions.create({ model: 'gpt-4o', messages: ask('moderate me, streamed'), stream: true })
        for await (const _chunk of stream) expect.fail('a chunk was sent')
      })(),
    )
    expect(error.status).toBe(400)
    expect((error.error as { message: string }).message).toBe('Flagged by moderation: violence.')
  })
})
