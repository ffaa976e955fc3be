import { afterEach, describe, expect, it } from 'vitest'
import { createClient, type CallEvent, type Client, type Sink } from '../src/index'
import { callbacks } from '../middleware/callbacks'
import { customLogger } from '../middleware/custom-logger'
import { observer } from '../middleware/observer'
import { defineExporter } from '../src/integrations/exporter'
import { isSecretHeader, isSecretKey, redactBody, redactChunk, redactMessages, stripSecretHeaders, stripSecretKeys, stripSecretQuery } from '../src/redact'

let client: Client | undefined
afterEach(async () => {
  await client?.close()
  client = undefined
})

/** A sink that keeps what the delivery queue hands it. */
function keepingSink(name: string) {
  const items: unknown[] = []
  const sink: Sink<unknown> = { name, async send(batch) { items.push(...batch) } }
  return { sink, items }
}

function exporterTo(sink: Sink<unknown>, redact?: { messages?: boolean }) {
  return defineExporter<CallEvent>({ name: sink.name, sink, moments: ['success', 'failure'], toItems: (event) => event, redact })
}

describe('credential stripping', () => {
  it('drops credential headers and keeps the rest, names lower-cased', () => {
    const headers = stripSecretHeaders({
      Authorization: 'Bearer sk-1',
      'x-api-key': 'k1',
      'api-key': 'k2',
      'anthropic-api-key': 'k3',
      'x-goog-api-key': 'k4',
      Cookie: 'session=1',
      'Content-Type': 'application/json',
      'x-request-id': 'r1',
    })
    expect(headers).toEqual({ 'content-type': 'application/json', 'x-request-id': 'r1' })
  })

  it('judges a name the same every time, past the 1,024 names it remembers too', () => {
    // More names than are remembered, then the credential names again: each asked once more after the others.
    const made = Array.from({ length: 1_500 }, (_, index) => `x-field-${index}`)
    for (const name of made) expect(isSecretKey(name) || isSecretHeader(name)).toBe(false)
    for (const name of ['Authorization', 'x-api-key', 'client_secret', 'x-auth-token', 'sessionToken', 'max_tokens', 'x-field-1499-token']) {
      expect([isSecretKey(name), isSecretKey(name)]).toEqual(name === 'max_tokens' ? [false, false] : [true, true])
    }
    expect([isSecretHeader('X-Api-Key'), isSecretHeader('content-type'), isSecretHeader('X-Api-Key')]).toEqual([true, false, true])
  })

  it('drops credential keys at any depth, in snake_case, camelCase and header form', () => {
    const stripped = stripSecretKeys({
      api_key: 'sk-1',
      apiKey: 'sk-2',
      openai_api_key: 'sk-3',
      client_secret: 's',
      extra_headers: { 'x-api-key': 'k', Authorization: 'Bearer t', accept: 'json' },
      list: [{ password: 'p', name: 'kept' }],
      max_tokens: 10,
    })
    expect(stripped).toEqual({ extra_headers: { accept: 'json' }, list: [{ name: 'kept' }], max_tokens: 10 })
  })

  it('drops token keys and headers (token, access_token, x-auth-token, sessionToken) and cookies, never max_tokens', () => {
    const stripped = stripSecretKeys({
      token: 't1',
      access_token: 't2',
      'x-auth-token': 't3',
      sessionToken: 't4',
      cookie: 'c1',
      'set-cookie': 'c2',
      max_tokens: 10,
      max_completion_tokens: 20,
    })
    expect(stripped).toEqual({ max_tokens: 10, max_completion_tokens: 20 })
    expect(stripSecretHeaders({ 'X-Auth-Token': 't', 'x-access-token': 't', 'set-cookie': 'c', accept: 'json' })).toEqual({ accept: 'json' })
  })

  it('replaces Bearer values anywhere in a string, in values and headers it keeps', () => {
    expect(stripSecretKeys({ note: 'sent with Authorization: Bearer sk-abcdefgh12345678 yesterday' })).toEqual({
      note: 'sent with Authorization: Bearer [redacted] yesterday',
    })
    expect(stripSecretHeaders({ 'x-forwarded-auth': 'Bearer sk-abcdefgh12345678' })).toEqual({ 'x-forwarded-auth': 'Bearer [redacted]' })
    expect(stripSecretKeys({ note: 'the Bearer of bad news' })).toEqual({ note: 'the Bearer of bad news' })
  })

  it('drops credential keys nested 10 levels deep, and replaces what is nested deeper than the cap instead of passing it', () => {
    let ten: Record<string, unknown> = { api_key: 'sk-deep', kept: 'yes' }
    for (let level = 0; level < 10; level++) ten = { level: ten }
    let found: unknown = stripSecretKeys(ten)
    for (let level = 0; level < 10; level++) found = (found as { level: unknown }).level
    expect(found).toEqual({ kept: 'yes' })

    let deep: Record<string, unknown> = { api_key: 'sk-very-deep' }
    for (let level = 0; level < 100_000; level++) deep = { level: deep }
    expect(JSON.stringify(stripSecretKeys(deep))).not.toContain('sk-very-deep')
    expect(JSON.stringify(stripSecretKeys(deep))).toContain('[redacted]')
  })

  it('drops credential query parameters from URLs, relative or absolute', () => {
    expect(stripSecretQuery('/v1beta/models/g:generateContent?key=AIza&alt=sse')).toBe('/v1beta/models/g:generateContent?alt=sse')
    expect(stripSecretQuery('https://h.example/x?api_key=1&token=2#top')).toBe('https://h.example/x#top')
    expect(stripSecretQuery('/v1/chat/completions')).toBe('/v1/chat/completions')
  })
})

describe('content redaction helpers', () => {
  it('replaces message content and tool-call arguments, keeping roles and ids', () => {
    const redacted = redactMessages([
      { role: 'user', content: 'my card is 4242' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'pay', arguments: '{"card":"4242"}' } }] },
    ])
    expect(redacted).toEqual([
      { role: 'user', content: '[redacted]' },
      { role: 'assistant', content: '[redacted]', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'pay', arguments: '[redacted]' } }] },
    ])
  })

  it('redacts a chunk with content and leaves one without content as it is', () => {
    const withContent = { id: 'c', choices: [{ index: 0, delta: { content: 'secret' }, finish_reason: null }] }
    const finish = { id: 'c', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }
    expect(redactChunk(withContent).choices[0]!.delta).toEqual({ content: '[redacted]' })
    expect(redactChunk(finish)).toBe(finish)
  })

  it('makes a proxied body safe: credentials always, content when asked', () => {
    const body = { model: 'gpt-4o', api_key: 'sk-1', messages: [{ role: 'user', content: 'private' }] }
    expect(redactBody(body, false)).toEqual({ model: 'gpt-4o', messages: [{ role: 'user', content: 'private' }] })
    expect(redactBody(body, true)).toEqual({ model: 'gpt-4o', messages: [{ role: 'user', content: '[redacted]' }] })
  })
})

describe('redaction in every sink', () => {
  it('with redact: { messages: true } on the client, no observer, callback, CustomLogger or exporter sees prompt or reply content', async () => {
    const seen: unknown[] = []
    const exported = keepingSink('kept')
    client = createClient({ redact: { messages: true } }).use(
      observer({ onSuccess: (event) => void seen.push(event) }),
      callbacks({ success: [(event) => void seen.push(event)] }),
      customLogger({ logSuccessEvent: (...args: unknown[]) => void seen.push(args), logStreamEvent: (...args: unknown[]) => void seen.push(args) }),
      exporterTo(exported.sink),
    )
    await client.chat({ model: 'mock/x', messages: [{ role: 'user', content: 'PROMPT-TEXT' }], mock_response: 'REPLY-TEXT' })
    for await (const _chunk of client.stream({ model: 'mock/x', messages: [{ role: 'user', content: 'PROMPT-TEXT' }], mock_response: 'REPLY-TEXT' }));
    await client.embed({ model: 'mock/embed', input: 'EMBED-TEXT' })
    await client.flush()
    const everything = JSON.stringify([seen, exported.items])
    expect(seen.length).toBeGreaterThan(6)
    expect(exported.items).toHaveLength(3)
    expect(everything).not.toMatch(/PROMPT-TEXT|REPLY|EMBED-TEXT/)
    expect(everything).toContain('[redacted]')
  })

  it('redacts for one layer only when the option is given to that layer', async () => {
    const open = keepingSink('open')
    const closed = keepingSink('closed')
    client = createClient().use(exporterTo(open.sink), exporterTo(closed.sink, { messages: true }))
    await client.chat({ model: 'mock/x', messages: [{ role: 'user', content: 'PROMPT-TEXT' }] })
    await client.flush()
    expect(JSON.stringify(open.items)).toContain('PROMPT-TEXT')
    expect(JSON.stringify(closed.items)).not.toContain('PROMPT-TEXT')
  })

  it('never lets a credential into any event, whether it came in a header, the URL, metadata or a request parameter', async () => {
    const seen: unknown[] = []
    const exported = keepingSink('kept')
    client = createClient().use(
      observer({ onSuccess: (event) => void seen.push(event), onFailure: (event) => void seen.push(event) }),
      callbacks({ input: [(event) => void seen.push(event)], success: [(event) => void seen.push(event)], failure: [(event) => void seen.push(event)] }),
      customLogger({
        logPreApiCall: (...args: unknown[]) => void seen.push(args),
        logSuccessEvent: (...args: unknown[]) => void seen.push(args),
        logFailureEvent: (...args: unknown[]) => void seen.push(args),
      }),
      exporterTo(exported.sink),
    )
    const http = {
      method: 'POST',
      url: '/v1/chat/completions?key=SECRET-QUERY',
      headers: { Authorization: 'Bearer SECRET-HEADER', 'x-api-key': 'SECRET-X', 'content-type': 'application/json' },
      body: { model: 'mock/x', api_key: 'SECRET-BODY' },
    }
    const request = {
      model: 'mock/x',
      messages: [{ role: 'user' as const, content: 'hi' }],
      metadata: { api_key: 'SECRET-METADATA', team: 'a' },
      extra_headers: { authorization: 'Bearer SECRET-PARAM' },
    }
    await client.chat(request, { http })
    await expect(client.chat({ ...request, mock_error: { status: 401 } }, { http })).rejects.toThrow()
    await client.flush()
    const everything = JSON.stringify([seen, exported.items])
    expect(seen.length).toBeGreaterThan(8)
    expect(everything).toContain('"team":"a"')
    expect(everything).toContain('content-type')
    expect(everything).not.toMatch(/SECRET-/)
  })
})
