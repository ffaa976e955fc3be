import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { callEventSchema, createClient, type CallEvent, type Client } from 'llm-onion'
import { jsonLog } from 'llm-onion/middleware/json-log'
import { prompt, runCalls } from './exporter-contract'

async function readEvents(path: string): Promise<CallEvent[]> {
  const text = await readFile(path, 'utf8')
  expect(text.endsWith('\n')).toBe(true)
  return text.trimEnd().split('\n').map((line) => callEventSchema.parse(JSON.parse(line)))
}

describe('jsonLog()', () => {
  let folder: string
  let client: Client
  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'llm-onion-jsonlog-'))
  })
  afterEach(async () => {
    await client?.close()
    await rm(folder, { recursive: true, force: true })
  })

  it('appends one standard event per line for a success, a streamed success and a failure, in order', async () => {
    const path = join(folder, 'nested', 'calls.jsonl')
    client = createClient().use(jsonLog({ path }))
    await runCalls(client)

    const events = await readEvents(path)
    expect(events.map((event) => [event.status, event.streaming])).toEqual([
      ['success', false],
      ['success', true],
      ['failure', false],
    ])
    expect(events[0]!.response).toMatchObject({ choices: [{ message: { content: 'Paris is the capital.' } }] })
    expect(events[0]!.user).toBe('user-7')
    expect(events[1]!.ttftMs).toBeGreaterThanOrEqual(0)
    expect(events[2]!.error).toMatchObject({ type: 'RateLimitError', status: 429 })
  })

  it('keeps the lines already in the file (appends, never truncates)', async () => {
    const path = join(folder, 'calls.jsonl')
    await writeFile(path, '{"earlier":true}\n')
    client = createClient().use(jsonLog({ path }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()

    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n')
    expect(lines).toHaveLength(2)
    expect(JSON.parse(lines[0]!)).toEqual({ earlier: true })
  })

  it('writes to LLM_ONION_LOG_FILE when no path is given', async () => {
    const path = join(folder, 'from-env.jsonl')
    client = createClient().use(jsonLog({ env: { LLM_ONION_LOG_FILE: path } }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()

    expect(await readEvents(path)).toHaveLength(1)
  })

  it('never writes the provider API key or an authorization header', async () => {
    const path = join(folder, 'calls.jsonl')
    client = createClient().use(jsonLog({ path }))
    await runCalls(client)

    const text = await readFile(path, 'utf8')
    expect(text).not.toContain('sk-secret')
    expect(text).not.toContain('sk-provider-secret')
    expect(text.toLowerCase()).not.toContain('authorization')
  })

  it.each([
    ['on the client', { client: { messages: true }, layer: undefined }],
    ['on the layer', { client: undefined, layer: { messages: true } }],
  ])('redact: { messages: true } %s removes prompt and completion content', async (_where, redact) => {
    const path = join(folder, 'calls.jsonl')
    client = createClient({ redact: redact.client }).use(jsonLog({ path, redact: redact.layer }))
    await runCalls(client)

    const text = await readFile(path, 'utf8')
    expect(text).not.toContain('capital of France')
    expect(text).not.toContain('Paris')
    expect(text).toContain('[redacted]')
  })

  it('a file that cannot be written never fails the call; the queue counts the drop', async () => {
    const blocker = join(folder, 'not-a-folder')
    await writeFile(blocker, '')
    const drops: string[] = []
    client = createClient({ queue: { retries: 0, onDrop: (info) => drops.push(`${info.sink}:${info.reason}`) } }).use(jsonLog({ path: join(blocker, 'calls.jsonl') }))

    const reply = await client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'still fine' })
    await client.flush()

    expect(reply.choices[0]!.message.content).toBe('still fine')
    expect(drops).toEqual(['jsonLog:retries_exhausted'])
  })
})
