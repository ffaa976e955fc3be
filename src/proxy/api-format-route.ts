/**
 * The routes that speak another API's format: OpenAI's Responses API (`POST /v1/responses`) and
 * Anthropic's Messages API (`POST /v1/messages`). Each translates its request to a chat request,
 * runs it through the client with the same call options as `/v1/chat/completions` (so every layer,
 * callback and metric sees the call), and translates the reply or the chunks back. Errors keep the
 * status the chat route would send, in the format's own shape.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import type { ChatStream, Client } from '../client'
import type { ChatChunk, ChatRequest, ChatResponse } from '../schema'
import type { CallOptions } from '../types'
import { unauthorisedMessage, type AuthCheck } from './auth'
import type { OriginPolicy } from './origin-policy'
import { createExchange, identify, type Exchange } from './exchange'
import { acceptsJson, drained, readJsonBody, send, sendJson, type Body } from './http-io'
import { chatToMessagesReply, toAnthropicError } from './messages-reply'
import { messagesToChatRequest } from './messages-request'
import { createMessagesStream } from './messages-stream'
import { openAiError, type OpenAiErrorResponse } from './openai-errors'
import { chatToResponsesReply } from './responses-reply'
import { responsesToChatRequest } from './responses-request'
import { createResponsesStream, type StreamTranslator } from './responses-stream'
import { modelNotFoundMessage, type RoutedDeployment, type Router } from './router'
import type { KeyAccess, Ticket } from './keys/access'

/** What one API format supplies to the shared route. */
export interface ApiFormat {
  toChatRequest(body: Body): ChatRequest
  fromChatResponse(reply: ChatResponse, body: Body): unknown
  createStream(body: Body): StreamTranslator
  /** An error the chat route would send, in this format's shape. */
  error(error: OpenAiErrorResponse): OpenAiErrorResponse
  /** The headers the request authenticates with (LiteLLM's key headers, see ./auth). */
  authHeaders(request: IncomingMessage): IncomingHttpHeaders
  /** The message of a 401. */
  unauthorised(headers: IncomingHttpHeaders): string
}

/**
 * OpenAI's Responses API.
 *
 * @example
 * ```ts
 * await route(request, response, responsesApi)
 * ```
 */
export const responsesApi: ApiFormat = {
  toChatRequest: responsesToChatRequest,
  fromChatResponse: chatToResponsesReply,
  createStream: createResponsesStream,
  error: (error) => error,
  authHeaders: (request) => request.headers,
  unauthorised: unauthorisedMessage,
}

/**
 * Anthropic's Messages API. Anthropic's clients send the key as `x-api-key`; it is taken as the
 * master key when there is no `Authorization` header.
 *
 * @example
 * ```ts
 * await route(request, response, messagesApi)
 * ```
 */
export const messagesApi: ApiFormat = {
  toChatRequest: messagesToChatRequest,
  fromChatResponse: (reply) => chatToMessagesReply(reply),
  createStream: (body) => createMessagesStream(String(body.model)),
  error: toAnthropicError,
  authHeaders(request) {
    const headers = request.headers
    const key = headers['x-api-key']
    if (typeof key !== 'string' || headers.authorization !== undefined || headers['x-litellm-api-key'] !== undefined || headers['api-key'] !== undefined) return headers
    return { ...headers, authorization: `Bearer ${key}` }
  },
  unauthorised: (headers) =>
    headers.authorization === undefined && headers['x-litellm-api-key'] === undefined && headers['api-key'] === undefined
      ? 'Authentication required: send the proxy master key as "x-api-key: <master_key>" (with the Anthropic SDK: apiKey: <master_key>) or "Authorization: Bearer <master_key>".'
      : unauthorisedMessage(headers),
}

const sseHeaders = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' }

/** What the routes need from the request handler; built once per server. */
export interface ApiFormatRouteContext {
  client: Client
  router: Router
  checkAuth: AuthCheck
  policy: OriginPolicy
  maxBodyBytes: number
  /** A stream whose client reads nothing this long is cut (general_settings.stream_write_timeout_ms). */
  streamWriteTimeoutMs: number
  /** A call's options (HTTP facts, deployment, the request's credentials, a virtual key's ticket), as the chat route makes them. */
  callOptions(request: IncomingMessage, body: Body, routed: RoutedDeployment, exchange: Exchange, ticket?: Ticket): CallOptions
  /** A call's error in OpenAI's shape, scrubbed of every credential the client and the request know. */
  errorReply(error: unknown, options?: CallOptions): OpenAiErrorResponse
  /** Virtual keys: the checks a key must pass for the model (see src/proxy/keys/access.ts). */
  access?: KeyAccess
}

/**
 * Builds the route that serves a request in `format`.
 *
 * @example
 * ```ts
 * const route = createApiFormatRoute({ client, router, checkAuth, policy, maxBodyBytes, streamWriteTimeoutMs, callOptions, errorReply })
 * if (path === '/v1/messages') await route(request, response, messagesApi)
 * ```
 */
export function createApiFormatRoute(context: ApiFormatRouteContext): (request: IncomingMessage, response: ServerResponse, format: ApiFormat) => Promise<void> {
  const { client, router, checkAuth, policy, maxBodyBytes, streamWriteTimeoutMs } = context

  const stream = async (response: ServerResponse, chat: ChatRequest, body: Body, options: CallOptions, format: ApiFormat, exchange: Exchange): Promise<void> => {
    let chunks: ChatStream
    let next: IteratorResult<ChatChunk>
    try {
      chunks = client.stream(chat, options)
      // Leaving the iterator early aborts the upstream call and records it as cancelled.
      response.once('close', () => {
        if (!response.writableFinished) void chunks.return!()
      })
      // The first chunk decides the status: an error before it is an ordinary JSON error response.
      next = await chunks.next()
    } catch (error) {
      identify(response, exchange.call, error)
      return send(response, format.error(context.errorReply(error, options)))
    }
    identify(response, exchange.call)
    const events = format.createStream(body)
    response.writeHead(200, sseHeaders)
    try {
      while (!next.done) {
        if (!response.write(events.chunk(next.value))) await drained(response, streamWriteTimeoutMs)
        next = await chunks.next()
      }
      if (!response.destroyed) response.end(events.end())
    } catch (error) {
      if (!response.destroyed) response.end(events.fail(context.errorReply(error, options)))
    }
  }

  return async function apiFormatRoute(request, response, format) {
    const reject = (_: ServerResponse, error: OpenAiErrorResponse) => send(response, format.error(error))
    // A refused request gets a fresh call id; a call's own id replaces it once the call has run.
    identify(response)
    if (request.method !== 'POST') {
      response.setHeader('allow', 'POST')
      return reject(response, openAiError(405, 'Use POST for this route.', { code: 'method_not_allowed' }))
    }
    if (!policy.admit(request, response, reject)) return
    const headers = format.authHeaders(request)
    if (!checkAuth(headers)) return reject(response, openAiError(401, format.unauthorised(headers), { code: 'invalid_api_key' }))
    if (!acceptsJson(request, response, reject)) return
    const body = await readJsonBody(request, response, maxBodyBytes, reject)
    if (!body) return
    let chat: ChatRequest
    try {
      chat = format.toChatRequest(body)
    } catch (error) {
      return reject(response, context.errorReply(error))
    }
    let ticket: Ticket | undefined
    if (context.access !== undefined) {
      const admitted = await context.access.admit(headers, chat.model)
      if ('refusal' in admitted) return reject(response, admitted.refusal)
      ticket = admitted.ticket
    }
    const group = router.find(chat.model)
    if (!group) return reject(response, openAiError(404, modelNotFoundMessage(chat.model, router.modelNames), { param: 'model', code: 'model_not_found' }))
    // A streamed call needs no watch on the response: its handler stops reading the stream, which cancels it.
    const exchange = createExchange(response, chat.stream !== true)
    const options = context.callOptions(request, body, group.pick(), exchange, ticket)
    if (chat.stream) return stream(response, chat, body, options, format, exchange)
    try {
      const reply = await client.chat(chat, options)
      identify(response, exchange.call)
      sendJson(response, 200, JSON.stringify(format.fromChatResponse(reply, body)))
    } catch (error) {
      identify(response, exchange.call, error)
      reject(response, context.errorReply(error, options))
    }
  }
}
