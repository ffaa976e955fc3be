/**
 * A local server that speaks Amazon Bedrock's runtime API (bedrock-runtime.<region>.amazonaws.com) as
 * the real service does for the Converse operations: `POST /model/{modelId}/converse` (JSON) and
 * `POST /model/{modelId}/converse-stream` (binary `application/vnd.amazon.eventstream` frames, encoded
 * with `@smithy/eventstream-codec`), AWS's error answers (`x-amzn-ErrorType`, a `{ "message" }` body,
 * `x-amzn-RequestId`) and exception frames mid-stream. Every request's AWS Signature V4 is checked
 * with the independent `aws4` package against the fake's credentials, and a request signed with any
 * other secret is refused with 403 `InvalidSignatureException`, as AWS refuses it; a Bedrock API key
 * (`Authorization: Bearer`) is checked against the fake's. Scriptable like the other fakes: queue
 * replies, errors, dropped connections, streams cut half-way; every request is recorded.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import { startFakeServer, words, type FakeServer } from './fake-server'

/** What a Converse answer says; the fake builds the JSON body or the stream events from it. */
export interface BedrockChatScript {
  /** Default `Hello from the fake Bedrock server.` (none with tool uses). */
  text?: string
  toolUses?: Array<{ name: string; input: Record<string, unknown>; toolUseId?: string }>
  /** A reasoning block before the answer (Claude's extended thinking). */
  reasoning?: string
  /** Default `end_turn`, or `tool_use` with tool uses. */
  stopReason?: string
  /** Default: words of the prompt and of the reply. */
  usage?: { inputTokens: number; outputTokens: number; totalTokens?: number; cacheReadInputTokens?: number; cacheWriteInputTokens?: number }
}

export type BedrockFakeReply =
  | ({ kind: 'chat' } & BedrockChatScript)
  /** An AWS error answer: `type` is the `x-amzn-ErrorType` (default by status, `ValidationException` for 400). */
  | { kind: 'error'; status: number; type?: string; message?: string; headers?: Record<string, string> }
  /** A stream that sends `afterEvents` events, then an exception frame (`throttlingException`, `modelStreamErrorException`, ...). */
  | ({ kind: 'stream-error'; afterEvents: number; exceptionType: string; message?: string } & BedrockChatScript)
  | { kind: 'drop' }
  | { kind: 'hang' }
  /** Streams `afterEvents` events, then closes the connection (`destroy`), ends the body (`end`) or holds it open (`hold`). */
  | ({ kind: 'cut'; afterEvents: number; how?: 'destroy' | 'end' | 'hold' } & BedrockChatScript)

export interface BedrockFakeRequest {
  method: string
  path: string
  headers: IncomingHttpHeaders
  /** The model id of the path, decoded (`anthropic.claude-3-5-sonnet-20240620-v1:0`). */
  modelId: string
  /** `converse` or `converse-stream`. */
  action: string
  body: Record<string, unknown>
  /** How the request authenticated: SigV4 (its region, service and access key) or a bearer token; `refused` with why when it did not. */
  auth: { scheme: 'sigv4'; accessKeyId: string; region: string; service: string } | { scheme: 'bearer' } | { scheme: 'refused'; reason: string }
}

/** The credentials the fake accepts. */
export interface BedrockFakeOptions {
  /** Default `AKIAFAKEBEDROCK00001` / `fake-bedrock-secret-key-0000000000000000`. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  /** A Bedrock API key accepted as `Authorization: Bearer`; default none. */
  bearerToken?: string
}

export interface BedrockFake extends FakeServer<BedrockFakeRequest, BedrockFakeReply> {
  /** The endpoint to give the SDK (`bedrock({ endpoint })`, `api_base`). */
  url: string
  /** The credentials it accepts, to give the SDK. */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
}

const defaultCredentials = { accessKeyId: 'AKIAFAKEBEDROCK00001', secretAccessKey: 'fake-bedrock-secret-key-0000000000000000' }

const typeByStatus: Record<number, string> = {
  400: 'ValidationException',
  403: 'AccessDeniedException',
  404: 'ResourceNotFoundException',
  408: 'ModelTimeoutException',
  424: 'ModelErrorException',
  429: 'ThrottlingException',
  500: 'InternalServerException',
  503: 'ServiceUnavailableException',
}

const route = /^\/model\/([^/]+)\/(converse|converse-stream)$/

type Aws4 = typeof import('aws4')
type Codec = InstanceType<typeof import('@smithy/eventstream-codec').EventStreamCodec>

/**
 * Starts the fake on 127.0.0.1 at a free port. It loads `aws4` and `@smithy/eventstream-codec`
 * when it starts, not when `llm-onion/testing` is imported.
 *
 * @example
 * ```ts
 * const fake = await startBedrockFake()
 * const provider = bedrock({ endpoint: fake.url, region: 'us-east-1', ...fake.credentials })
 * ```
 */
export async function startBedrockFake(options: BedrockFakeOptions = {}): Promise<BedrockFake> {
  const credentials = options.credentials ?? defaultCredentials
  const [aws4Module, { EventStreamCodec }] = await Promise.all([import('aws4'), import('@smithy/eventstream-codec')])
  const aws4 = ((aws4Module as { default?: Aws4 }).default ?? aws4Module) as Aws4
  const codec = new EventStreamCodec(
    (bytes) => Buffer.from(bytes).toString('utf8'),
    (text) => new Uint8Array(Buffer.from(text, 'utf8')),
  )
  let sequence = 0
  const server = await startFakeServer<BedrockFakeRequest, BedrockFakeReply>({
    record: (request, body) => record(request, body, { aws4, credentials, bearerToken: options.bearerToken }),
    answer: (recorded, reply, response) => answer(recorded, reply, response, codec, `fake-request-${++sequence}`),
  })
  return Object.assign(server, { credentials })
}

function record(request: IncomingMessage, body: string, auth: { aws4: Aws4; credentials: BedrockFake['credentials']; bearerToken?: string }): BedrockFakeRequest {
  const path = request.url ?? '/'
  const matched = route.exec(path.split('?')[0]!)
  let parsed: Record<string, unknown> = {}
  try {
    parsed = body ? (JSON.parse(body) as Record<string, unknown>) : {}
  } catch {
    parsed = { unparsed: body }
  }
  return {
    method: request.method ?? 'GET',
    path,
    headers: request.headers,
    modelId: matched ? decodeURIComponent(matched[1]!) : '',
    action: matched?.[2] ?? '',
    body: parsed,
    auth: checkAuth(request, path, body, auth),
  }
}

/** Checks the request's signature as AWS would, with `aws4` recomputing it from what arrived. */
function checkAuth(request: IncomingMessage, path: string, body: string, auth: { aws4: Aws4; credentials: BedrockFake['credentials']; bearerToken?: string }): BedrockFakeRequest['auth'] {
  const authorization = request.headers.authorization ?? ''
  if (authorization.startsWith('Bearer ')) {
    return auth.bearerToken !== undefined && authorization.slice(7) === auth.bearerToken ? { scheme: 'bearer' } : { scheme: 'refused', reason: 'UnrecognizedClientException' }
  }
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(authorization)
  if (!match) return { scheme: 'refused', reason: 'MissingAuthenticationTokenException' }
  const [, accessKeyId, , region, service, signedHeaders, signature] = match as unknown as string[]
  if (accessKeyId !== auth.credentials.accessKeyId) return { scheme: 'refused', reason: 'UnrecognizedClientException' }
  if ((request.headers['x-amz-security-token'] ?? undefined) !== auth.credentials.sessionToken) return { scheme: 'refused', reason: 'UnrecognizedClientException' }
  const headers: Record<string, string> = {}
  for (const name of signedHeaders!.split(';')) {
    const value = request.headers[name]
    if (value === undefined) return { scheme: 'refused', reason: 'IncompleteSignatureException' }
    headers[name] = Array.isArray(value) ? value.join(',') : value
  }
  const signer = new auth.aws4.RequestSigner(
    { host: headers.host, path, method: request.method, headers, body, service, region, doNotModifyHeaders: true } as never,
    auth.credentials,
  )
  // With doNotModifyHeaders aws4 takes the time from the clock; the time signed is the request's x-amz-date.
  ;(signer as unknown as { datetime: string }).datetime = headers['x-amz-date'] ?? ''
  const recomputed = String((signer.sign().headers as Record<string, unknown>).Authorization)
  if (!recomputed.endsWith(`Signature=${signature}`)) return { scheme: 'refused', reason: 'InvalidSignatureException' }
  return { scheme: 'sigv4', accessKeyId: accessKeyId!, region: region!, service: service! }
}

const refusals: Record<string, string> = {
  InvalidSignatureException:
    'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
  UnrecognizedClientException: 'The security token included in the request is invalid.',
  MissingAuthenticationTokenException: 'Missing Authentication Token',
  IncompleteSignatureException: 'The request signature does not sign every header it names.',
}

function answer(request: BedrockFakeRequest, reply: BedrockFakeReply | undefined, response: ServerResponse, codec: Codec, requestId: string): void {
  if (request.auth.scheme === 'refused') return sendError(response, 403, request.auth.reason, refusals[request.auth.reason] ?? 'Access denied.', requestId)
  if (reply?.kind === 'drop') return void response.socket?.destroy()
  if (reply?.kind === 'hang') return
  if (reply?.kind === 'error') return sendError(response, reply.status, reply.type ?? typeByStatus[reply.status] ?? 'InternalServerException', reply.message ?? `Fake error ${reply.status}.`, requestId, reply.headers)
  if (!request.action) return sendError(response, 404, 'UnknownOperationException', `fake: no route for ${request.method} ${request.path}`, requestId)
  const script: BedrockChatScript = reply ?? {}
  if (request.action === 'converse') return sendJson(response, 200, whole(request, script), requestId)
  const events = streamEvents(request, script)
  response.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': requestId })
  const frame = ([type, payload]: [string, unknown]) =>
    codec.encode({
      headers: { ':event-type': { type: 'string', value: type }, ':content-type': { type: 'string', value: 'application/json' }, ':message-type': { type: 'string', value: 'event' } },
      body: new Uint8Array(Buffer.from(JSON.stringify(payload))),
    })
  if (reply?.kind === 'stream-error') {
    for (const event of events.slice(0, reply.afterEvents)) response.write(frame(event))
    const exception = codec.encode({
      headers: {
        ':exception-type': { type: 'string', value: reply.exceptionType },
        ':content-type': { type: 'string', value: 'application/json' },
        ':message-type': { type: 'string', value: 'exception' },
      },
      body: new Uint8Array(Buffer.from(JSON.stringify({ message: reply.message ?? `Fake ${reply.exceptionType}.` }))),
    })
    return void response.end(exception)
  }
  if (reply?.kind === 'cut') {
    for (const event of events.slice(0, reply.afterEvents)) response.write(frame(event))
    const how = reply.how ?? 'destroy'
    // The socket is closed only once the frames reached it (Node 24 holds writes until the next tick).
    if (how === 'destroy') return void response.write('', () => response.socket?.end())
    if (how === 'end') return void response.end()
    return
  }
  for (const event of events) response.write(frame(event))
  response.end()
}

function sendError(response: ServerResponse, status: number, type: string, message: string, requestId: string, headers: Record<string, string> = {}): void {
  // AWS appends the Coral namespace to the error type; clients read the part before the colon.
  response.writeHead(status, {
    'content-type': 'application/json',
    'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
    'x-amzn-requestid': requestId,
    ...headers,
  })
  response.end(JSON.stringify({ message }))
}

function sendJson(response: ServerResponse, status: number, body: unknown, requestId: string): void {
  response.writeHead(status, { 'content-type': 'application/json', 'x-amzn-requestid': requestId })
  response.end(JSON.stringify(body))
}

function textOf(script: BedrockChatScript): string {
  return script.text ?? (script.toolUses?.length ? '' : 'Hello from the fake Bedrock server.')
}

function usageOf(request: BedrockFakeRequest, script: BedrockChatScript) {
  if (script.usage) {
    const { inputTokens, outputTokens } = script.usage
    return { totalTokens: inputTokens + outputTokens + (script.usage.cacheReadInputTokens ?? 0) + (script.usage.cacheWriteInputTokens ?? 0), ...script.usage }
  }
  type Block = { text?: string }
  const messages = (request.body.messages ?? []) as Array<{ content?: Block[] }>
  const system = (request.body.system ?? []) as Block[]
  const inputTokens = [...system, ...messages.flatMap((message) => message.content ?? [])].reduce((sum, block) => sum + words(block.text ?? ''), 0)
  const outputTokens = words(textOf(script)) + (script.toolUses?.length ?? 0) * 5
  return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens }
}

function toolUseIdOf(use: { toolUseId?: string }, index: number): string {
  return use.toolUseId ?? `tooluse_fake${index}`
}

function whole(request: BedrockFakeRequest, script: BedrockChatScript) {
  const content: unknown[] = []
  if (script.reasoning) content.push({ reasoningContent: { reasoningText: { text: script.reasoning, signature: 'fake-signature' } } })
  if (textOf(script)) content.push({ text: textOf(script) })
  script.toolUses?.forEach((use, index) => content.push({ toolUse: { toolUseId: toolUseIdOf(use, index), name: use.name, input: use.input } }))
  return {
    output: { message: { role: 'assistant', content } },
    stopReason: script.stopReason ?? (script.toolUses?.length ? 'tool_use' : 'end_turn'),
    usage: usageOf(request, script),
    metrics: { latencyMs: 42 },
  }
}

/** The events of a ConverseStream answer as Bedrock sends them: text in pieces, tool input JSON in pieces, stop, then usage. */
function streamEvents(request: BedrockFakeRequest, script: BedrockChatScript): Array<[string, unknown]> {
  const events: Array<[string, unknown]> = [['messageStart', { role: 'assistant' }]]
  let block = 0
  if (script.reasoning) {
    events.push(['contentBlockDelta', { contentBlockIndex: block, delta: { reasoningContent: { text: script.reasoning } } }])
    events.push(['contentBlockStop', { contentBlockIndex: block++ }])
  }
  if (textOf(script)) {
    for (const word of textOf(script).split(/(?<=\S)(?=\s)/)) if (word) events.push(['contentBlockDelta', { contentBlockIndex: block, delta: { text: word } }])
    events.push(['contentBlockStop', { contentBlockIndex: block++ }])
  }
  script.toolUses?.forEach((use, index) => {
    events.push(['contentBlockStart', { contentBlockIndex: block, start: { toolUse: { toolUseId: toolUseIdOf(use, index), name: use.name } } }])
    const input = JSON.stringify(use.input)
    const half = Math.ceil(input.length / 2)
    for (const piece of [input.slice(0, half), input.slice(half)]) if (piece) events.push(['contentBlockDelta', { contentBlockIndex: block, delta: { toolUse: { input: piece } } }])
    events.push(['contentBlockStop', { contentBlockIndex: block++ }])
  })
  events.push(['messageStop', { stopReason: script.stopReason ?? (script.toolUses?.length ? 'tool_use' : 'end_turn') }])
  events.push(['metadata', { usage: usageOf(request, script), metrics: { latencyMs: 42 } }])
  return events
}
