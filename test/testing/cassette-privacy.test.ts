/**
 * What a cassette never holds: credentials planted in every place traffic carries them (the provider
 * key the SDK sends as a header, a request's `api_key`, the client's `secrets`, a message, metadata, a
 * bearer token pasted in a prompt, a reply that echoes the key, an upstream 401 that echoes it in its
 * body and its response headers) are absent from the cassette file's bytes; and under
 * `redact: { messages: true }` no prompt or reply text is written, yet the calls still replay.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createClient, openai } from '../../src/index'
import { readCassettes, record, replay, startOpenAIFake } from '../../src/testing/index'

const planted = {
  providerKey: 'sk-plant-cassette-provider-91ab07',
  requestKey: 'sk-plant-cassette-request-27cd44',
  clientSecret: 'plant-cassette-client-secret-33ef',
  bearer: 'plant-cassette-bearer-token-5a6b7c',
}
const folders: string[] = []
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true })
})

/** Every byte of every file in `dir`, as text. */
function bytesOf(dir: string): string {
  return readdirSync(dir).map((name) => readFileSync(join(dir, name), 'utf8')).join('\n')
}

function folder(prefix: string): string {
  const made = mkdtempSync(join(tmpdir(), prefix))
  folders.push(made)
  return made
}

describe('a cassette and planted secrets', () => {
  it('holds none of them, in requests, replies, chunks, errors or headers, and still records every call', async () => {
    const dir = folder('llm-onion-cassette-secrets-')
    const fake = await startOpenAIFake()
    const client = createClient({ providers: { openai: openai({ apiKey: planted.providerKey, baseURL: fake.url }) }, secrets: [planted.clientSecret] }).use(record({ dir }))
    const leaky = `my keys are ${planted.providerKey}, ${planted.requestKey} and ${planted.clientSecret}; Authorization: Bearer ${planted.bearer}`
    const metadata = { api_key: planted.clientSecret, note: `copied ${planted.providerKey}`, headers: { authorization: `Bearer ${planted.bearer}` } }

    fake.enqueue({ kind: 'chat', content: `echo: ${planted.providerKey}` })
    await client.chat({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: leaky }], api_key: planted.requestKey, metadata })
    fake.enqueue({ kind: 'chat', content: `streamed echo ${planted.providerKey} ${planted.clientSecret}` })
    for await (const _chunk of client.stream({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: leaky }], api_key: planted.requestKey })) void _chunk
    await client.embed({ model: 'openai/text-embedding-3-small', input: [leaky], api_key: planted.requestKey } as never)
    fake.enqueue({
      kind: 'error',
      status: 401,
      message: `Incorrect API key provided: ${planted.providerKey}.`,
      headers: { 'x-echoed-key': planted.providerKey, 'x-api-key': planted.providerKey, 'set-cookie': `session=${planted.clientSecret}`, 'x-debug': `auth=Bearer ${planted.bearer}` },
    })
    await client.chat({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'who am I?' }] }).catch(() => undefined)
    await client.close()
    await fake.close()

    // The fake did get the key: the test would prove nothing if it never travelled.
    expect(fake.requests[0]!.headers.authorization).toBe(`Bearer ${planted.providerKey}`)
    const bytes = bytesOf(dir)
    for (const [where, secret] of Object.entries(planted)) expect(bytes.includes(secret), `${where} is in the cassette`).toBe(false)
    const entries = readCassettes(dir).map(({ entry }) => entry)
    expect(entries.map((entry) => entry.error?.type ?? entry.type)).toEqual(['chat', 'chat', 'embedding', 'AuthenticationError'])
    expect(entries[0]!.request).not.toHaveProperty('api_key')
    expect(entries[0]!.request.metadata).toEqual({ note: 'copied [redacted]', headers: {} })
    expect(entries[3]!.headers).not.toHaveProperty('x-api-key')
    expect(entries[3]!.headers).not.toHaveProperty('set-cookie')
    expect(entries[3]!.headers?.['x-echoed-key']).toBe('[redacted]')
    expect(entries[3]!.error?.message).toContain('Incorrect API key provided: [redacted].')
  })
})

describe('a cassette under redact: { messages: true }', () => {
  it('writes no prompt or reply text, and replays with the same redaction', async () => {
    const dir = folder('llm-onion-cassette-redacted-')
    const fake = await startOpenAIFake()
    const prompt = 'my card number is 4242 4242 4242 4242'
    const client = createClient({ providers: { openai: openai({ apiKey: 'sk-cassette-redact-1234', baseURL: fake.url }) }, redact: { messages: true } }).use(record({ dir }))
    fake.enqueue({ kind: 'chat', content: 'a private reply about the card' })
    await client.chat({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: prompt }] })
    fake.enqueue({ kind: 'chat', content: 'a private streamed reply' })
    for await (const _chunk of client.stream({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: prompt }] })) void _chunk
    await client.embed({ model: 'openai/text-embedding-3-small', input: [prompt] })
    await client.close()
    await fake.close()

    const bytes = bytesOf(dir)
    // The card's digits in a group of two: a lone '4242' also turns up in the fake's timestamps (created, x-request-id).
    for (const text of ['4242 4242', 'private', 'card']) expect(bytes).not.toContain(text)
    expect(readCassettes(dir).every(({ entry }) => entry.redacted)).toBe(true)

    const replayed = createClient({ providers: { openai: replay({ dir }) }, redact: { messages: true } })
    const reply = await replayed.chat({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: prompt }] })
    expect(reply.choices[0]!.message.content).toBe('[redacted]')
    const embedding = await replayed.embed({ model: 'openai/text-embedding-3-small', input: [prompt] })
    expect(embedding.data[0]!.embedding).toBe('[redacted]')
    await replayed.close()
  })
})
