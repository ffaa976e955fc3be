/**
 * smtpEmail() against a real SMTP server (`smtp-server`, on 127.0.0.1 port 0) that checks the login
 * and parses every message it gets with `mailparser`.
 */
import type { AddressInfo } from 'node:net'
import { simpleParser, type ParsedMail } from 'mailparser'
import { SMTPServer } from 'smtp-server'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createClient, type Client } from 'llm-onion'
import { smtpEmail } from 'llm-onion/middleware/smtp-email'
import { http, metadata, prompt } from './exporter-contract'

interface Received {
  mail: ParsedMail
  envelope: { from: string; to: string[]; user?: string }
  raw: string
}

function fail(client: Client, message = 'Slow down') {
  return expect(
    client.chat({ model: 'mock/echo', messages: prompt, user: 'user-7', metadata, api_key: 'sk-provider-secret', mock_error: { status: 429, message } }, { http }),
  ).rejects.toThrow()
}

describe('smtpEmail()', () => {
  let client: Client | undefined
  let server: SMTPServer
  let port: number
  let received: Received[]
  let logins: Array<{ username?: string; password?: string }>
  /** SMTP reply codes to refuse the next messages with, in order; then accept. */
  let refusals: number[]

  beforeEach(async () => {
    received = []
    logins = []
    refusals = []
    server = new SMTPServer({
      // No certificate here: the test server speaks plain SMTP, and the client is told tls: false.
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        logins.push({ username: auth.username, password: auth.password ?? undefined })
        if (auth.username === 'alerts' && auth.password === 'smtp-pass') callback(null, { user: auth.username })
        else callback(Object.assign(new Error('Invalid login'), { responseCode: 535 }))
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = []
        stream.on('data', (chunk: Buffer) => chunks.push(chunk))
        stream.on('end', () => {
          const refusal = refusals.shift()
          if (refusal !== undefined) return callback(Object.assign(new Error('Try again later'), { responseCode: refusal }))
          const raw = Buffer.concat(chunks).toString('utf8')
          void simpleParser(raw).then((mail) => {
            received.push({
              mail,
              raw,
              envelope: { from: (session.envelope.mailFrom as { address: string }).address, to: session.envelope.rcptTo.map((rcpt) => rcpt.address), user: session.user as string | undefined },
            })
            callback()
          }, callback)
        })
      },
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.server.address() as AddressInfo).port
  })
  afterEach(async () => {
    await client?.close()
    client = undefined
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  const options = () => ({ host: '127.0.0.1', port, username: 'alerts', password: 'smtp-pass', tls: false, from: 'LLM alerts <alerts@example.com>', to: ['oncall@example.com', 'lead@example.com'] })

  it('logs in and sends the failure alert, which the server parses: sender, recipients, subject, text and HTML', async () => {
    client = createClient().use(smtpEmail(options()))
    await fail(client)
    await client.flush()

    expect(received).toHaveLength(1)
    const [{ mail, envelope }] = received as [Received]
    expect(logins).toEqual([{ username: 'alerts', password: 'smtp-pass' }])
    expect(envelope).toEqual({ from: 'alerts@example.com', to: ['oncall@example.com', 'lead@example.com'], user: 'alerts' })
    expect(mail.from?.value).toEqual([{ address: 'alerts@example.com', name: 'LLM alerts' }])
    expect(mail.subject).toBe('LLM call failed: RateLimitError')
    expect(mail.text).toMatch(/^LLM call failed: RateLimitError\nRateLimitError \(429\): Slow down\nModel: mock\/echo\n/)
    expect(mail.html).toContain('<strong>RateLimitError</strong> (429): Slow down')
    expect(mail.html).toContain('<tr><th align="left">User</th><td>user-7</td></tr>')
  })

  it('tries again after a temporary 451, and the email arrives once', async () => {
    refusals.push(451)
    client = createClient().use(smtpEmail(options()))
    await fail(client)
    await client.flush()

    expect(received).toHaveLength(1)
    expect(received[0]!.mail.subject).toBe('LLM call failed: RateLimitError')
  })

  it('never sends the provider key, the call\'s authorization header, prompt content or the SMTP password', async () => {
    client = createClient().use(smtpEmail(options()))
    await fail(client, 'Incorrect API key provided: sk-provider-secret')
    await client.flush()

    const raw = received[0]!.raw
    for (const secret of ['sk-secret', 'sk-provider-secret', 'capital of France', 'smtp-pass']) expect(raw).not.toContain(secret)
  })

  it('reads LiteLLM\'s SMTP_* variables and LLM_ONION_ALERT_EMAILS, and names what is missing', async () => {
    expect(() => smtpEmail({ env: {} })).toThrow(/SMTP_HOST/)
    expect(() => smtpEmail({ env: { SMTP_HOST: 'h' } })).toThrow(/SMTP_SENDER_EMAIL/)
    expect(() => smtpEmail({ env: { SMTP_HOST: 'h', SMTP_SENDER_EMAIL: 'a@example.com', LLM_ONION_ALERT_EMAILS: 'b@example.com', SMTP_USERNAME: 'u' } })).toThrow(/SMTP_PASSWORD/)
    expect(() => smtpEmail({ env: { SMTP_HOST: 'h', SMTP_PORT: 'smtp', SMTP_SENDER_EMAIL: 'a@example.com', LLM_ONION_ALERT_EMAILS: 'b@example.com' } })).toThrow(/SMTP_PORT/)

    client = createClient().use(
      smtpEmail({
        env: { SMTP_HOST: '127.0.0.1', SMTP_PORT: String(port), SMTP_USERNAME: 'alerts', SMTP_PASSWORD: 'smtp-pass', SMTP_TLS: 'False', SMTP_SENDER_EMAIL: 'alerts@example.com', LLM_ONION_ALERT_EMAILS: 'a@example.com, b@example.com' },
      }),
    )
    await fail(client)
    await client.flush()
    expect(received[0]!.envelope.to).toEqual(['a@example.com', 'b@example.com'])
  })
})
