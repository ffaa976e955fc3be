/**
 * A local server that speaks the Gemini API (generativelanguage.googleapis.com) as the real service
 * does: `POST /v1beta/models/{model}:generateContent`, `:streamGenerateContent?alt=sse` (SSE
 * `data: {...}` events, the last one with the finish reason and usage), `:embedContent`,
 * `:batchEmbedContents`, and Google's `{ error: { code, message, status, details } }` error bodies.
 * Scriptable like the OpenAI fake: queue replies, errors, dropped connections, streams cut half-way;
 * every request is recorded with its headers, model, method and body. Only `node:http`.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import { startFakeServer, words, writeSse, type FakeServer, type StreamEnding } from './fake-server'

/** What a `generateContent` answer says; the fake builds the JSON or the SSE events from it. */
export interface GeminiChatScript {
  /** Default `Hello from the fake Gemini server.` (none with function calls). */
  text?: string
  functionCalls?: Array<{ name: string; args: Record<string, unknown> }>
  /** A thought summary part (`thought: true`) before the answer. */
  thought?: string
  /** Default `STOP`. */
  finishReason?: string
  /** Default: words of the prompt and of the reply. */
  usageMetadata?: Record<string, number>
  /** Default the requested model. */
  modelVersion?: string
  /** Default `fake-response-<n>`. */
  responseId?: string
  /** The prompt is refused: no candidates, `promptFeedback.blockReason` set. */
  blockReason?: string
}

export type GeminiFakeReply =
  | ({ kind: 'chat' } & GeminiChatScript)
  | { kind: 'embedding'; vectors?: number[][] }
  | { kind: 'error'; status: number; message?: string; statusName?: string; details?: unknown[]; headers?: Record<string, string> }
  | { kind: 'drop' }
  | { kind: 'hang' }
  /** Streams `afterEvents` events, then closes the connection (`destroy`), ends the body (`end`) or holds it open (`hold`). */
  | ({ kind: 'cut'; afterEvents: number; how?: 'destroy' | 'end' | 'hold' } & GeminiChatScript)

export interface GeminiFakeRequest {
  method: string
  path: string
  query: string
  headers: IncomingHttpHeaders
  /** The model of the URL, for example `gemini-2.5-flash`. */
  model: string
  /** `generateContent`, `streamGenerateContent`, `embedContent`, `batchEmbedContents`. */
  action: string
  body: Record<string, unknown>
}

export interface GeminiFake extends FakeServer<GeminiFakeRequest, GeminiFakeReply> {
  /** The base URL to give the SDK (`gemini({ baseUrl })`), without the API version. */
  url: string
}

const statusNames: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
}

const route = /^\/(v1beta|v1)\/(?:models|tunedModels)\/([^:/]+):(generateContent|streamGenerateContent|embedContent|batchEmbedContents)$/

/** Starts the fake on 127.0.0.1 at a free port. */
export function startGeminiFake(): Promise<GeminiFake> {
  return startFakeServer<GeminiFakeRequest, GeminiFakeReply>({ record, answer })
}

function record(request: IncomingMessage, body: string): GeminiFakeRequest {
  const [path = '/', query = ''] = (request.url ?? '/').split('?')
  const matched = route.exec(path)
  return {
    method: request.method ?? 'GET',
    path,
    query,
    headers: request.headers,
    model: matched?.[2] ?? '',
    action: matched?.[3] ?? '',
    body: body ? JSON.parse(body) : {},
  }
}

function answer(request: GeminiFakeRequest, reply: GeminiFakeReply | undefined, response: ServerResponse, sequence: number): void {
  if (reply?.kind === 'drop') return void response.socket?.destroy()
  if (reply?.kind === 'hang') return
  if (reply?.kind === 'error') return sendError(response, reply.status, reply.message, reply)
  if (!request.action) return sendError(response, 404, `fake: no route for ${request.path}`)
  if (request.action === 'embedContent' || request.action === 'batchEmbedContents') {
    if (reply && reply.kind !== 'embedding') return sendError(response, 500, `fake: reply "${reply.kind}" does not fit ${request.action}`)
    return sendEmbeddings(request, reply, response)
  }
  if (reply?.kind === 'embedding') return sendError(response, 500, `fake: reply "embedding" does not fit ${request.action}`)
  const script: GeminiChatScript = { ...reply, responseId: reply?.responseId ?? `fake-response-${sequence}` }
  if (request.action === 'generateContent') return sendJson(response, 200, whole(request, script))
  if (request.query !== 'alt=sse') return sendError(response, 400, 'fake: streamGenerateContent is served as SSE only; the SDK asks with ?alt=sse')
  const events = streamEvents(request, script)
  if (reply?.kind === 'cut') return writeEvents(response, events.slice(0, reply.afterEvents), reply.how ?? 'destroy')
  writeEvents(response, events, 'end')
}

function sendError(response: ServerResponse, status: number, message?: string, reply?: Extract<GeminiFakeReply, { kind: 'error' }>): void {
  const error: Record<string, unknown> = { code: status, message: message ?? `Fake error ${status}.`, status: reply?.statusName ?? statusNames[status] ?? 'UNKNOWN' }
  if (reply?.details) error.details = reply.details
  sendJson(response, status, { error }, reply?.headers)
}

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers })
  response.end(JSON.stringify(body))
}

function writeEvents(response: ServerResponse, events: unknown[], ending: StreamEnding): void {
  writeSse(response, { headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }, events, separator: '\r\n\r\n', ending })
}

function usageOf(request: GeminiFakeRequest, script: GeminiChatScript): Record<string, number> {
  if (script.usageMetadata) return script.usageMetadata
  type Content = { parts?: Array<{ text?: string }> }
  const contents = [...((request.body.contents ?? []) as Content[]), (request.body.systemInstruction ?? {}) as Content]
  const prompt = contents.reduce((sum, content) => sum + (content.parts ?? []).reduce((inner, part) => inner + words(part.text ?? ''), 0), 0)
  const candidates = words(textOf(script)) + (script.functionCalls?.length ?? 0) * 5
  return { promptTokenCount: prompt, candidatesTokenCount: candidates, totalTokenCount: prompt + candidates }
}

function textOf(script: GeminiChatScript): string {
  return script.text ?? (script.functionCalls?.length ? '' : 'Hello from the fake Gemini server.')
}

function whole(request: GeminiFakeRequest, script: GeminiChatScript) {
  const identity = { usageMetadata: usageOf(request, script), modelVersion: script.modelVersion ?? request.model, responseId: script.responseId }
  if (script.blockReason) return { promptFeedback: { blockReason: script.blockReason }, ...identity }
  const parts: unknown[] = []
  if (script.thought) parts.push({ text: script.thought, thought: true })
  if (textOf(script)) parts.push({ text: textOf(script) })
  for (const call of script.functionCalls ?? []) parts.push({ functionCall: { name: call.name, args: call.args } })
  return { candidates: [{ content: { parts, role: 'model' }, finishReason: script.finishReason ?? 'STOP', index: 0 }], ...identity }
}

/** The SSE events of a reply, as Gemini sends them: text in pieces, function calls whole, the finish reason and full usage on the last. */
function streamEvents(request: GeminiFakeRequest, script: GeminiChatScript): unknown[] {
  const usage = usageOf(request, script)
  const identity = { modelVersion: script.modelVersion ?? request.model, responseId: script.responseId }
  if (script.blockReason) return [{ promptFeedback: { blockReason: script.blockReason }, usageMetadata: usage, ...identity }]
  const partial = { promptTokenCount: usage.promptTokenCount, totalTokenCount: usage.promptTokenCount }
  const event = (parts: unknown[], last: boolean) => ({
    candidates: [{ content: { parts, role: 'model' }, ...(last ? { finishReason: script.finishReason ?? 'STOP' } : {}), index: 0 }],
    usageMetadata: last ? usage : partial,
    ...identity,
  })
  const pieces: unknown[][] = []
  if (script.thought) pieces.push([{ text: script.thought, thought: true }])
  for (const word of textOf(script).split(/(?<=\S)(?=\s)/)) if (word) pieces.push([{ text: word }])
  for (const call of script.functionCalls ?? []) pieces.push([{ functionCall: { name: call.name, args: call.args } }])
  if (pieces.length === 0) pieces.push([{ text: '' }])
  return pieces.map((parts, index) => event(parts, index === pieces.length - 1))
}

function sendEmbeddings(request: GeminiFakeRequest, reply: Extract<GeminiFakeReply, { kind: 'embedding' }> | undefined, response: ServerResponse): void {
  type EmbedRequest = { content?: { parts?: Array<{ text?: string }> }; outputDimensionality?: number }
  const one = (item: EmbedRequest, index: number) => ({
    values: reply?.vectors?.[index] ?? geminiVectorFor(item.content?.parts?.map((part) => part.text ?? '').join('') ?? '', item.outputDimensionality ?? 4),
  })
  if (request.action === 'embedContent') return sendJson(response, 200, { embedding: one(request.body as EmbedRequest, 0) })
  const items = (request.body.requests ?? []) as EmbedRequest[]
  sendJson(response, 200, { embeddings: items.map(one) })
}

/** Deterministic, float32-exact values. */
export function geminiVectorFor(text: string, dimensions: number): number[] {
  return Array.from({ length: dimensions }, (_, index) => ((text.length * 3 + index) % 8) / 8)
}
