/**
 * A local server that speaks OpenAI's HTTP API as the real service does: `POST /v1/chat/completions`
 * (JSON, or SSE `data: {...}` events ending with `data: [DONE]` when `stream: true`),
 * `POST /v1/embeddings` (floats, or base64 float32 when asked), and `{ error: { message, type, param,
 * code } }` error bodies. Scriptable: queue the next replies (a reply, an error, a dropped connection,
 * a stream cut half-way, no answer at all); every request is recorded with its headers and body.
 * Azure OpenAI's deployment paths answer too. Only `node:http`, no test framework, so it can serve
 * users' own tests too.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http'
import { startFakeServer, words, writeSse, type FakeServer, type StreamEnding } from './fake-server'

/** What a chat completion says; the fake builds the JSON body or the SSE chunks from it. */
export interface OpenAIChatScript {
  /** Default `Hello from the fake OpenAI server.` (`null` with tool calls). */
  content?: string | null
  toolCalls?: Array<{ id?: string; name: string; arguments: string }>
  /** Default `tool_calls` when there are tool calls, else `stop`. */
  finishReason?: string
  /** Default: words of the prompt and of the reply. */
  usage?: Record<string, unknown>
  /** Default the requested model. */
  model?: string
  /** Default `chatcmpl-fake-<n>`. */
  id?: string
}

export type OpenAIFakeReply =
  | ({ kind: 'chat' } & OpenAIChatScript)
  | { kind: 'embedding'; vectors?: number[][]; usage?: { prompt_tokens: number; total_tokens: number } }
  | { kind: 'error'; status: number; message?: string; type?: string; code?: string | null; param?: string | null; headers?: Record<string, string> }
  /** Closes the socket without answering. */
  | { kind: 'drop' }
  /** Never answers; the request is held until the client goes away. */
  | { kind: 'hang' }
  /**
   * Streams `afterChunks` SSE events of the reply, then closes the connection mid-body (`destroy`,
   * the default), ends the body without `[DONE]` (`end`), or holds the connection open (`hold`).
   */
  | ({ kind: 'cut'; afterChunks: number; how?: 'destroy' | 'end' | 'hold' } & OpenAIChatScript)
  /** Streams `afterChunks` events, then an `error` event in the stream (as OpenAI does for mid-stream failures). */
  | { kind: 'stream-error'; afterChunks: number; message?: string; code?: string }

export interface FakeRequest {
  method: string
  path: string
  headers: IncomingHttpHeaders
  body: Record<string, unknown>
}

export interface OpenAIFake extends FakeServer<FakeRequest, OpenAIFakeReply> {
  /** The base URL to give the SDK, ending in `/v1`. */
  url: string
}

const errorTypes: Record<number, [type: string, code: string | null]> = {
  400: ['invalid_request_error', null],
  401: ['invalid_request_error', 'invalid_api_key'],
  403: ['invalid_request_error', 'unsupported_country_region_territory'],
  404: ['invalid_request_error', 'model_not_found'],
  429: ['requests', 'rate_limit_exceeded'],
  500: ['server_error', null],
  503: ['server_error', null],
}

/** Starts the fake on 127.0.0.1 at a free port. */
export async function startOpenAIFake(): Promise<OpenAIFake> {
  const server = await startFakeServer<FakeRequest, OpenAIFakeReply>({
    record: (request, body) => ({ method: request.method ?? 'GET', path: request.url ?? '/', headers: request.headers, body: body ? JSON.parse(body) : {} }),
    answer,
  })
  return { ...server, url: `${server.url}/v1` }
}

function answer(request: FakeRequest, reply: OpenAIFakeReply | undefined, response: ServerResponse, sequence: number): void {
  // Azure's paths (`/openai/deployments/{deployment}/chat/completions?api-version=...`) answer as OpenAI's.
  const route = (request.path.split('?')[0] ?? '').replace(/^\/openai\/deployments\/[^/]+\//, '/v1/')
  if (reply?.kind === 'drop') return void response.socket?.destroy()
  if (reply?.kind === 'hang') return
  if (reply?.kind === 'error') return sendError(response, reply)
  if (route === '/v1/embeddings' && (reply === undefined || reply.kind === 'embedding')) return sendEmbeddings(request, reply, response)
  if (route === '/v1/chat/completions' && reply?.kind !== 'embedding') {
    const script = { ...reply, id: reply && 'id' in reply && reply.id ? reply.id : `chatcmpl-fake-${sequence}` }
    if (request.body.stream !== true) return sendJson(response, 200, completion(request, script))
    const events = chunks(request, script)
    if (reply?.kind === 'cut') return streamEvents(response, events.slice(0, reply.afterChunks), reply.how ?? 'destroy')
    if (reply?.kind === 'stream-error') {
      const error = { error: { message: reply.message ?? 'The server had an error while processing your request.', type: 'server_error', param: null, code: reply.code ?? null } }
      return streamEvents(response, [...events.slice(0, reply.afterChunks), error], 'done')
    }
    return streamEvents(response, events, 'done')
  }
  sendJson(response, 500, { error: { message: `fake: reply "${reply?.kind}" does not fit ${route}`, type: 'server_error', param: null, code: null } })
}

function sendError(response: ServerResponse, reply: Extract<OpenAIFakeReply, { kind: 'error' }>): void {
  const [type, code] = errorTypes[reply.status] ?? ['server_error', null]
  const body = { error: { message: reply.message ?? `Fake error ${reply.status}.`, type: reply.type ?? type, param: reply.param ?? null, code: reply.code === undefined ? code : reply.code } }
  sendJson(response, reply.status, body, reply.headers)
}

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', 'x-request-id': `req_fake_${Date.now()}`, ...headers })
  response.end(JSON.stringify(body))
}

function streamEvents(response: ServerResponse, events: unknown[], ending: 'done' | StreamEnding): void {
  const headers = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' }
  if (ending === 'done') return writeSse(response, { headers, events, separator: '\n\n', ending: 'end', trailer: 'data: [DONE]\n\n' })
  writeSse(response, { headers, events, separator: '\n\n', ending })
}

function replyOf(script: OpenAIChatScript) {
  const toolCalls = (script.toolCalls ?? []).map((call, index) => ({ id: call.id ?? `call_fake${index}`, type: 'function' as const, function: { name: call.name, arguments: call.arguments } }))
  const content = script.content !== undefined ? script.content : toolCalls.length > 0 ? null : 'Hello from the fake OpenAI server.'
  return { content, toolCalls, finishReason: script.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop') }
}

function usageOf(request: FakeRequest, script: OpenAIChatScript, content: string | null) {
  if (script.usage) return script.usage
  const messages = (request.body.messages ?? []) as Array<{ content?: unknown }>
  const prompt = messages.reduce((sum, message) => sum + words(typeof message.content === 'string' ? message.content : ''), 0)
  const completion = words(content ?? '') + (script.toolCalls?.length ?? 0) * 5
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  }
}

function completion(request: FakeRequest, script: OpenAIChatScript & { id: string }) {
  const { content, toolCalls, finishReason } = replyOf(script)
  const message: Record<string, unknown> = { role: 'assistant', content, refusal: null, annotations: [] }
  if (toolCalls.length > 0) message.tool_calls = toolCalls
  return {
    id: script.id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: script.model ?? request.body.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
    usage: usageOf(request, script, content),
    service_tier: 'default',
    system_fingerprint: 'fp_fake',
  }
}

/** The SSE chunks of a reply, as OpenAI sends them: role first, content word by word, tool-call arguments in pieces, finish, then usage. */
function chunks(request: FakeRequest, script: OpenAIChatScript & { id: string }): unknown[] {
  const { content, toolCalls, finishReason } = replyOf(script)
  const includeUsage = (request.body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true
  const base = { id: script.id, object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: script.model ?? request.body.model, service_tier: 'default', system_fingerprint: 'fp_fake', ...(includeUsage ? { usage: null } : {}) }
  const chunk = (delta: unknown, finish: string | null = null) => ({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })
  const events: unknown[] = [chunk({ role: 'assistant', content: content === null ? null : '', refusal: null })]
  for (const word of (content ?? '').split(/(?<=\S)(?=\s)/)) if (word) events.push(chunk({ content: word }))
  toolCalls.forEach((call, index) => {
    events.push(chunk({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } }] }))
    const pieces = call.function.arguments.match(/.{1,8}/gs) ?? []
    for (const piece of pieces) events.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }))
  })
  events.push(chunk({}, finishReason))
  if (includeUsage) events.push({ ...base, choices: [], usage: usageOf(request, script, content) })
  return events
}

function sendEmbeddings(request: FakeRequest, reply: Extract<OpenAIFakeReply, { kind: 'embedding' }> | undefined, response: ServerResponse): void {
  const input = request.body.input
  const texts = (Array.isArray(input) ? input : [input]).map(String)
  const dimensions = typeof request.body.dimensions === 'number' ? request.body.dimensions : 4
  const vectors = reply?.vectors ?? texts.map((text) => vectorFor(text, dimensions))
  const base64 = request.body.encoding_format === 'base64'
  const tokens = texts.reduce((sum, text) => sum + words(text), 0)
  sendJson(response, 200, {
    object: 'list',
    data: vectors.map((vector, index) => ({ object: 'embedding', index, embedding: base64 ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector })),
    model: request.body.model,
    usage: reply?.usage ?? { prompt_tokens: tokens, total_tokens: tokens },
  })
}

/** Deterministic, float32-exact values, so base64 round trips compare equal. */
export function vectorFor(text: string, dimensions: number): number[] {
  return Array.from({ length: dimensions }, (_, index) => ((text.length + index * 7) % 16) / 16)
}
