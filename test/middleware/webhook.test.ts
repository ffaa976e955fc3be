import { createHash, createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { verifyWebhookSignature } from 'llm-onion/integrations'
import { webhook, parseGenericLoggerHeaders } from 'llm-onion/middleware/webhook'
import { exporterContract, prompt, receiverPerTest, runCalls } from './exporter-contract'

const clientOptions = { queue: { minTimeoutMs: 10 } }
const secret = 'whsec-test-signing-secret-1'

/**
 * Checks a signature header the way a receiver written from the docs would, sharing no code with
 * the library: parse `t=...,v1=...`, recompute HMAC-SHA256 over `${t}.${raw body}`, compare.
 */
function independentlyVerified(header: string | undefined, rawBody: Buffer, key: string): { valid: boolean; timestamp: number } {
  const fields = new Map((header ?? '').split(',').map((field) => field.split('=', 2) as [string, string]))
  const timestamp = Number(fields.get('t'))
  const expected = createHmac('sha256', key).update(Buffer.concat([Buffer.from(`${timestamp}.`), rawBody])).digest('hex')
  // Hashing both sides makes the comparison's time independent of where they differ.
  const same = createHash('sha256').update(expected).digest('hex') === createHash('sha256').update(fields.get('v1') ?? '').digest('hex')
  return { valid: same, timestamp }
}

describe('webhook()', () => {
  let client: Client
  const receiver = receiverPerTest({ client: () => client })

  it('posts batches of standard events as a JSON array to GENERIC_LOGGER_ENDPOINT with the GENERIC_LOGGER_HEADERS headers', async () => {
    const env = { GENERIC_LOGGER_ENDPOINT: `${receiver.url}/llm-events`, GENERIC_LOGGER_HEADERS: 'Authorization=Bearer hook-token-1, X-Team=search=ops' }
    client = createClient(clientOptions).use(webhook({ env }))
    await runCalls(client)

    expect(receiver.requests.length).toBeGreaterThan(0)
    const events = receiver.requests.flatMap((request) => {
      expect(request.method).toBe('POST')
      expect(request.path).toBe('/llm-events')
      expect(request.headers['content-type']).toBe('application/json')
      expect(request.headers.authorization).toBe('Bearer hook-token-1')
      // LiteLLM splits each pair at its first "=", so values may hold "=".
      expect(request.headers['x-team']).toBe('search=ops')
      expect(request.headers['x-llm-onion-signature']).toBeUndefined()
      expect(Array.isArray(request.json)).toBe(true)
      return request.json as Array<Record<string, unknown>>
    })
    expect(events.map((event) => event.status)).toEqual(['success', 'success', 'failure'])
    expect(events[0]).toMatchObject({ type: 'chat', model: 'mock/echo', user: 'user-7', streaming: false })
    expect(events[0]!.id).toEqual(expect.any(String))
    expect(events[1]!.streaming).toBe(true)
    expect(events[2]!.error).toMatchObject({ message: 'Slow down' })
  })

  it('signs every request with HMAC-SHA256 over "timestamp.body", verifiable by an independent implementation', async () => {
    client = createClient(clientOptions).use(webhook({ url: receiver.url, signingSecret: secret }))
    const before = Math.floor(Date.now() / 1000)
    await runCalls(client)

    for (const request of receiver.requests) {
      const header = request.headers['x-llm-onion-signature'] as string
      expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/)
      const { valid, timestamp } = independentlyVerified(header, request.raw, secret)
      expect(valid).toBe(true)
      expect(timestamp).toBeGreaterThanOrEqual(before)
      expect(independentlyVerified(header, request.raw, 'another-secret-of-some-length').valid).toBe(false)
      expect(independentlyVerified(header, Buffer.concat([request.raw, Buffer.from(' ')]), secret).valid).toBe(false)
      // The library's own verifier agrees, and refuses the same request replayed ten minutes later.
      expect(verifyWebhookSignature({ secret, header, body: request.raw })).toBe(true)
      expect(verifyWebhookSignature({ secret, header, body: request.raw, nowSeconds: timestamp + 600 })).toBe(false)
      expect(request.text).not.toContain(secret)
    }
  })

  it('signs a retried batch again with a fresh timestamp, still valid', async () => {
    receiver.answerWith(503)
    client = createClient(clientOptions).use(webhook({ url: receiver.url, signingSecret: secret, signatureHeader: 'X-Signature' }))
    await client.chat({ model: 'mock/echo', messages: prompt })
    await client.flush()

    expect(receiver.requests).toHaveLength(2)
    for (const request of receiver.requests) expect(independentlyVerified(request.headers['x-signature'] as string, request.raw, secret).valid).toBe(true)
  })

  it("sends NDJSON, or one request per event, as LiteLLM's log_format does", async () => {
    client = createClient(clientOptions).use(webhook({ url: receiver.url, logFormat: 'ndjson' }))
    await runCalls(client)
    const lines = receiver.requests.flatMap((request) => {
      expect(request.headers['content-type']).toBe('application/x-ndjson')
      return request.text.split('\n').map((line) => JSON.parse(line) as { status: string })
    })
    expect(lines.map((event) => event.status)).toEqual(['success', 'success', 'failure'])

    await client.close()
    receiver.requests.length = 0
    client = createClient(clientOptions).use(webhook({ url: receiver.url, logFormat: 'single' }))
    await runCalls(client)
    expect(receiver.requests).toHaveLength(3)
    for (const request of receiver.requests) expect((request.json as { id: string }).id).toEqual(expect.any(String))
  })

  it('counts a rejected batch as dropped and never fails the call', async () => {
    receiver.answerWith(401)
    client = createClient({ ...clientOptions, queue: { onDrop: () => undefined } }).use(webhook({ url: receiver.url }))
    const reply = await client.chat({ model: 'mock/echo', messages: prompt, mock_response: 'fine' })
    await client.flush()
    expect(reply.choices[0]!.message.content).toBe('fine')
    expect(client.services.queue.stats().sinks.webhook!.dropped.rejected).toBe(1)
  })

  it('fails at construction naming GENERIC_LOGGER_ENDPOINT when no URL is given', () => {
    expect(() => webhook({ env: {} })).toThrow(/GENERIC_LOGGER_ENDPOINT/)
  })

  it('reads GENERIC_LOGGER_HEADERS as LiteLLM does', () => {
    expect(parseGenericLoggerHeaders('Authorization=Bearer abc,broken,X-Team=search')).toEqual({ authorization: 'Bearer abc', 'x-team': 'search' })
  })

  exporterContract({
    name: 'webhook',
    layer: (url, redact) => webhook({ url, headers: { authorization: 'Bearer hook-secret-2' }, signingSecret: secret, redact }),
    client: clientOptions,
    secrets: ['hook-secret-2', secret],
  })
})
