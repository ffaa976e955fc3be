/**
 * A prototype, for the benchmark only: an OpenAI-compatible provider on `undici`'s `request` and a
 * keep-alive pool instead of the `openai` SDK over WHATWG `fetch`. It measures what the proxy's
 * provider path could cost (bench/provider-path.ts); it is not a replacement for `openai()` (no
 * error mapping beyond the status, no retries of its own, chat and stream only).
 */
import { Pool } from 'undici'
import { errorForStatus } from '../src/errors'
import type { ChatChunk, ChatRequest, ChatResponse } from '../src/schema'
import type { Provider, ProviderCall } from '../src/types'

const ownFields = new Set(['model', 'metadata', 'tags', 'mock_response', 'mock_error', 'stream', 'stream_options'])

function wireBody(request: ChatRequest, model: string, stream: boolean): string {
  const body: Record<string, unknown> = { model }
  for (const key in request) if (!ownFields.has(key)) body[key] = (request as Record<string, unknown>)[key]
  if (stream) {
    body.stream = true
    body.stream_options = { include_usage: true }
  }
  return JSON.stringify(body)
}

/**
 * @example
 * ```ts
 * const client = createClient({ providers: { openai: leanOpenAI({ baseURL: 'http://127.0.0.1:9000/v1', apiKey: 'sk-...' }) } })
 * ```
 */
export function leanOpenAI(options: { baseURL: string; apiKey: string; connections?: number }): Provider {
  const base = new URL(options.baseURL)
  const pool = new Pool(base.origin, { connections: options.connections ?? 128, keepAliveTimeout: 60_000 })
  const path = `${base.pathname.replace(/\/$/, '')}/chat/completions`
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${options.apiKey}` }

  async function send(request: ChatRequest, call: ProviderCall, stream: boolean) {
    const response = await pool.request({ path, method: 'POST', headers, body: wireBody(request, call.model, stream), signal: call.signal })
    if (response.statusCode >= 400) {
      const text = await response.body.text()
      throw errorForStatus(response.statusCode, text.slice(0, 500), { provider: 'openai', model: call.model })
    }
    return response
  }

  return {
    name: 'openai',
    apiBase: options.baseURL,
    async chat(request, call) {
      return (await (await send(request, call, false)).body.json()) as ChatResponse
    },
    async *stream(request, call) {
      const response = await send(request, call, true)
      let buffer = ''
      for await (const data of response.body) {
        buffer += data.toString()
        let end: number
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          if (!event.startsWith('data: ')) continue
          const payload = event.slice(6)
          if (payload === '[DONE]') return
          yield JSON.parse(payload) as ChatChunk
        }
      }
    },
    async embed() {
      throw new Error('leanOpenAI is a benchmark prototype: chat and stream only')
    },
    close: () => pool.close(),
  }
}
