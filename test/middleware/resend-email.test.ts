import { afterEach, describe, expect, it, vi } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { resendEmail, type ResendEmail } from 'llm-onion/middleware/resend-email'
import type { Receiver } from '../../src/testing/receiver'
import { http, metadata, prompt, receiverPerTest } from './exporter-contract'

function fail(client: Client, message = 'Slow down') {
  return expect(
    client.chat({ model: 'mock/echo', messages: prompt, user: 'user-7', metadata, api_key: 'sk-provider-secret', mock_error: { status: 429, message } }, { http }),
  ).rejects.toThrow()
}

function emailsOf(receiver: Receiver): ResendEmail[] {
  return receiver.requests.map((request) => request.json as ResendEmail)
}

describe('resendEmail()', () => {
  let client: Client
  // Resend answers { "id": "..." }.
  const receiver = receiverPerTest({ responseBody: '{"id":"49a3999c-0ce1-4ea6-ab68-afcd6dc2e794"}', client: () => client })
  const options = () => ({ apiKey: 're_test_key', baseUrl: receiver.url, from: 'LLM alerts <alerts@example.com>', to: ['oncall@example.com', 'lead@example.com'] })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('emails a failure to POST /emails with a Bearer key: from, to, subject, html and text', async () => {
    client = createClient().use(resendEmail(options()))
    await fail(client)
    await client.flush()

    expect(receiver.requests).toHaveLength(1)
    const request = receiver.requests[0]!
    expect(request.method).toBe('POST')
    expect(request.path).toBe('/emails')
    expect(request.headers.authorization).toBe('Bearer re_test_key')
    expect(request.headers['content-type']).toBe('application/json')
    const email = request.json as ResendEmail
    expect(email.from).toBe('LLM alerts <alerts@example.com>')
    expect(email.to).toEqual(['oncall@example.com', 'lead@example.com'])
    expect(email.subject).toBe('LLM call failed: RateLimitError')
    expect(email.html).toContain('<h2>LLM call failed: RateLimitError</h2>')
    expect(email.html).toContain('<strong>RateLimitError</strong> (429): Slow down')
    expect(email.html).toContain('<tr><th align="left">Model</th><td>mock/echo</td></tr>')
    expect(email.text).toMatch(/^LLM call failed: RateLimitError\nRateLimitError \(429\): Slow down\nModel: mock\/echo\nProvider: mock\nError: RateLimitError\nUser: user-7\nCall id: [0-9a-f-]{36}/)
  })

  it('escapes HTML that came from the call', async () => {
    client = createClient().use(resendEmail(options()))
    await fail(client, '<script>alert(1)</script>')
    await client.flush()

    const [email] = emailsOf(receiver)
    expect(email!.html).not.toContain('<script>')
    expect(email!.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
  })

  it('merges identical failures like slack(): one [N alerts] email at the end of the window', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    client = createClient().use(resendEmail({ ...options(), windowMs: 60_000 }))
    await fail(client)
    await fail(client)
    await fail(client)
    await client.flush()
    vi.advanceTimersByTime(60_000)
    await client.flush()

    expect(emailsOf(receiver).map((email) => email.subject)).toEqual(['LLM call failed: RateLimitError', '[2 alerts] LLM call failed: RateLimitError'])
  })

  it('never sends the provider key, the call\'s authorization header or prompt content', async () => {
    client = createClient().use(resendEmail(options()))
    await fail(client)
    await client.flush()

    const text = receiver.requests[0]!.text
    for (const secret of ['sk-secret', 'sk-provider-secret', 'capital of France', 're_test_key']) expect(text).not.toContain(secret)
  })

  it('reads RESEND_API_KEY, RESEND_FROM_EMAIL and LLM_ONION_ALERT_EMAILS, and names what is missing', async () => {
    expect(() => resendEmail({ env: {} })).toThrow(/RESEND_API_KEY/)
    expect(() => resendEmail({ env: { RESEND_API_KEY: 're_x' } })).toThrow(/RESEND_FROM_EMAIL/)
    expect(() => resendEmail({ env: { RESEND_API_KEY: 're_x', RESEND_FROM_EMAIL: 'a@example.com' } })).toThrow(/LLM_ONION_ALERT_EMAILS/)
    expect(() => resendEmail({ env: { RESEND_API_KEY: 're_x', RESEND_FROM_EMAIL: 'a@example.com', LLM_ONION_ALERT_EMAILS: 'oncall, b@example.com' } })).toThrow(/"oncall" in LLM_ONION_ALERT_EMAILS is not an email address/)

    client = createClient().use(
      resendEmail({ env: { RESEND_API_KEY: 're_env', RESEND_FROM_EMAIL: 'alerts@example.com', LLM_ONION_ALERT_EMAILS: 'a@example.com, b@example.com', RESEND_API_BASE: receiver.url } }),
    )
    await fail(client)
    await client.flush()
    expect(receiver.requests[0]!.headers.authorization).toBe('Bearer re_env')
    expect(emailsOf(receiver)[0]).toMatchObject({ from: 'alerts@example.com', to: ['a@example.com', 'b@example.com'] })
  })
})
