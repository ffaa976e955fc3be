import { describe, expect, it } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { openmeter, type OpenmeterEvent } from 'llm-onion/middleware/openmeter'
import type { Receiver } from '../../src/testing/receiver'
import { exporterContract, prompt, receiverPerTest, runCalls } from './exporter-contract'

function eventsOf(receiver: Receiver): OpenmeterEvent[] {
  return receiver.requests.flatMap((request) => JSON.parse(request.text) as OpenmeterEvent[])
}

describe('openmeter()', () => {
  let client: Client
  const receiver = receiverPerTest({ client: () => client })

  it('batches one CloudEvent per successful call to /api/v1/events as cloudevents-batch+json with a Bearer key', async () => {
    client = createClient().use(openmeter({ apiKey: 'om_test', baseUrl: receiver.url }))
    await runCalls(client)

    for (const request of receiver.requests) {
      expect(request.method).toBe('POST')
      expect(request.path).toBe('/api/v1/events')
      expect(request.headers.authorization).toBe('Bearer om_test')
      expect(request.headers['content-type']).toBe('application/cloudevents-batch+json')
      expect(Array.isArray(JSON.parse(request.text))).toBe(true)
    }
    // The failure is not metered: two successes, the plain one and the streamed one.
    const events = eventsOf(receiver)
    expect(events).toHaveLength(2)
    const [success, streamed] = events as [OpenmeterEvent, OpenmeterEvent]
    expect(success).toMatchObject({ specversion: '1.0', type: 'litellm_tokens', source: 'llm-onion', subject: 'user-7', data: { model: 'echo', provider: 'mock', completion_tokens: 4 } })
    expect(success.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(new Date(success.time).toISOString()).toBe(success.time)
    expect(success.data.total_tokens).toBe(success.data.prompt_tokens + success.data.completion_tokens)
    // No user on the streamed call and no key owner: metered under "anonymous", not dropped.
    expect(streamed.subject).toBe('anonymous')
  })

  it('uses metadata.user_api_key_user_id as the subject when the call has no user, as LiteLLM does', async () => {
    client = createClient().use(openmeter({ apiKey: 'om_test', baseUrl: receiver.url }))
    await client.chat({ model: 'mock/echo', messages: prompt, metadata: { user_api_key_user_id: 'key-owner-1' } })
    await client.flush()

    expect(eventsOf(receiver)[0]!.subject).toBe('key-owner-1')
  })

  exporterContract({ name: 'openmeter', layer: (url) => openmeter({ apiKey: 'om_test', baseUrl: url }), secrets: ['om_test'], redactOn: [] })

  it('reads OPENMETER_API_KEY, OPENMETER_API_ENDPOINT and OPENMETER_EVENT_TYPE, and fails naming the key when missing', async () => {
    expect(() => openmeter({ env: {} })).toThrow(/OPENMETER_API_KEY/)
    client = createClient().use(openmeter({ env: { OPENMETER_API_KEY: 'om_env', OPENMETER_API_ENDPOINT: `${receiver.url}/`, OPENMETER_EVENT_TYPE: 'llm_tokens' } }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()

    expect(receiver.requests[0]!.headers.authorization).toBe('Bearer om_env')
    expect(receiver.requests[0]!.path).toBe('/api/v1/events')
    expect(eventsOf(receiver)[0]!.type).toBe('llm_tokens')
  })
})
