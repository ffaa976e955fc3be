import { afterEach, describe, expect, it } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { helicone, route } from 'llm-onion/middleware'
import { createRecorder, mock, startReceiver, type Receiver } from 'llm-onion/testing'

let client: Client | undefined
const receivers: Receiver[] = []
afterEach(async () => {
  await client?.close()
  client = undefined
  for (const receiver of receivers.splice(0)) await receiver.close()
})

/** A seeded generator (mulberry32): the same seed samples the same calls. */
function seeded(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let value = Math.imul(state ^ (state >>> 15), state | 1)
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61)
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296
  }
}

const ask = (content: string, extra: Record<string, unknown> = {}) => ({ model: 'mock/echo', messages: [{ role: 'user' as const, content }], ...extra })

describe('route()', () => {
  it('delivers each finished call to exactly the sinks its rules choose', async () => {
    const failures = createRecorder()
    const teamA = createRecorder()
    const everything = createRecorder()
    client = createClient({
      providers: { mock: mock() },
      middleware: [route([
        { when: (event) => event.status !== 'success', to: [failures.layer] },
        { when: (event) => event.metadata.team === 'a', to: [teamA.layer, everything.layer] },
        { to: [everything.layer] },
      ])],
    })
    await client.chat(ask('one', { metadata: { team: 'a' } }))
    await client.chat(ask('two', { metadata: { team: 'b' } }))
    await client.chat(ask('three', { mock_error: { status: 500 } })).catch(() => undefined)
    expect(failures.events.map((event) => event.status)).toEqual(['failure'])
    expect(teamA.events.map((event) => event.metadata.team)).toEqual(['a'])
    // A sink in two matching rules gets the call once.
    expect(everything.events.map((event) => (event.messages![0] as { content: string }).content)).toEqual(['one', 'two', 'three'])
  })

  it('samples the same calls under the same seed, and keeps every failure', async () => {
    const run = async (seed: number) => {
      const sampled = createRecorder()
      const local = createClient({
        providers: { mock: mock() },
        middleware: [route([{ when: (event) => event.status === 'success', to: [sampled.layer], sample: 0.3 }, { when: (event) => event.status === 'failure', to: [sampled.layer] }], { random: seeded(seed) })],
      })
      for (let index = 0; index < 40; index++) await local.chat(ask(`call ${index}`))
      await local.chat(ask('boom', { mock_error: { status: 500 } })).catch(() => undefined)
      await local.close()
      return sampled.events.map((event) => (event.messages![0] as { content: string }).content)
    }
    const first = await run(7)
    expect(await run(7)).toEqual(first)
    expect(first.at(-1)).toBe('boom')
    expect(first.length).toBeGreaterThan(1)
    expect(first.length).toBeLessThan(41)
  })

  it("sends team A's calls with team A's credentials to team A's receiver only", async () => {
    const [receiverA, receiverB] = [await startReceiver(), await startReceiver()]
    receivers.push(receiverA, receiverB)
    client = createClient({
      providers: { mock: mock() },
      middleware: [route([
        { when: (event) => event.metadata.team === 'a', to: [helicone({ apiKey: 'hc-team-a-key-0001', baseUrl: receiverA.url })] },
        { when: (event) => event.metadata.team === 'b', to: [helicone({ apiKey: 'hc-team-b-key-0002', baseUrl: receiverB.url })] },
      ])],
    })
    await client.chat(ask('for a', { metadata: { team: 'a' } }))
    await client.flush()
    expect(receiverA.requests).toHaveLength(1)
    expect(receiverB.requests).toHaveLength(0)
    expect(receiverA.requests[0]!.headers.authorization).toBe('Bearer hc-team-a-key-0001')
    expect(JSON.stringify(receiverA.requests[0])).not.toContain('hc-team-b-key-0002')
  })

  it('sends nothing anywhere for a request with no-log: true', async () => {
    const sink = createRecorder()
    client = createClient({ providers: { mock: mock() }, middleware: [route([{ to: [sink.layer] }])] })
    await client.chat(ask('secret', { metadata: { 'no-log': true } }))
    expect(sink.events).toEqual([])
  })

  it('names a bad rule', () => {
    expect(() => route([{ to: [], sample: 2 }])).toThrow(/route\(\) rules\[0\]/)
  })
})
