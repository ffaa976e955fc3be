/**
 * The proxy's routes: OpenAI's chat completions (plain and SSE), embeddings and models, plus health
 * and metrics. Each request is read once, parsed once and handed to the client with its HTTP facts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ChatStream, Client } from '../client'
import type { ChatChunk, ChatRequest, EmbeddingRequest, EmbeddingResponse } from '../schema'
import type { CallOptions } from '../types'
import { createApiFormatRoute, messagesApi, responsesApi } from './api-format-route'
import { unauthorisedMessage, type AuthCheck } from './auth'
import type { RouteLabel } from './http-metrics'
import { createExchange, identify, receivedText, type Exchange } from './exchange'
import { acceptsJson, drained, methodNotAllowed, readJsonBody, send, sendJson, type Body } from './http-io'
import { openAiError, streamErrorEvent, toOpenAiError } from './openai-errors'
import type { OriginPolicy } from './origin-policy'
import { modelNotFoundMessage, type RoutedDeployment, type Router } from './router'
import { createModelsRoute } from './models-route'
import { ticketSlot, type KeyAccess, type Ticket } from './keys/access'
import { managementPaths } from './keys/management-routes'
import { httpInfo, requestSecrets } from './request-facts'

/** What the request handler needs; built once per server. */
export interface HandlerContext {
  client: Client
  router: Router
  checkAuth: AuthCheck
  /** Which origins and `Host` names are served, and the CORS answers. */
  policy: OriginPolicy
  maxBodyBytes: number
  /** A streamed reply whose client reads nothing for this long is cut, and its call cancelled. */
  streamWriteTimeoutMs: number
  /** The body of `GET /v1/models`, serialised once. */
  modelsBody: string
  /** `GET /metrics`: the text (a promise when gathered from other processes) and its content type. */
  metrics: () => string | Promise<string>
  metricsContentType: string
  /** True once shutdown began: readiness fails and connections close after their response. */
  isDraining: () => boolean
  /** Some layer may edit a reply in place, so every reply is serialised from the object the call returned. */
  mayEditReplies: boolean
  /**
   * Virtual keys (a proxy with a master key): `checkAuth` then lets any well-formed key through, and
   * `access` decides once the body names the model; `manage` answers the key management routes.
   */
  keys?: {
    access: KeyAccess
    manage(request: IncomingMessage, response: ServerResponse, path: string, query: URLSearchParams): Promise<void>
  }
}

const sseHeaders = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  // Reverse proxies (nginx) would otherwise buffer the stream.
  'x-accel-buffering': 'no',
}
const liveBody = JSON.stringify("I'm alive!")
const readyBody = JSON.stringify({ status: 'healthy' })
const drainingBody = JSON.stringify({ status: 'shutting down' })
const shuttingDown = openAiError(503, 'The proxy is shutting down and takes no new requests: send this request again (to another instance, or to this one once it has restarted).', { code: 'shutting_down' })

/**
 * Builds the request handler. It resolves with the route label once the response is complete
 * (for a stream, after `data: [DONE]`), so the server can count requests in flight.
 *
 * @example
 * ```ts
 * const handle = createRequestHandler(context)
 * http.createServer((request, response) => void handle(request, response))
 * ```
 */
export function createRequestHandler(context: HandlerContext): (request: IncomingMessage, response: ServerResponse) => Promise<RouteLabel> {
  const { client, router, checkAuth, policy, maxBodyBytes, streamWriteTimeoutMs, mayEditReplies, keys } = context
  /** A call's error as the reply sends it: no credential the client knows, nor the request's own. */
  const errorReply = (error: unknown, options?: CallOptions) => toOpenAiError(error, (text) => client.services.secrets.scrub(text, options?.secrets))
  /**
   * A call's options: its credential-free HTTP facts, the deployment chosen for it, the request's own
   * credentials, the reply kept as it came (for {@link receivedText} and the upstream request id),
   * and its exchange, which gets the call's context.
   */
  const callOptions = (request: IncomingMessage, body: Body, routed: RoutedDeployment, exchange: Exchange, ticket?: Ticket): CallOptions => {
    const secrets = requestSecrets(request)
    return {
      http: httpInfo(request, body, client.services.secrets, secrets),
      modelInfo: routed.modelInfo,
      deployment: routed.id,
      keepRawReply: true,
      secrets,
      // A virtual key's ticket travels on the call's context, for the spend layer to settle.
      onContext: ticket === undefined ? exchange.onContext : (ctx) => {
        exchange.onContext(ctx)
        ctx.setSlot(ticketSlot, ticket)
      },
    }
  }
  const apiFormatRoute = createApiFormatRoute({ client, router, checkAuth, policy, maxBodyBytes, streamWriteTimeoutMs, callOptions, errorReply, access: keys?.access })

  /** The body of a reply: as the upstream sent it when no layer can have changed it, else serialised. */
  const replyBody = (exchange: Exchange, reply: unknown): string => (mayEditReplies ? undefined : receivedText(exchange.call, reply)) ?? JSON.stringify(reply)

  const authorised = (request: IncomingMessage, response: ServerResponse): boolean => {
    if (checkAuth(request.headers)) return true
    identify(response)
    send(response, openAiError(401, unauthorisedMessage(request.headers), { code: 'invalid_api_key' }))
    return false
  }

  /** A JSON POST from an allowed origin with the right key; answers the error itself and returns false otherwise. */
  const admitted = (request: IncomingMessage, response: ServerResponse): boolean => {
    if (request.method !== 'POST') {
      identify(response)
      methodNotAllowed(response, 'POST')
      return false
    }
    return policy.admit(request, response) && authorised(request, response) && acceptsJson(request, response)
  }

  /** The call a parsed body asks for; answers the error itself and returns undefined when there is none. */
  const callOf = async (request: IncomingMessage, response: ServerResponse, body: Body | undefined): Promise<{ body: Body; options: CallOptions; exchange: Exchange } | undefined> => {
    if (body === undefined) return undefined
    const model = body.model
    if (typeof model !== 'string' || model === '') {
      identify(response)
      send(response, openAiError(400, 'model is required: name one of the models GET /v1/models lists.', { param: 'model', code: 'missing_model' }))
      return undefined
    }
    let ticket: Ticket | undefined
    if (keys !== undefined) {
      // Before the model is looked up: a 404 lists the models, which only a valid key may learn.
      const admitted = await keys.access.admit(request.headers, model)
      if ('refusal' in admitted) {
        identify(response)
        send(response, admitted.refusal)
        return undefined
      }
      ticket = admitted.ticket
    }
    const group = router.find(model)
    if (!group) {
      identify(response)
      send(response, openAiError(404, modelNotFoundMessage(model, router.modelNames), { param: 'model', code: 'model_not_found' }))
      return undefined
    }
    // A streamed call needs no watch on the response: its handler stops reading the stream, which cancels it.
    const exchange = createExchange(response, body.stream !== true)
    return { body, options: callOptions(request, body, group.pick(), exchange, ticket), exchange }
  }

  const chat = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (!admitted(request, response)) return
    const call = await callOf(request, response, await readJsonBody(request, response, maxBodyBytes))
    if (!call) return
    const { exchange } = call
    if (call.body.stream === true) return streamChat(response, call.body, call.options, exchange)
    try {
      const reply = await client.chat(call.body as ChatRequest, call.options)
      identify(response, exchange.call)
      sendJson(response, 200, replyBody(exchange, reply))
    } catch (error) {
      identify(response, exchange.call, error)
      send(response, errorReply(error, call.options))
    }
  }

  const streamChat = async (response: ServerResponse, body: Body, options: CallOptions, exchange: Exchange): Promise<void> => {
    const includeUsage = (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true
    let stream: ChatStream
    let next: IteratorResult<ChatChunk>
    try {
      stream = client.stream(body as ChatRequest, options)
      // Leaving the iterator early aborts the upstream call and records it as cancelled.
      response.once('close', () => {
        if (!response.writableFinished) void stream.return!()
      })
      // The first chunk decides the status: an error before it is an ordinary JSON error response.
      next = await stream.next()
    } catch (error) {
      identify(response, exchange.call, error)
      return send(response, errorReply(error, options))
    }
    identify(response, exchange.call)
    response.writeHead(200, sseHeaders)
    try {
      while (!next.done) {
        const chunk = next.value
        // OpenAI sends the usage-only chunk only to clients that asked for it.
        if (includeUsage || chunk.choices.length > 0 || !chunk.usage) {
          if (!response.write(`data: ${JSON.stringify(chunk)}\n\n`)) await drained(response, streamWriteTimeoutMs)
        }
        next = await stream.next()
      }
      if (!response.destroyed) response.end('data: [DONE]\n\n')
    } catch (error) {
      if (!response.destroyed) response.end(streamErrorEvent(error, (text) => client.services.secrets.scrub(text, options.secrets)))
    }
  }

  const embeddings = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (!admitted(request, response)) return
    const call = await callOf(request, response, await readJsonBody(request, response, maxBodyBytes))
    if (!call) return
    // Providers are asked for floats; base64 (what the OpenAI SDKs ask for by default) is encoded here.
    const { encoding_format: encoding, ...embeddingRequest } = call.body
    const { exchange } = call
    try {
      const result = await client.embed(embeddingRequest as EmbeddingRequest, call.options)
      identify(response, exchange.call)
      sendJson(response, 200, encoding === 'base64' ? JSON.stringify(toBase64Embeddings(result)) : replyBody(exchange, result))
    } catch (error) {
      identify(response, exchange.call, error)
      send(response, errorReply(error, call.options))
    }
  }

  const models = createModelsRoute({ router, policy, authorised, modelsBody: context.modelsBody, access: keys?.access })

  return async function handleRequest(request, response) {
    const url = request.url ?? '/'
    const query = url.indexOf('?')
    const path = query === -1 ? url : url.slice(0, query)
    if (request.method === 'OPTIONS') {
      policy.preflight(request, response)
      return 'other'
    }
    try {
      if (context.isDraining()) {
        response.setHeader('connection', 'close')
        // Requests in flight finish; a new one, on a new connection or a kept-alive one, is turned away.
        if (!path.startsWith('/health/') && path !== '/metrics') {
          send(response, shuttingDown)
          return 'other'
        }
      }
      switch (path) {
        case '/v1/chat/completions':
        case '/chat/completions':
          await chat(request, response)
          return '/v1/chat/completions'
        case '/v1/embeddings':
        case '/embeddings':
          await embeddings(request, response)
          return '/v1/embeddings'
        case '/v1/responses':
        case '/responses':
          await apiFormatRoute(request, response, responsesApi)
          return '/v1/responses'
        case '/v1/messages':
          await apiFormatRoute(request, response, messagesApi)
          return '/v1/messages'
        case '/health/liveliness':
        case '/health/liveness':
          sendJson(response, 200, liveBody)
          return '/health/liveliness'
        case '/health/readiness':
          if (context.isDraining()) sendJson(response, 503, drainingBody)
          else sendJson(response, 200, readyBody)
          return '/health/readiness'
        case '/metrics': {
          if (!policy.admit(request, response)) return '/metrics'
          const text = context.metrics()
          if (typeof text === 'string') response.writeHead(200, { 'content-type': context.metricsContentType }).end(text)
          else await sendGathered(response, text, context.metricsContentType)
          return '/metrics'
        }
        default:
          if (path === '/v1/models' || path === '/models' || path.startsWith('/v1/models/') || path.startsWith('/models/')) {
            await models(request, response, path)
            return '/v1/models'
          }
          if (keys !== undefined && managementPaths.has(path)) {
            await keys.manage(request, response, path, new URLSearchParams(query === -1 ? '' : url.slice(query + 1)))
            return 'other'
          }
          send(response, openAiError(404, `No route ${request.method} ${path}. This proxy serves POST /v1/chat/completions, POST /v1/responses, POST /v1/messages, POST /v1/embeddings, GET /v1/models, GET /health/liveliness, GET /health/readiness and GET /metrics.`, { code: 'unknown_route' }))
          return 'other'
      }
    } catch (error) {
      // A bug in the proxy itself: answer if still possible, never crash the server.
      if (!response.headersSent) send(response, errorReply(error))
      else response.destroy()
      return 'other'
    }
  }
}

/** The metrics of every worker of `serve --workers`; 503 when they cannot be gathered, so the scrape shows as failed. */
async function sendGathered(response: ServerResponse, gathered: Promise<string>, contentType: string): Promise<void> {
  let text: string
  try {
    text = await gathered
  } catch (error) {
    return send(response, openAiError(503, (error as Error).message, { code: 'metrics_unavailable' }))
  }
  response.writeHead(200, { 'content-type': contentType }).end(text)
}

/** Float vectors as OpenAI's base64: little-endian float32 bytes. */
function toBase64Embeddings(result: EmbeddingResponse): EmbeddingResponse {
  return {
    ...result,
    data: result.data.map((item) =>
      typeof item.embedding === 'string' ? item : { ...item, embedding: Buffer.from(new Float32Array(item.embedding).buffer).toString('base64') },
    ),
  }
}
