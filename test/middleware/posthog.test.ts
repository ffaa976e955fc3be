import { describe, expect, it } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { posthog, type PosthogEvent } from 'llm-onion/middleware/posthog'
import type { Receiver } from '../../src/testing/receiver'
import { exporterContract, prompt, receiverPerTest, runCalls as runSharedCalls } from './exporter-contract'

/** The shared calls, with a parent span id in the metadata and a 503 failure. */
const runCalls = (client: Client) => runSharedCalls(client, { metadata: { parent_id: 'agent-run-1' }, failure: { status: 503, message: 'Overloaded' } })

/** Every event the receiver got, in the order the calls finished. */
function eventsOf(receiver: Receiver): PosthogEvent[] {
  return receiver.requests.flatMap((request) => (request.json as { batch: PosthogEvent[] }).batch)
}

describe('posthog()', () => {
  let client: Client
  const receiver = receiverPerTest({ client: () => client })

  it('batches $ai_generation events for a success, a streamed success and a failure to /batch/', async () => {
    client = createClient().use(posthog({ apiKey: 'phc_test', baseUrl: receiver.url }))
    await runCalls(client)

    for (const request of receiver.requests) {
      expect(request.path).toBe('/batch/')
      expect(request.headers['content-type']).toBe('application/json')
      expect(request.headers.authorization).toBeUndefined()
      expect(request.headers['content-encoding']).toBeUndefined()
      expect((request.json as { api_key: string }).api_key).toBe('phc_test')
    }
    const [success, streamed, failure] = eventsOf(receiver)
    expect(eventsOf(receiver)).toHaveLength(3)

    expect(success.event).toBe('$ai_generation')
    expect(success.distinct_id).toBe('user-7')
    expect(success.uuid).toMatch(/^[0-9a-f-]{36}$/)
    expect(Date.parse(success.timestamp)).not.toBeNaN()
    expect(success.properties).toMatchObject({
      $ai_model: 'echo',
      $ai_provider: 'mock',
      $ai_input: prompt,
      $ai_output_choices: [{ role: 'assistant', content: 'Paris is the capital.' }],
      $ai_input_tokens: expect.any(Number),
      $ai_output_tokens: 4,
      $ai_http_status: 200,
      $ai_base_url: 'mock://local',
      $ai_span_id: success.uuid,
      $ai_parent_id: 'agent-run-1',
      team: 'search',
    })
    expect(success.properties.$ai_latency).toBeGreaterThanOrEqual(0)
    expect(success.properties.$ai_latency).toBeLessThan(60)
    expect(success.properties.$ai_is_error).toBeUndefined()

    expect(streamed.distinct_id).toBe(streamed.properties.$ai_trace_id)
    expect(streamed.properties.$process_person_profile).toBe(false)
    expect(streamed.properties.$ai_stream).toBe(true)
    expect(streamed.properties.$ai_output_choices).toEqual([{ role: 'assistant', content: 'Paris, streamed.' }])

    expect(failure.properties).toMatchObject({ $ai_is_error: true, $ai_error: 'ServiceUnavailableError: Overloaded', $ai_http_status: 503 })
  })

  it('records a stream the caller stopped reading as cancelled, not as an HTTP 500 error', async () => {
    client = createClient().use(posthog({ apiKey: 'phc_test', baseUrl: receiver.url }))
    for await (const _chunk of client.stream({ model: 'mock/echo', messages: prompt, mock_response: 'one two three four' })) break
    await client.flush()

    const [cancelled] = eventsOf(receiver)
    expect(cancelled.properties.$ai_http_status).toBeUndefined()
    expect(cancelled.properties.$ai_is_error).toBe(false)
    expect(cancelled.properties.$ai_error).toBeUndefined()
    expect(cancelled.properties.llm_onion_status).toBe('cancelled')
  })

  it('sends embeddings as $ai_embedding events without output choices', async () => {
    client = createClient().use(posthog({ apiKey: 'phc_test', baseUrl: receiver.url }))
    await client.embed({ model: 'mock/embed', input: ['a b c'] })
    await client.flush()

    const [embedding] = eventsOf(receiver)
    expect(embedding.event).toBe('$ai_embedding')
    expect(embedding.properties.$ai_input).toEqual(['a b c'])
    expect(embedding.properties.$ai_output_choices).toBeUndefined()
  })

  it('still delivers every event when the receiver answers 500 once, then 200', async () => {
    receiver.answerWith(500)
    client = createClient().use(posthog({ apiKey: 'phc_test', baseUrl: receiver.url, maxBatchSize: 1 }))
    await runCalls(client)

    const delivered = receiver.requests.slice(1).flatMap((request) => (request.json as { batch: PosthogEvent[] }).batch)
    expect(delivered.map((event) => event.properties.$ai_http_status).sort()).toEqual([200, 200, 503])
  })

  exporterContract({ name: 'posthog', layer: (url, redact) => posthog({ apiKey: 'phc_test', baseUrl: url, redact }), run: runCalls })

  it('reads POSTHOG_API_KEY and POSTHOG_API_URL from the environment', async () => {
    client = createClient().use(posthog({ env: { POSTHOG_API_KEY: 'phc_env', POSTHOG_API_URL: receiver.url } }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()

    expect((receiver.requests[0]!.json as { api_key: string }).api_key).toBe('phc_env')
  })

  it('fails at construction naming POSTHOG_API_KEY when no key is given', () => {
    expect(() => posthog({ env: {} })).toThrow(/POSTHOG_API_KEY/)
  })
})
