/**
 * A local server that speaks Anthropic's Messages API as the real service does: `POST /v1/messages`
 * answered with a `message` JSON body, or with `stream: true` as Server-Sent Events named by their
 * type (`message_start`, `ping`, per content block `content_block_start`, `content_block_delta` with
 * `text_delta`, `thinking_delta` or `input_json_delta`, `content_block_stop`, then `message_delta`
 * with the stop reason and usage, and `message_stop`), and errors as `{ type: "error", error: { type,
 * message } }` with their status and a `request-id` header. Scriptable like the OpenAI fake: queue
 * replies, errors, dropped connections, streams cut half-way or failing with an `error` event; every
 * request is recorded with its headers and body. Only `node:http`.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http'
import { anthropicErrorType } from '../providers/anthropic/wire'
import { startFakeServer, words, writeSse, type FakeServer, type StreamEnding } from './fake-server'

/** What a message says; the fake builds the JSON body or the SSE events from it. */
export interface AnthropicMessageScript {
  /** Default `Hello from the fake Anthropic server.` (none with tool uses). */
  text?: string
  toolUses?: Array<{ id?: string; name: string; input: Record<string, unknown> }>
  /** A thinking block before the answer. */
  thinking?: string
  /** Default `tool_use` with tool uses, else `end_turn`. */
  stopReason?: string
  /** Default: words of the prompt (`input_tokens`) and of the reply (`output_tokens`); cache fields only when given. */
  usage?: Record<string, number>
  /** Default the requested model. */
  model?: string
  /** Default `msg_fake_<n>`. */
  id?: string
}

export type AnthropicFakeReply =
  | ({ kind: 'message' } & AnthropicMessageScript)
  /** An error answer; `type` defaults to Anthropic's type for the status (`overloaded_error` for 529). */
  | { kind: 'error'; status: number; type?: string; message?: string; headers?: Record<string, string> }
  /** Closes the socket without answering. */
  | { kind: 'drop' }
  /** Never answers; the request is held until the client goes away. */
  | { kind: 'hang' }
  /** Streams `afterEvents` events, then closes the connection (`destroy`), ends the body (`end`) or holds it open (`hold`). */
  | ({ kind: 'cut'; afterEvents: number; how?: StreamEnding } & AnthropicMessageScript)
  /** Streams `afterEvents` events, then an `error` event (as Anthropic reports a failure after the 200). */
  | ({ kind: 'stream-error'; afterEvents: number; type?: string; message?: string } & AnthropicMessageScript)

export interface AnthropicFakeRequest {
  method: string
  path: string
  headers: IncomingHttpHeaders
  body: Record<string, unknown>
}

export interface AnthropicFake extends FakeServer<AnthropicFakeRequest, AnthropicFakeReply> {
  /** The base URL to give the SDK (`anthropic({ apiBase })`), without `/v1`. */
  url: string
}

type Event = Record<string, unknown> & { type: string }

/**
 * Starts the fake on 127.0.0.1 at a free port.
 *
 * @example
 * ```ts
 * const server = await startAnthropicFake()
 * server.enqueue({ kind: 'message', text: 'Bonjour' })
 * const client = createClient({ providers: { anthropic: anthropic({ apiKey: 'sk-ant-test', apiBase: server.url }) } })
 * ```
 */
export function startAnthropicFake(): Promise<AnthropicFake> {
  return startFakeServer<AnthropicFakeRequest, AnthropicFakeReply>({
    record: (request, body) => ({ method: request.method ?? 'GET', path: request.url ?? '/', headers: request.headers, body: body ? JSON.parse(body) : {} }),
    answer,
  })
}

function answer(request: AnthropicFakeRequest, reply: AnthropicFakeReply | undefined, response: ServerResponse, sequence: number): void {
  if (reply?.kind === 'drop') return void response.socket?.destroy()
  if (reply?.kind === 'hang') return
  if (reply?.kind === 'error') {
    const type = reply.type ?? anthropicErrorType(reply.status)
    return sendJson(response, reply.status, { type: 'error', error: { type, message: reply.message ?? `Fake ${type}.` } }, reply.headers)
  }
  if (request.method !== 'POST' || request.path.split('?')[0] !== '/v1/messages') {
    return sendJson(response, 404, { type: 'error', error: { type: 'not_found_error', message: `fake: no route ${request.method} ${request.path}` } })
  }
  const script: AnthropicMessageScript & { id: string } = { ...reply, id: reply?.id ?? `msg_fake_${sequence}` }
  if (request.body.stream !== true) return sendJson(response, 200, message(request, script))
  const events = streamEvents(request, script)
  const headers = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'request-id': `req_fake_${sequence}` }
  if (reply?.kind === 'cut') return writeSse(response, { headers, events: events.slice(0, reply.afterEvents), separator: '\n\n', ending: reply.how ?? 'destroy', named: true })
  if (reply?.kind === 'stream-error') {
    const type = reply.type ?? 'overloaded_error'
    const failure = { type: 'error', error: { type, message: reply.message ?? 'Overloaded' } }
    return writeSse(response, { headers, events: [...events.slice(0, reply.afterEvents), failure], separator: '\n\n', ending: 'end', named: true })
  }
  writeSse(response, { headers, events, separator: '\n\n', ending: 'end', named: true })
}

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_fake_${Date.now()}`, ...headers })
  response.end(JSON.stringify(body))
}

/** The content blocks of a reply, in order: thinking, text, tool uses. */
function blocksOf(script: AnthropicMessageScript): Event[] {
  const blocks: Event[] = []
  if (script.thinking) blocks.push({ type: 'thinking', thinking: script.thinking, signature: 'fake-signature' })
  const text = script.text ?? (script.toolUses?.length ? undefined : 'Hello from the fake Anthropic server.')
  if (text !== undefined) blocks.push({ type: 'text', text })
  script.toolUses?.forEach((use, index) => blocks.push({ type: 'tool_use', id: use.id ?? `toolu_fake${index}`, name: use.name, input: use.input }))
  return blocks
}

function usageOf(request: AnthropicFakeRequest, script: AnthropicMessageScript, blocks: Event[]): Record<string, number> {
  if (script.usage) return script.usage
  const turns = (request.body.messages ?? []) as Array<{ content?: unknown }>
  const input = [request.body.system, ...turns.map((turn) => turn.content)].reduce((sum: number, content) => sum + words(textOf(content)), 0)
  const output = blocks.reduce((sum, block) => sum + (block.type === 'text' ? words(String(block.text)) : block.type === 'tool_use' ? 5 : 0), 0)
  return { input_tokens: input, output_tokens: output }
}

/** The text of a `system` or message `content`: a string, or its text blocks. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  return content.map((block: { type?: string; text?: unknown }) => (block.type === 'text' && typeof block.text === 'string' ? `${block.text} ` : '')).join('')
}

function message(request: AnthropicFakeRequest, script: AnthropicMessageScript & { id: string }) {
  const content = blocksOf(script)
  return {
    id: script.id,
    type: 'message',
    role: 'assistant',
    model: script.model ?? request.body.model,
    content,
    stop_reason: script.stopReason ?? (script.toolUses?.length ? 'tool_use' : 'end_turn'),
    stop_sequence: null,
    usage: usageOf(request, script, content),
  }
}

/** A reply's SSE events as Anthropic sends them: text word by word, tool input JSON in pieces. */
function streamEvents(request: AnthropicFakeRequest, script: AnthropicMessageScript & { id: string }): Event[] {
  const whole = message(request, script)
  const { output_tokens: outputTokens = 0, ...inputUsage } = whole.usage
  const events: Event[] = [
    { type: 'message_start', message: { ...whole, content: [], stop_reason: null, usage: { ...inputUsage, output_tokens: 1 } } },
    { type: 'ping' },
  ]
  whole.content.forEach((block, index) => {
    if (block.type === 'thinking') {
      events.push({ type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '', signature: '' } })
      events.push({ type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: block.thinking } })
      events.push({ type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: block.signature } })
    } else if (block.type === 'text') {
      events.push({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } })
      for (const word of String(block.text).split(/(?<=\S)(?=\s)/)) if (word) events.push({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: word } })
    } else {
      events.push({ type: 'content_block_start', index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } })
      events.push({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: '' } })
      for (const piece of JSON.stringify(block.input).match(/.{1,8}/gs) ?? []) events.push({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: piece } })
    }
    events.push({ type: 'content_block_stop', index })
    if (index === 0) events.push({ type: 'ping' })
  })
  events.push({ type: 'message_delta', delta: { stop_reason: whole.stop_reason, stop_sequence: null }, usage: { output_tokens: outputTokens } })
  events.push({ type: 'message_stop' })
  return events
}
