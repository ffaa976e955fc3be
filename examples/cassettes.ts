/**
 * Cassettes (docs/testing.md): record real calls once, replay them offline in CI. The "real" provider
 * here is the local OpenAI fake this example starts, so it runs without a network or a key; in your
 * own tests it is `openai()` with your key, used only when you record.
 * Run: npx tsx examples/cassettes.ts
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient, openai, type Client } from 'llm-onion'
import { readCassettes, record, replay, startOpenAIFake } from 'llm-onion/testing'

const fake = await startOpenAIFake()
const dir = mkdtempSync(join(tmpdir(), 'llm-onion-cassettes-example-'))

/** Recording: the real provider, with record() innermost. Replaying: the cassettes, offline. */
function testClient(recording: boolean): Client {
  if (recording) {
    const real = openai({ apiKey: 'sk-example-not-a-real-key', baseURL: fake.url })
    return createClient({ providers: { openai: real } }).use(record({ dir }))
  }
  return createClient({ providers: { openai: replay({ dir }) } })
}

/** What a test of your code would do: a chat, a stream and an embedding. */
async function yourTest(client: Client): Promise<string[]> {
  const messages = [{ role: 'user' as const, content: 'Name three colours.' }]
  const reply = await client.chat({ model: 'openai/gpt-4o-mini', messages })
  let streamed = ''
  for await (const chunk of client.stream({ model: 'openai/gpt-4o-mini', messages })) {
    streamed += chunk.choices[0]?.delta?.content ?? ''
  }
  const { data } = await client.embed({ model: 'openai/text-embedding-3-small', input: ['red', 'green'] })
  return [reply.choices[0]!.message.content ?? '', streamed, String(data.length)]
}

// Once, with RECORD=1 in your project: the real provider answers and record() writes the cassettes.
fake.enqueue({ kind: 'chat', content: 'Red, green and blue.' }, { kind: 'chat', content: 'Cyan, magenta and yellow.' })
const recording = testClient(true)
const live = await yourTest(recording)
await recording.close() // writes what is still queued
await fake.close() // from here on nothing answers: the replay is offline
console.log(`recorded ${readCassettes(dir).length} calls to ${dir}`)

// In CI: the same test, answered from the cassettes.
const replaying = testClient(false)
const offline = await yourTest(replaying)
console.log('live:   ', live)
console.log('offline:', offline)
if (JSON.stringify(live) !== JSON.stringify(offline)) throw new Error('the replay differs from the recording')

// A call nobody recorded fails in strict mode, naming the nearest recording and what differs.
try {
  await replaying.chat({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'Name four colours.' }] })
} catch (error) {
  console.log((error as Error).message)
}

// At the recorded speed, a stream's chunks come at their recorded gaps.
const timed = createClient({ providers: { openai: replay({ dir, speed: 'recorded' }) } })
for await (const chunk of timed.stream({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'Name three colours.' }] })) {
  process.stdout.write(chunk.choices[0]?.delta?.content ?? '')
}
console.log()

await replaying.close()
await timed.close()
rmSync(dir, { recursive: true, force: true })
