/**
 * The `http` transport of `openai()`: the same requests, replies and errors as the `openai` SDK,
 * sent with `undici`'s `request` over one keep-alive connection pool per provider. Per call it
 * costs a fraction of the SDK's CPU and allocations (the SDK builds WHATWG `fetch` requests,
 * `Headers` and `Response` objects and reads bodies through web streams), which decides how many
 * calls a proxy serves per core; docs/providers.md has the numbers.
 *
 * Failures are raised as the SDK would raise them (`APIError.generate` for an error status, an
 * `APIError` for an `error` event in a stream) and mapped by the same `fromOpenAIError`, so both
 * transports fail with the same classes, messages, codes and waits.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { Dispatcher, Pool } from 'undici'
import { ValidationError } from '../../errors'
import type { ChatChunk, ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse } from '../../schema'
import type { Provider, ProviderCall } from '../../types'
import { assertStreamFinished, finishes, streamWireBody, wireBody, type OpenAISettings } from './common'
import { SseDecoder } from './sse'
import { headerObject, postJson } from './json-post'
import { fromOpenAIError } from './errors'
import { loadedOpenAI, loadOpenAI } from '../sdk-modules'

/**
 * A provider on `undici` for `settings` (from `resolveOpenAISettings`). Its pool is created on the
 * first call, once (with `undici` and the SDK's error classes loaded then, not at import), and
 * closed by `close()` (which `client.close()` calls) after the requests in flight end.
 */
export function openaiHttp(settings: OpenAISettings): Provider {
  const base = parseBaseURL(settings.baseURL)
  let pool: Pool | undefined
  let opening: Promise<Pool> | undefined

  function openPool(): Promise<Pool> {
    // Everything the pool does not say here is undici's default, which is also what Node's `fetch`
    // (and so the SDK) uses: unlimited connections, kept alive 4 s unless the server says otherwise.
    // The SDK is loaded with it because failures are raised as the SDK's errors (see replyError).
    opening ??= Promise.all([import('undici'), loadOpenAI()]).then(
      ([undici]) => (pool = new undici.Pool(base.origin, { headersTimeout: settings.timeout })),
      (error: unknown) => {
        opening = undefined
        throw error
      },
    )
    return opening
  }
  const chatPath = `${base.path}/chat/completions${base.search}`
  const embeddingsPath = `${base.path}/embeddings${base.search}`
  const headers = requestHeaders(settings)

  /**
   * A whole JSON reply: the parsed body of a 2xx, else the error the SDK would raise, as an
   * `LlmError`. One async step per call: a proxy runs one of these per request.
   */
  async function post(path: string, request: ChatRequest | EmbeddingRequest, call: ProviderCall): Promise<unknown> {
    try {
      const reply = await postJson(pool ?? (await openPool()), path, headers, JSON.stringify(wireBody(request, call.model)), call.context.cancellation)
      if (reply.statusCode >= 200 && reply.statusCode < 300) {
        const parsed: unknown = JSON.parse(reply.text)
        // Only a caller that asked (the proxy) gets the reply as it came; other calls keep nothing.
        if (call.context.keepRawReply) {
          call.context.receivedReply = { parsed, text: reply.text }
          call.context.upstreamRequestId = requestIdOf(reply.rawHeaders)
        }
        return parsed
      }
      throw replyError(reply.statusCode, reply.text, headerObject(reply.rawHeaders))
    } catch (error) {
      throw fromOpenAIError(error, settings.target(call))
    }
  }

  /** A streamed reply: the response, its body not yet read, once its status is 2xx. */
  async function open(path: string, body: Record<string, unknown>, call: ProviderCall): Promise<Dispatcher.ResponseData> {
    const response = await (pool ?? (await openPool())).request({ path, method: 'POST', headers, body: JSON.stringify(body), signal: call.signal })
    if (response.statusCode >= 200 && response.statusCode < 300) {
      if (call.context.keepRawReply) {
        const requestId = response.headers['x-request-id']
        call.context.upstreamRequestId = typeof requestId === 'string' ? requestId : undefined
      }
      return response
    }
    const text = await response.body.text().catch((error: unknown) => (error instanceof Error ? error.message : String(error)))
    throw replyError(response.statusCode, text, response.headers)
  }

  const chat = (request: ChatRequest, call: ProviderCall) => post(chatPath, request, call) as Promise<ChatResponse>

  async function* stream(request: ChatRequest, call: ProviderCall): AsyncGenerator<ChatChunk> {
    let finished = false
    try {
      const response = await open(chatPath, streamWireBody(request, call.model), call)
      const decoder = new SseDecoder()
      let done = false
      // Leaving this loop early (the caller's `break`, an error) destroys the body, which closes the
      // upstream request; after `[DONE]` the body is still read to its end so the connection is reused.
      for await (const bytes of response.body as AsyncIterable<Buffer>) {
        for (const data of decoder.push(bytes)) {
          if (done) continue
          if (data.startsWith('[DONE]')) {
            done = true
            continue
          }
          const chunk = JSON.parse(data) as ChatChunk & { error?: unknown }
          if (chunk?.error) throw new (sdkErrors().APIError)(undefined, chunk.error, undefined, headersOf(response.headers))
          if (!finished) finished = finishes(chunk)
          yield chunk
        }
      }
    } catch (error) {
      throw fromOpenAIError(error, settings.target(call))
    }
    assertStreamFinished(finished, call, settings)
  }

  // No `encoding_format` unless the request has one: the server answers floats, the caller gets them
  // as they came; a request that asks for base64 gets the server's base64 strings.
  const embed = (request: EmbeddingRequest, call: ProviderCall) => post(embeddingsPath, request, call) as Promise<EmbeddingResponse>

  return { name: settings.name, apiBase: settings.baseURL, secrets: settings.secrets, chat, stream, embed, close: () => pool?.close() }
}

function parseBaseURL(baseURL: string): { origin: string; path: string; search: string } {
  let url: URL | undefined
  try {
    url = new URL(baseURL)
  } catch {
    // Only OPENAI_BASE_URL can get here: the baseURL option is checked as a URL with the other options.
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new ValidationError(
      `openai({ transport: 'http' }) needs an http(s) base URL such as https://api.openai.com/v1; "${baseURL}" is not one. Fix OPENAI_BASE_URL or pass openai({ baseURL }).`,
      [{ path: 'baseURL', message: 'must be an http or https URL' }],
    )
  }
  return { origin: url.origin, path: url.pathname.replace(/\/+$/, ''), search: url.search }
}

/** The `x-request-id` among raw header pairs (the proxy passes it on), or undefined. */
function requestIdOf(rawHeaders: Buffer[]): string | undefined {
  for (let index = 0; index < rawHeaders.length; index += 2) {
    const name = rawHeaders[index]!
    if (name.length === 12 && name.toString('latin1').toLowerCase() === 'x-request-id') return rawHeaders[index + 1]?.toString('latin1')
  }
  return undefined
}

/** The headers of every request, built once: what the SDK sends, then `headers` (names compared without case). */
function requestHeaders(settings: OpenAISettings): Record<string, string> {
  const headers: Record<string, string> = {
    accept: 'application/json',
    'content-type': 'application/json',
    'user-agent': 'llm-onion',
    authorization: `Bearer ${settings.apiKey}`,
  }
  if (settings.organization) headers['openai-organization'] = settings.organization
  if (settings.project) headers['openai-project'] = settings.project
  for (const name in settings.headers) headers[name.toLowerCase()] = settings.headers[name]!
  return headers
}

/**
 * The error for a reply that is not 2xx: for an error status what the SDK raises (from the body,
 * JSON or text, and the headers); for a redirect, which `fetch` (so the SDK) would follow and undici
 * does not, an error that reaches the caller as `APIConnectionError` (a 502 from the proxy) and says
 * where to point `baseURL`.
 */
function replyError(statusCode: number, text: string, headers: IncomingHttpHeaders): Error {
  if (statusCode >= 300 && statusCode < 400) {
    const location = headers.location
    return new Error(
      `the server answered ${statusCode}, a redirect to ${typeof location === 'string' ? location : 'an address it did not give'}; openai({ transport: 'http' }) does not follow redirects, so set baseURL (api_base in the proxy) to the address it redirects to`,
    )
  }
  const json = parseJson(text)
  return sdkErrors().APIError.generate(statusCode, json, json === undefined ? text : undefined, headersOf(headers))
}

/** The SDK's error classes: loaded with the pool, so before any reply arrives. */
function sdkErrors(): typeof import('openai') {
  return loadedOpenAI()!
}

function parseJson(text: string): object | undefined {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null ? value : undefined
  } catch {
    return undefined
  }
}

/** Response headers as the WHATWG `Headers` the SDK's errors hold (`retry-after` is read from them). */
function headersOf(raw: IncomingHttpHeaders): Headers {
  const headers = new Headers()
  for (const name in raw) {
    const value = raw[name]
    if (Array.isArray(value)) for (const each of value) headers.append(name, each)
    else if (value !== undefined) headers.append(name, value)
  }
  return headers
}
