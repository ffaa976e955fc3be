/**
 * What the `http` transport of `openai()` adds to the shared provider suites (openai.test.ts and
 * openai-errors.test.ts run every behaviour on both transports): the headers and the SSE framing
 * compared with the SDK's on the wire, its one kept-alive connection pool, and its base URL check.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { APIConnectionError, createClient, isValidationError, openai, type ChatChunk, type Context } from '../../src/index'
import { startOpenAIFake } from '../../src/testing/openai-server'
import { collect, failureOf, transports } from './provider-test-kit'

const messages = [{ role: 'user' as const, content: 'Say hello' }]
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  vi.unstubAllEnvs()
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A raw upstream on 127.0.0.1 that answers every request with `answer`, counting its connections. */
async function upstream(answer: (request: IncomingMessage, body: Record<string, unknown>, response: ServerResponse) => void) {
  const sockets: Socket[] = []
  const server: Server = createServer((request, response) => {
    const parts: Buffer[] = []
    request.on('data', (part: Buffer) => parts.push(part))
    request.on('end', () => answer(request, JSON.parse(Buffer.concat(parts).toString('utf8')) as Record<string, unknown>, response))
  })
  server.on('connection', (socket: Socket) => sockets.push(socket))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, sockets }
}

const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
  id: 'chatcmpl-raw',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'gpt-4o-mini',
  choices: [{ index: 0, delta, finish_reason: finish }],
})

describe.each(transports)('openai() on the wire, %s transport', (transport) => {
  it('sends the key, OpenAI-Project from OPENAI_PROJECT_ID, and the headers option over the organization whatever its case', async () => {
    vi.stubEnv('OPENAI_PROJECT_ID', 'proj_env')
    const fake = await startOpenAIFake()
    cleanups.push(() => fake.close())
    const client = createClient({
      providers: { openai: openai({ apiKey: 'sk-test', baseURL: fake.url, organization: 'org-1', headers: { 'X-Team': 'search', 'OpenAI-Organization': 'org-override' }, transport }) },
    })
    cleanups.push(() => client.close())
    await client.chat({ model: 'openai/gpt-4o-mini', messages })
    expect(fake.requests[0]!.headers).toMatchObject({
      authorization: 'Bearer sk-test',
      'content-type': 'application/json',
      'openai-organization': 'org-override',
      'openai-project': 'proj_env',
      'x-team': 'search',
    })
  })

  it('reads the same chunks from SSE framed with CRLF, comments, event lines and data spread over lines', async () => {
    const server = await upstream((_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' })
      response.write(': OPENROUTER PROCESSING\r\n\r\n')
      response.write(`event: message\r\ndata: ${JSON.stringify(chunk({ role: 'assistant', content: '' }))}\r\n\r\n`)
      const [first, second] = JSON.stringify(chunk({ content: 'héllo' })).split('"delta"')
      response.write(`data: ${first}\r\ndata: "delta"${second}\r\n\r\n`)
      response.write(`data: ${JSON.stringify(chunk({}, 'stop'))}\r\n\r\ndata: [DONE]\r\n\r\n`)
      response.end()
    })
    const client = createClient({ providers: { openai: openai({ apiKey: 'sk-test', baseURL: server.url, transport }) } })
    cleanups.push(() => client.close())
    const chunks: ChatChunk[] = await collect(client.stream({ model: 'openai/gpt-4o-mini', messages }))
    expect(chunks.map((each) => [each.choices[0]?.delta?.content, each.choices[0]?.finish_reason])).toEqual([
      ['', null],
      ['héllo', null],
      [undefined, 'stop'],
    ])
  })
})

describe('openai({ transport: "http" })', () => {
  it('keeps the reply body and the upstream request id on the context only when the call asks with keepRawReply', async () => {
    const body = JSON.stringify({ id: 'chatcmpl-kept', object: 'chat.completion', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }] })
    const server = await upstream((_request, _body, response) => response.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'req_kept' }).end(body))
    const client = createClient({ providers: { openai: openai({ apiKey: 'sk-test', baseURL: server.url, transport: 'http' }) } })
    cleanups.push(() => client.close())
    const contexts: Context[] = []
    const kept = await client.chat({ model: 'openai/gpt-4o-mini', messages }, { keepRawReply: true, onContext: (ctx) => contexts.push(ctx) })
    // A call that carries HTTP facts but does not ask keeps nothing: the facts alone no longer switch it on.
    await client.chat({ model: 'openai/gpt-4o-mini', messages }, { http: { method: 'POST', url: 'http://proxy/v1/chat/completions', headers: {} }, onContext: (ctx) => contexts.push(ctx) })
    expect(contexts[0]!.receivedReply).toEqual({ parsed: kept, text: body })
    expect(contexts[0]!.upstreamRequestId).toBe('req_kept')
    expect(contexts[1]!.receivedReply).toBeUndefined()
    expect(contexts[1]!.upstreamRequestId).toBeUndefined()
  })

  it('keeps its connections alive across chat, stream and embedding calls, and client.close() closes them', async () => {
    const server = await upstream((request, body, response) => {
      response.writeHead(200, { 'content-type': body.stream ? 'text/event-stream' : 'application/json' })
      if (body.stream) return void response.end(`data: ${JSON.stringify(chunk({ content: 'hi' }, 'stop'))}\n\ndata: [DONE]\n\n`)
      if (request.url === '/v1/embeddings') return void response.end(JSON.stringify({ object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.5] }], model: 'e', usage: { prompt_tokens: 1, total_tokens: 1 } }))
      response.end(JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }] }))
    })
    const client = createClient({ providers: { openai: openai({ apiKey: 'sk-test', baseURL: server.url, transport: 'http' }) } })
    await client.chat({ model: 'openai/gpt-4o-mini', messages })
    await collect(client.stream({ model: 'openai/gpt-4o-mini', messages }))
    await client.embed({ model: 'openai/text-embedding-3-small', input: 'a' })
    for (let call = 0; call < 5; call++) await client.chat({ model: 'openai/gpt-4o-mini', messages })
    // undici rests a connection for one event-loop turn before reusing it, so calls made back to back
    // alternate between two connections; without keep-alive there would be one per call.
    expect(server.sockets.length).toBeLessThanOrEqual(2)
    const closed = server.sockets.map((socket) => new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve()))))
    await client.close()
    await Promise.all(closed)
    expect(server.sockets.every((socket) => socket.destroyed)).toBe(true)
  })

  it('fails a redirected call with APIConnectionError saying where to point baseURL, as it does not follow redirects', async () => {
    const server = await upstream((_request, _body, response) => {
      response.writeHead(308, { location: 'https://api.example.com/v1/chat/completions' }).end()
    })
    const client = createClient({ providers: { openai: openai({ apiKey: 'sk-test', baseURL: server.url, transport: 'http' }) } })
    cleanups.push(() => client.close())
    const error = await failureOf(client.chat({ model: 'openai/gpt-4o-mini', messages }))
    expect(error).toBeInstanceOf(APIConnectionError)
    expect(error.message).toContain('308, a redirect to https://api.example.com/v1/chat/completions')
    expect(error.message).toContain('set baseURL')
  })

  it('rejects an OPENAI_BASE_URL that is not an http(s) URL, naming the variable', () => {
    vi.stubEnv('OPENAI_BASE_URL', 'localhost:11434')
    let thrown: unknown
    try {
      openai({ apiKey: 'sk-test', transport: 'http' })
    } catch (error) {
      thrown = error
    }
    expect(isValidationError(thrown)).toBe(true)
    expect((thrown as Error).message).toMatch(/OPENAI_BASE_URL/)
  })

  it('rejects an unknown transport naming the option', () => {
    expect(() => openai({ apiKey: 'sk-test', transport: 'fetch' as never })).toThrow(/openai\(\) options: transport/)
  })
})
