import { afterEach, describe, expect, it, vi } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { sendgridEmail, type SendgridMail } from 'llm-onion/middleware/sendgrid-email'
import type { Receiver } from '../../src/testing/receiver'
import { http, metadata, prompt, receiverPerTest } from './exporter-contract'

function fail(client: Client) {
  return expect(
    client.chat({ model: 'mock/echo', messages: prompt, user: 'user-7', metadata, api_key: 'sk-provider-secret', mock_error: { status: 429, message: 'Slow down' } }, { http }),
  ).rejects.toThrow()
}

function mailsOf(receiver: Receiver): SendgridMail[] {
  return receiver.requests.map((request) => request.json as SendgridMail)
}

describe('sendgridEmail()', () => {
  let client: Client
  // SendGrid answers 202 Accepted with an empty body.
  const receiver = receiverPerTest({ responseBody: '', client: () => client })
  const options = () => ({ apiKey: 'SG.test-key', baseUrl: receiver.url, from: 'alerts@example.com', to: ['oncall@example.com', 'lead@example.com'] })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('emails a failure to POST /v3/mail/send with a Bearer key, in the Mail Send shape', async () => {
    client = createClient().use(sendgridEmail(options()))
    await fail(client)
    await client.flush()

    expect(receiver.requests).toHaveLength(1)
    const request = receiver.requests[0]!
    expect(request.method).toBe('POST')
    expect(request.path).toBe('/v3/mail/send')
    expect(request.headers.authorization).toBe('Bearer SG.test-key')
    expect(request.headers['content-type']).toBe('application/json')
    const mail = request.json as SendgridMail
    expect(mail.personalizations).toEqual([{ to: [{ email: 'oncall@example.com' }, { email: 'lead@example.com' }] }])
    expect(mail.from).toEqual({ email: 'alerts@example.com' })
    expect(mail.subject).toBe('LLM call failed: RateLimitError')
    // SendGrid requires text/plain first when both are given.
    expect(mail.content.map((part) => part.type)).toEqual(['text/plain', 'text/html'])
    expect(mail.content[0]!.value).toContain('RateLimitError (429): Slow down')
    expect(mail.content[1]!.value).toContain('<strong>RateLimitError</strong> (429): Slow down')
  })

  it('merges identical failures like slack(): one [N alerts] email at the end of the window', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    client = createClient().use(sendgridEmail({ ...options(), windowMs: 60_000 }))
    await fail(client)
    await fail(client)
    await fail(client)
    await client.flush()
    vi.advanceTimersByTime(60_000)
    await client.flush()

    expect(mailsOf(receiver).map((mail) => mail.subject)).toEqual(['LLM call failed: RateLimitError', '[2 alerts] LLM call failed: RateLimitError'])
  })

  it('still delivers the email when SendGrid answers 429 once', async () => {
    receiver.answerWith(429)
    client = createClient().use(sendgridEmail(options()))
    await fail(client)
    await client.flush()

    expect(receiver.requests).toHaveLength(2)
  })

  it('never sends the provider key, the call\'s authorization header or prompt content', async () => {
    client = createClient().use(sendgridEmail(options()))
    await fail(client)
    await client.flush()

    const text = receiver.requests[0]!.text
    for (const secret of ['sk-secret', 'sk-provider-secret', 'capital of France', 'SG.test-key']) expect(text).not.toContain(secret)
  })

  it('reads SENDGRID_API_KEY, SENDGRID_SENDER_EMAIL and LLM_ONION_ALERT_EMAILS, and names what is missing', async () => {
    expect(() => sendgridEmail({ env: {} })).toThrow(/SENDGRID_API_KEY/)
    expect(() => sendgridEmail({ env: { SENDGRID_API_KEY: 'SG.x' } })).toThrow(/SENDGRID_SENDER_EMAIL/)
    client = createClient().use(
      sendgridEmail({ env: { SENDGRID_API_KEY: 'SG.env', SENDGRID_SENDER_EMAIL: 'alerts@example.com', LLM_ONION_ALERT_EMAILS: 'a@example.com', SENDGRID_API_BASE: receiver.url } }),
    )
    await fail(client)
    await client.flush()
    expect(receiver.requests[0]!.headers.authorization).toBe('Bearer SG.env')
    expect(mailsOf(receiver)[0]!.personalizations).toEqual([{ to: [{ email: 'a@example.com' }] }])
  })
})
