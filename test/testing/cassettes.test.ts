/**
 * Record once against the OpenAI and Gemini fakes (the real SDKs on their wire formats), stop the
 * fakes, replay: callers get the same replies, chunk sequences and errors, and a recorder sees the
 * same events but for the fields docs/testing.md lists as differing (ids and times).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { anthropic, createClient, gemini, isLlmError, openai, type CallEvent, type Client } from '../../src/index'
import { retry } from '../../middleware/retry'
import { createRecorder, readCassettes, record, replay, replaySchedule, startAnthropicFake, startGeminiFake, startOpenAIFake, type GeminiFake, type OpenAIFake } from '../../src/testing/index'

const messages = [{ role: 'user' as const, content: 'Say hello to the cassette' }]

/** One call of the recorded traffic: what the fake answers while recording, and the call itself. */
interface TrafficCall {
  name: string
  enqueue(fakes: { openai: OpenAIFake; gemini: GeminiFake }): void
  run(client: Client): Promise<unknown>
}

/** What a caller sees of a call: the reply, every chunk in order, or the error's class, status and message. */
async function outcome(call: () => Promise<unknown> | AsyncIterable<unknown>): Promise<unknown> {
  const chunks: unknown[] = []
  try {
    const result = call()
    if (Symbol.asyncIterator in (result as object)) {
      for await (const chunk of result as AsyncIterable<unknown>) chunks.push(chunk)
      return { chunks }
    }
    return { reply: await result }
  } catch (error) {
    if (!isLlmError(error)) throw error
    return { chunks, error: { name: error.name, status: error.status, message: error.message, retryable: error.retryable, code: error.code } }
  }
}

const traffic: TrafficCall[] = [
  {
    name: 'openai chat',
    enqueue: (fakes) => fakes.openai.enqueue({ kind: 'chat', content: 'Hello, cassette.', model: 'gpt-4o-mini-2024-07-18' }),
    run: (client) => outcome(() => client.chat({ model: 'openai/gpt-4o-mini', messages, temperature: 0 })),
  },
  {
    name: 'openai stream',
    enqueue: (fakes) => fakes.openai.enqueue({ kind: 'chat', content: 'One two three four five.' }),
    run: (client) => outcome(() => client.stream({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'Count to five' }] })),
  },
  {
    name: 'openai embeddings',
    enqueue: () => undefined,
    run: (client) => outcome(() => client.embed({ model: 'openai/text-embedding-3-small', input: ['alpha', 'beta'] })),
  },
  {
    name: 'openai rate limit',
    enqueue: (fakes) => fakes.openai.enqueue({ kind: 'error', status: 429, message: 'Rate limit reached for gpt-4o-mini.', headers: { 'retry-after': '3' } }),
    run: (client) => outcome(() => client.chat({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'Too fast' }] })),
  },
  {
    name: 'openai stream failing half-way',
    enqueue: (fakes) => fakes.openai.enqueue({ kind: 'stream-error', afterChunks: 3, message: 'The server had an error while processing your request.' }),
    run: (client) => outcome(() => client.stream({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'Fail half-way' }] })),
  },
  {
    name: 'gemini chat',
    enqueue: (fakes) => fakes.gemini.enqueue({ kind: 'chat', text: 'Hello from Gemini, cassette.' }),
    run: (client) => outcome(() => client.chat({ model: 'gemini/gemini-2.5-flash', messages: [{ role: 'system', content: 'Be brief.' }, ...messages], max_tokens: 64 })),
  },
  {
    name: 'gemini stream',
    enqueue: (fakes) => fakes.gemini.enqueue({ kind: 'chat', text: 'Streaming from the Gemini fake.' }),
    run: (client) => outcome(() => client.stream({ model: 'gemini/gemini-2.5-flash', messages })),
  },
  {
    name: 'gemini embeddings',
    enqueue: () => undefined,
    run: (client) => outcome(() => client.embed({ model: 'gemini/text-embedding-004', input: ['gamma'] })),
  },
  {
    name: 'gemini unavailable',
    enqueue: (fakes) => fakes.gemini.enqueue({ kind: 'error', status: 503, message: 'The model is overloaded. Please try again later.' }),
    run: (client) => outcome(() => client.chat({ model: 'gemini/gemini-2.5-flash', messages: [{ role: 'user', content: 'Are you there?' }] })),
  },
]

/** The event without the fields a replay cannot keep: ids, times and stacks (docs/testing.md, "What differs"). */
function comparable(event: CallEvent): unknown {
  const { id: _id, traceId: _traceId, startTime: _start, endTime: _end, firstChunkTime: _first, latencyMs: _latency, ttftMs: _ttft, ...rest } = event
  return {
    ...rest,
    attempts: rest.attempts.map(({ start: _attemptStart, end: _attemptEnd, ...attempt }) => attempt),
    error: rest.error ? { ...rest.error, stack: undefined } : undefined,
  }
}

const folders: string[] = []
/** A new folder under the temporary directory, removed after the tests. */
function folder(prefix: string): string {
  const made = mkdtempSync(join(tmpdir(), prefix))
  folders.push(made)
  return made
}
afterAll(() => {
  for (const made of folders) rmSync(made, { recursive: true, force: true })
})

const dir = folder('llm-onion-cassettes-')
let recordedOutcomes: unknown[] = []
let recordedEvents: CallEvent[] = []
let openaiRequests = 0

beforeAll(async () => {
  const fakes = { openai: await startOpenAIFake(), gemini: await startGeminiFake() }
  const recorder = createRecorder()
  const client = createClient({
    providers: {
      openai: openai({ apiKey: 'sk-cassette-openai-key-1234', baseURL: fakes.openai.url }),
      gemini: gemini({ apiKey: 'AIza-cassette-gemini-key-5678', baseUrl: fakes.gemini.url }),
    },
  }).use(recorder.layer, record({ dir }))
  for (const call of traffic) {
    call.enqueue(fakes)
    recordedOutcomes.push(await call.run(client))
  }
  await client.close()
  recordedEvents = recorder.events
  openaiRequests = fakes.openai.requests.length
  // From here on nothing answers at those addresses: replays are offline.
  await fakes.openai.close()
  await fakes.gemini.close()
})

describe('record() then replay() with the fakes stopped', () => {
  let client: Client
  const recorder = createRecorder()
  const replayedOutcomes: unknown[] = []
  beforeAll(async () => {
    const cassettes = replay({ dir })
    client = createClient({ providers: { openai: cassettes, gemini: cassettes } }).use(recorder.layer)
    for (const call of traffic) replayedOutcomes.push(await call.run(client))
  })
  afterAll(() => client.close())

  it('recorded every call of the traffic, one line each, reaching both fakes', () => {
    expect(openaiRequests).toBe(5)
    const recordings = readCassettes(dir)
    expect(recordings.map(({ entry }) => [entry.provider, entry.type, entry.streaming, entry.error?.type])).toEqual([
      ['openai', 'chat', false, undefined],
      ['openai', 'chat', true, undefined],
      ['openai', 'embedding', false, undefined],
      ['openai', 'chat', false, 'RateLimitError'],
      ['openai', 'chat', true, 'InternalServerError'],
      ['gemini', 'chat', false, undefined],
      ['gemini', 'chat', true, undefined],
      ['gemini', 'embedding', false, undefined],
      ['gemini', 'chat', false, 'ServiceUnavailableError'],
    ])
  })

  for (const [index, call] of traffic.entries()) {
    it(`gives the caller of "${call.name}" the same reply, chunk sequence or error`, () => {
      expect(replayedOutcomes[index]).toEqual(recordedOutcomes[index])
    })

    it(`gives "${call.name}" the same event, byte for byte, but for ids and times`, () => {
      expect(JSON.stringify(comparable(recorder.events[index]!))).toBe(JSON.stringify(comparable(recordedEvents[index]!)))
    })
  }

  it('throws recorded errors again as the same class, with retryAfterMs', async () => {
    const error = await client.chat({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'Too fast' }] }).catch((thrown: unknown) => thrown)
    expect(error).toMatchObject({ name: 'RateLimitError', status: 429, retryAfterMs: 3000, provider: 'openai' })
  })

  it("keeps the provider's response headers without credentials", () => {
    const openaiChat = readCassettes(dir)[0]!.entry
    expect(openaiChat.headers?.['content-type']).toBe('application/json')
    expect(openaiChat.headers?.['x-request-id']).toMatch(/^req_fake_/)
    const rateLimited = readCassettes(dir)[3]!.entry
    expect(rateLimited.headers?.['retry-after']).toBe('3')
  })
})

describe('anthropic() recorded and replayed', () => {
  it("keeps its response headers, and replays its chat and stream with the fake stopped", async () => {
    const anthropicDir = folder('llm-onion-cassettes-anthropic-')
    const fake = await startAnthropicFake()
    const live = createClient({ providers: { anthropic: anthropic({ apiKey: 'sk-ant-cassette-1234', apiBase: fake.url }, {}) } }).use(record({ dir: anthropicDir }))
    const calls = (client: Client) => [
      () => client.chat({ model: 'anthropic/claude-sonnet-4-5', messages, max_tokens: 100 }),
      () => client.stream({ model: 'anthropic/claude-sonnet-4-5', messages, max_tokens: 100 }),
    ]
    const recorded = []
    for (const call of calls(live)) recorded.push(await outcome(call))
    await live.close()
    await fake.close()
    const entries = readCassettes(anthropicDir).map(({ entry }) => entry)
    expect(entries.map((entry) => [entry.provider, entry.streaming, entry.headers?.['request-id']?.startsWith('req_fake_')])).toEqual([
      ['anthropic', false, true],
      ['anthropic', true, true],
    ])
    const offline = createClient({ providers: { anthropic: replay({ dir: anthropicDir }) } })
    const replayed = []
    for (const call of calls(offline)) replayed.push(await outcome(call))
    expect(replayed).toEqual(recorded)
    await offline.close()
  })
})

describe('the replay schedule', () => {
  it("waits the recorded gaps between chunks at speed 'recorded', and none at 'instant'", () => {
    const stream = readCassettes(dir)[1]!.entry
    const offsets = stream.chunks!.map((chunk) => chunk.atMs)
    expect(offsets.length).toBeGreaterThan(3)
    expect(offsets).toEqual([...offsets].sort((left, right) => left - right))
    expect(stream.firstChunkMs).toBe(offsets[0])
    const recorded = replaySchedule(stream, { streaming: true, speed: 'recorded' })
    const gaps = offsets.map((offset, index) => Math.round((offset - (index === 0 ? 0 : offsets[index - 1]!)) * 1000) / 1000)
    expect(recorded).toEqual([...gaps.map((waitMs, index) => ({ kind: 'chunk', index, waitMs })), { kind: 'end', waitMs: 0 }])
    expect(replaySchedule(stream, { streaming: true, speed: 'instant' }).every((step) => step.waitMs === 0)).toBe(true)
  })

  it('is what the replayer waits, step by step, with the error after its recorded delay', async () => {
    const waits: number[] = []
    const cassettes = replay({ dir, speed: 'recorded', sleep: async (ms) => void waits.push(ms) })
    const client = createClient({ providers: { openai: cassettes } })
    const failing = readCassettes(dir)[4]!.entry
    await outcome(() => client.stream({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'Fail half-way' }] }))
    expect(waits).toEqual(replaySchedule(failing, { streaming: true, speed: 'recorded' }).map((step) => step.waitMs))
    expect(replaySchedule(failing, { streaming: true, speed: 'recorded' }).map((step) => step.kind)).toEqual(['chunk', 'chunk', 'chunk', 'error'])
    waits.length = 0
    const whole = readCassettes(dir)[0]!.entry
    await client.chat({ model: 'openai/gpt-4o-mini', messages, temperature: 0 })
    expect(waits).toEqual([whole.durationMs])
    await client.close()
  })
})

describe('options', () => {
  it('are checked, and a wrong one is named with what to pass', () => {
    expect(() => record({} as never)).toThrow(/Invalid record\(\) options: dir: must be the folder the cassettes are written to/)
    expect(() => replay({ dir, mode: 'passthrough' })).toThrow(/Invalid replay\(\) options: provider: is required with mode: 'passthrough'/)
    expect(() => replay({ dir, speed: 'fast' as never })).toThrow(/Invalid replay\(\) options: speed/)
    expect(() => replay({ dir: join(dir, 'missing') })).toThrow(/Cannot read the cassettes at .*missing: no such file or folder/)
  })
})

describe('replay() matching', () => {
  it('in strict mode fails a call nothing matches, naming the nearest recording and the fields that differ', async () => {
    const client = createClient({ providers: { openai: replay({ dir }) } })
    const error = (await client.chat({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello to the tape' }], temperature: 0.5 }).then(() => undefined, (thrown: unknown) => thrown)) as Error
    expect(error.name).toBe('CassetteMissError')
    expect(error.message).toContain(`no recording in ${dir} matches this chat call to openai/gpt-4o-mini (mode: 'strict')`)
    expect(error.message).toMatch(/Nearest recording: .*\.jsonl:1 \(chat, openai\/gpt-4o-mini, recorded .*\), which differs in 2 fields:/)
    expect(error.message).toContain('  messages[0].content: recorded "Say hello to the cassette", requested "Say hello to the tape"')
    expect(error.message).toContain('  temperature: recorded 0, requested 0.5')
    await client.close()
  })

  it('matches on the fields of `match` only, and on a key function', async () => {
    const byModel = createClient({ providers: { gemini: replay({ dir, match: ['model'] }) } })
    const reply = await byModel.chat({ model: 'gemini/gemini-2.5-flash', messages: [{ role: 'user', content: 'anything at all' }] })
    expect(reply.choices[0]!.message.content).toBe('Hello from Gemini, cassette.')
    const byLastWord = createClient({ providers: { openai: replay({ dir, match: (request) => JSON.stringify(request.messages ?? null).includes('five') }) } })
    const chunks: string[] = []
    for await (const chunk of byLastWord.stream({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'Up to five, please' }] })) chunks.push(chunk.choices[0]?.delta?.content ?? '')
    expect(chunks.join('')).toBe('One two three four five.')
    await byModel.close()
    await byLastWord.close()
  })

  it('answers a whole call from a streamed recording, assembled, when no whole one matches', async () => {
    const client = createClient({ providers: { openai: replay({ dir }) } })
    const reply = await client.chat({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'Count to five' }] })
    expect(reply.choices[0]!.message.content).toBe('One two three four five.')
    await client.close()
  })

  it('plays a request recorded several times in order (a 429, then the retry’s success), then repeats the last', async () => {
    const retryDir = folder('llm-onion-cassettes-retry-')
    const fake = await startOpenAIFake()
    fake.enqueue({ kind: 'error', status: 429, message: 'Slow down.' }, { kind: 'chat', content: 'Made it.' })
    const live = createClient({ providers: { openai: openai({ apiKey: 'sk-cassette-retry-1234', baseURL: fake.url }) } }).use(retry({ retries: 1, minTimeoutMs: 0 }), record({ dir: retryDir }))
    const recorder = createRecorder()
    live.use(recorder.layer)
    await live.chat({ model: 'openai/gpt-4o-mini', messages })
    await live.close()
    await fake.close()
    expect(readCassettes(retryDir).map(({ entry }) => entry.error?.status ?? 200)).toEqual([429, 200])

    const replayed = createClient({ providers: { openai: replay({ dir: retryDir }) } }).use(retry({ retries: 1, minTimeoutMs: 0 }))
    const attempts = createRecorder()
    replayed.use(attempts.layer)
    const reply = await replayed.chat({ model: 'openai/gpt-4o-mini', messages })
    expect(reply.choices[0]!.message.content).toBe('Made it.')
    expect(attempts.events.map((event) => event.status)).toEqual(['failure', 'success'])
    expect((await replayed.chat({ model: 'openai/gpt-4o-mini', messages })).choices[0]!.message.content).toBe('Made it.')
    await replayed.close()
  })

  it("in passthrough mode sends a miss to the real provider, and record() adds it to the cassettes without recording the hits again", async () => {
    const growDir = folder('llm-onion-cassettes-grow-')
    const fake = await startOpenAIFake()
    const real = openai({ apiKey: 'sk-cassette-pass-1234', baseURL: fake.url })
    const first = createClient({ providers: { openai: replay({ dir: growDir, mode: 'passthrough', provider: real }) } }).use(record({ dir: growDir }))
    await first.chat({ model: 'openai/gpt-4o-mini', messages })
    await first.close()
    expect(fake.requests).toHaveLength(1)
    const second = createClient({ providers: { openai: replay({ dir: growDir, mode: 'passthrough', provider: openai({ apiKey: 'sk-cassette-pass-1234', baseURL: fake.url }) }) } }).use(record({ dir: growDir }))
    await second.chat({ model: 'openai/gpt-4o-mini', messages })
    await second.chat({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'A new question' }] })
    await second.close()
    await fake.close()
    expect(fake.requests).toHaveLength(2)
    expect(readCassettes(growDir).map(({ entry }) => (entry.request.messages as Array<{ content: string }>)[0]!.content)).toEqual([messages[0]!.content, 'A new question'])
  })
})
