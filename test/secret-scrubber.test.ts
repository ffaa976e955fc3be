import { describe, expect, it } from 'vitest'
import { AuthenticationError } from '../src/errors'
import { readSetting } from '../src/integrations/options'
import { cleanCopy } from '../src/redact'
import { createSecretScrubber, registerSecret, scrubDeep, scrubError, secretParts } from '../src/secret-scrubber'

describe('the secret scrubber', () => {
  it('replaces a known key wherever it is echoed, by value, and returns a text without one unchanged', () => {
    const scrubber = createSecretScrubber(['sk-live-0123456789abcdef'], {})
    expect(scrubber.scrub('401: Incorrect API key provided: sk-live-0123456789abcdef. Key sk-live-0123456789abcdef')).toBe(
      '401: Incorrect API key provided: [redacted]. Key [redacted]',
    )
    const clean = 'nothing to see here'
    expect(scrubber.scrub(clean)).toBe(clean)
  })

  it('ignores values shorter than 8 characters, which would replace ordinary words', () => {
    const scrubber = createSecretScrubber(['ollama', 'test'], {})
    expect(scrubber.scrub('ollama runs the test model')).toBe('ollama runs the test model')
  })

  it('replaces the longer of two overlapping values whole', () => {
    const scrubber = createSecretScrubber(['abcdefgh', 'abcdefgh-ijklmnop'], {})
    expect(scrubber.scrub('x abcdefgh-ijklmnop y abcdefgh')).toBe('x [redacted] y [redacted]')
  })

  it('knows the environment’s credential variables at creation, URLs’ secret parts included, and not the other variables', () => {
    const scrubber = createSecretScrubber([], {
      OPENAI_API_KEY: 'sk-env-openai-12345678',
      LANGFUSE_SECRET_KEY: 'sk-lf-env-secret-1234',
      SENTRY_DSN: 'https://publickey0123456789@o1.ingest.sentry.io/42',
      SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T0/B0/slackwebhooktoken123',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer otel-token-12345678,x-team=search-team',
      APP_GREETING: 'hello wonderful world',
    })
    const text = scrubber.scrub(
      'sk-env-openai-12345678 sk-lf-env-secret-1234 publickey0123456789 slackwebhooktoken123 otel-token-12345678 hello wonderful world',
    )
    expect(text).toBe('[redacted] [redacted] [redacted] [redacted] [redacted] hello wonderful world')
  })

  it('learns a credential an integration is configured with after the client’s scrubber was built', () => {
    const scrubber = createSecretScrubber([], {})
    expect(scrubber.scrub('key hc-later-registered-1234')).toBe('key hc-later-registered-1234')
    readSetting(undefined, 'HELICONE_API_KEY', { HELICONE_API_KEY: 'hc-later-registered-1234' })
    expect(scrubber.scrub('key hc-later-registered-1234')).toBe('key [redacted]')
    registerSecret('registered-directly-5678')
    expect(scrubber.scrub('registered-directly-5678')).toBe('[redacted]')
  })

  it('does not learn settings that are not credentials', () => {
    readSetting(undefined, 'LANGFUSE_HOST', { LANGFUSE_HOST: 'https://langfuse.example.com' })
    expect(createSecretScrubber([], {}).scrub('https://langfuse.example.com')).toBe('https://langfuse.example.com')
  })

  it('scrubs a call’s own credentials given with the text, and bearer tokens of anyone', () => {
    const scrubber = createSecretScrubber([], {})
    expect(scrubber.scrub('sent sk-request-only-12345 with Authorization: Bearer abcdefgh12345678', ['sk-request-only-12345'])).toBe(
      'sent [redacted] with Authorization: Bearer [redacted]',
    )
  })

  it('takes a URL’s password, user, query values and last path segment as secret parts', () => {
    expect(secretParts('https://user-name-123:pass-word-456@host.example/v1/hooktoken789?key=query-key-0123&v=1')).toEqual([
      'https://user-name-123:pass-word-456@host.example/v1/hooktoken789?key=query-key-0123&v=1',
      'user-name-123',
      'pass-word-456',
      'hooktoken789',
      'query-key-0123',
    ])
  })

  it('scrubs an error in place: message, stack, and the SDK error and provider body down its cause chain', () => {
    const scrubber = createSecretScrubber(['sk-echoed-by-upstream-99'], {})
    const sdkError = Object.assign(new Error('401 Incorrect API key provided: sk-echoed-by-upstream-99'), {
      error: { message: 'Incorrect API key provided: sk-echoed-by-upstream-99', deep: [{ key: 'sk-echoed-by-upstream-99' }] },
    })
    const error = new AuthenticationError('openai answered 401: Incorrect API key provided: sk-echoed-by-upstream-99.', { cause: sdkError })
    scrubError(error, (text) => scrubber.scrub(text))
    expect(error.message).toBe('openai answered 401: Incorrect API key provided: [redacted].')
    expect(error.stack).not.toContain('sk-echoed')
    expect(sdkError.message).not.toContain('sk-echoed')
    expect(sdkError.stack).not.toContain('sk-echoed')
    expect(JSON.stringify(sdkError.error)).not.toContain('sk-echoed')
  })

  it('copies a value only where a string changed', () => {
    const scrub = (text: string) => text.replaceAll('sk-secret-0123', '[redacted]')
    const untouched = { choices: [{ message: { content: 'hi' } }], usage: { total_tokens: 3 } }
    expect(scrubDeep(untouched, scrub)).toBe(untouched)
    const echoed = { choices: [{ message: { content: 'your key is sk-secret-0123' } }], usage: { total_tokens: 3 } }
    const clean = scrubDeep(echoed, scrub)
    expect(clean).toEqual({ choices: [{ message: { content: 'your key is [redacted]' } }], usage: { total_tokens: 3 } })
    expect(clean.usage).toBe(echoed.usage)
    expect(echoed.choices[0]!.message.content).toBe('your key is sk-secret-0123')
  })

  it('walks own properties only: an inherited one is neither scrubbed into the copy nor copied by cleanCopy', () => {
    const scrub = (text: string) => text.replaceAll('sk-secret-0123', '[redacted]')
    const value = Object.create({ inherited: 'sk-secret-0123 from the prototype' }) as Record<string, unknown>
    value.own = 'sk-secret-0123 of its own'
    expect(scrubDeep(value, scrub)).toEqual({ own: '[redacted] of its own' })
    expect(Object.keys(scrubDeep(value, scrub))).toEqual(['own'])
    expect(Object.keys(cleanCopy(value, scrub))).toEqual(['own'])
  })
})

describe('scrubProcessSecrets', () => {
  it('scrubs what an HTTP sink quotes of a service’s answer of every integration credential known in the process', async () => {
    const { scrubProcessSecrets } = await import('../src/secret-scrubber')
    readSetting(undefined, 'DD_API_KEY', { DD_API_KEY: 'dd-echoed-by-service-1234' })
    expect(scrubProcessSecrets('403 {"errors":["API key dd-echoed-by-service-1234 is invalid"]}')).toBe('403 {"errors":["API key [redacted] is invalid"]}')
  })
})
