import { describe, expect, it } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { lunary, type LunaryEvent } from 'llm-onion/middleware/lunary'
import type { Receiver } from '../../src/testing/receiver'
import { exporterContract, prompt, receiverPerTest, runCalls as runSharedCalls } from './exporter-contract'

/** The shared calls, with tags and a temperature on the success and a 500 failure. */
const runCalls = (client: Client) => runSharedCalls(client, { success: { tags: ['prod'], temperature: 0.3 }, failure: { status: 500, message: 'Boom' } })
const receiverOptions = { responseBody: JSON.stringify({ results: [] }) }

function eventsOf(receiver: Receiver): LunaryEvent[] {
  return receiver.requests.flatMap((request) => (request.json as { events: LunaryEvent[] }).events)
}

describe('lunary()', () => {
  let client: Client
  const receiver = receiverPerTest({ ...receiverOptions, client: () => client })

  it('sends a start and an end or error event per call to /v1/runs/ingest with the bearer key', async () => {
    client = createClient().use(lunary({ publicKey: 'lunary-public', baseUrl: receiver.url }))
    await runCalls(client)

    for (const request of receiver.requests) {
      expect(request.path).toBe('/v1/runs/ingest')
      expect(request.headers.authorization).toBe('Bearer lunary-public')
      expect(request.headers['content-type']).toBe('application/json')
      expect(request.headers['content-encoding']).toBeUndefined()
    }
    const events = eventsOf(receiver)
    expect(events.map((event) => event.event)).toEqual(['start', 'end', 'start', 'end', 'start', 'error'])
    const [start, end, streamStart, streamEnd, failureStart, failure] = events

    expect(start).toMatchObject({ type: 'llm', name: 'echo', userId: 'user-7', input: prompt, params: { temperature: 0.3 }, tags: ['prod'], metadata: { team: 'search' } })
    expect(start.runId).toMatch(/^[0-9a-f-]{36}$/)
    expect(end.runId).toBe(start.runId)
    expect(Date.parse(end.timestamp)).toBeGreaterThanOrEqual(Date.parse(start.timestamp))
    expect(end).toMatchObject({ output: { role: 'assistant', content: 'Paris is the capital.' }, tokensUsage: { prompt: expect.any(Number), completion: 4 } })

    expect(streamEnd.runId).toBe(streamStart.runId)
    expect(streamEnd.output).toEqual({ role: 'assistant', content: 'Paris, streamed.' })

    expect(failure.runId).toBe(failureStart.runId)
    expect(failure.error).toMatchObject({ message: 'InternalServerError: Boom', stack: expect.stringContaining('InternalServerError') })
  })

  it('still delivers every event when the receiver answers 500 once, then 200', async () => {
    receiver.answerWith(500)
    client = createClient().use(lunary({ publicKey: 'lunary-public', baseUrl: receiver.url }))
    await runCalls(client)

    const delivered = receiver.requests.slice(1).flatMap((request) => (request.json as { events: LunaryEvent[] }).events)
    expect(delivered.filter((event) => event.event === 'start')).toHaveLength(3)
    expect(delivered.filter((event) => event.event !== 'start')).toHaveLength(3)
  })

  exporterContract({ name: 'lunary', layer: (url, redact) => lunary({ publicKey: 'lunary-public', baseUrl: url, redact }), run: runCalls, receiver: receiverOptions })

  it('reads LUNARY_PUBLIC_KEY and LUNARY_API_URL from the environment', async () => {
    client = createClient().use(lunary({ env: { LUNARY_PUBLIC_KEY: 'env-key', LUNARY_API_URL: receiver.url } }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()

    expect(receiver.requests[0]!.headers.authorization).toBe('Bearer env-key')
  })

  it('fails at construction naming LUNARY_PUBLIC_KEY when no key is given', () => {
    expect(() => lunary({ env: {} })).toThrow(/LUNARY_PUBLIC_KEY/)
  })
})
