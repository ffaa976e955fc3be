/**
 * What both transports of the OpenAI provider share — the official `openai` SDK and `undici`: the
 * options with their defaults, the request body as the API takes it, and the rule that a stream
 * ending before its finish reason is a failure. So both send the same requests and fail the same way.
 */
import { z } from 'zod'
import { ValidationError } from '../../errors'
import type { ChatChunk, ChatRequest, EmbeddingRequest } from '../../schema'
import type { ProviderCall } from '../../types'
import { isSecretHeader, stripSecretQuery } from '../../redact'
import { createSecretScrubber } from '../../secret-scrubber'
import { validate } from '../../validate'
import { connectionError, type ErrorTarget } from '../provider-errors'
import { fromOpenAIError } from './errors'
import { lazySchema } from '../../lazy-schema'

const openaiOptionsSchema = lazySchema(() =>
  z.object({
    name: z.string().min(1).default('openai'),
    apiKey: z.string().min(1).optional(),
    baseURL: z.url().optional(),
    organization: z.string().min(1).optional(),
    headers: z.record(z.string(), z.string()).optional(),
    timeout: z.number().int().positive().optional(),
    transport: z.enum(['sdk', 'http']).default('sdk'),
  }),
)

/**
 * Options of `openai()`; every one has a default (see `openai()`).
 *
 * @example
 * ```ts
 * const options: OpenAIOptions = { baseURL: 'http://localhost:8000/v1', apiKey: 'vllm', timeout: 30_000, transport: 'http' }
 * ```
 */
export type OpenAIOptions = z.input<typeof openaiOptionsSchema>

/** The options resolved against the environment: what a transport is built from. */
export interface OpenAISettings {
  name: string
  apiKey: string
  /** The base URL in use, ending before `/chat/completions`; also the events' `apiBase`. */
  baseURL: string
  organization?: string
  project?: string
  /** Extra headers on every request. */
  headers: Record<string, string>
  /** The credentials in these settings (the key, secret headers, secret query parameters of the base URL), for scrubbing. */
  secrets: string[]
  /** Milliseconds to wait for an answer's headers. */
  timeout: number
  transport: 'sdk' | 'http'
  /** The facts an error about `call` carries. */
  target(call: ProviderCall): ErrorTarget
}

/** The SDK's defaults, which the `http` transport shares. */
const defaultBaseURL = 'https://api.openai.com/v1'
const defaultTimeoutMs = 10 * 60 * 1000

/**
 * Validates `openai()` options and fills the defaults from the environment as the SDK does:
 * `OPENAI_API_KEY`, `OPENAI_BASE_URL`, `OPENAI_ORG_ID`, `OPENAI_PROJECT_ID`.
 */
export function resolveOpenAISettings(options: OpenAIOptions): OpenAISettings {
  const settings = validate(openaiOptionsSchema, options, 'openai() options')
  const apiKey = settings.apiKey ?? process.env.OPENAI_API_KEY
  if (!apiKey) {
    throw new ValidationError(
      'openai() needs an API key: set OPENAI_API_KEY or pass openai({ apiKey }). OpenAI-compatible local servers accept any placeholder, for example openai({ apiKey: "ollama", baseURL: "http://localhost:11434/v1" }).',
      [{ path: 'apiKey', message: 'required' }],
    )
  }
  const name = settings.name
  const baseURL = settings.baseURL ?? (fromEnvironment('OPENAI_BASE_URL') || defaultBaseURL)
  // Messages name the base URL without its query, which may hold a key (`?key=` or `?api-key=`).
  const apiBase = publicURL(baseURL)
  const keyHint = name === 'openai' ? 'set OPENAI_API_KEY or pass openai({ apiKey })' : `pass ${name}: openai({ apiKey }) the key of ${apiBase}`
  const headers = settings.headers ?? {}
  const secrets = [apiKey, ...secretQueryValues(baseURL), ...Object.keys(headers).filter(isSecretHeader).map((header) => headers[header]!)]
  const ownScrubber = createSecretScrubber(secrets, {})
  return {
    name,
    apiKey,
    baseURL,
    organization: settings.organization ?? fromEnvironment('OPENAI_ORG_ID'),
    project: fromEnvironment('OPENAI_PROJECT_ID'),
    headers,
    secrets,
    timeout: settings.timeout ?? defaultTimeoutMs,
    transport: settings.transport,
    target: (call) => ({
      provider: name,
      model: call.model,
      apiBase,
      signal: call.signal,
      keyHint,
      // The client's scrubber knows this key too, and the call's own credentials; a bare provider call has only its own.
      scrub: call.context?.services ? (text) => call.context.scrub(text) : (text) => ownScrubber.scrub(text),
    }),
  }
}

/** `url` without its query string and fragment. */
export function publicURL(url: string): string {
  const end = url.search(/[?#]/)
  return end === -1 ? url : url.slice(0, end)
}

/** The values of a URL's query parameters that carry credentials (`?key=`, `?api-key=`, `?token=`). */
export function secretQueryValues(url: string): string[] {
  if (!URL.canParse(url)) return []
  const values: string[] = []
  for (const [name, value] of new URL(url).searchParams) if (stripSecretQuery(`?${encodeURIComponent(name)}=x`) === '') values.push(value)
  return values
}

function fromEnvironment(variable: string): string | undefined {
  return process.env[variable]?.trim() || undefined
}

/**
 * Request fields that are llm-onion's own (or the provider's to set) and never go to the API. The
 * request's `api_key` is a credential: sent as a body field it would reach servers that log bodies.
 */
// `no-log` and `guardrails` are LiteLLM's per-request logging and guardrail controls (src/proxy/logging-controls.ts, guardrails-config.ts).
const ownFields = new Set(['model', 'metadata', 'tags', 'mock_response', 'mock_error', 'stream', 'stream_options', 'api_key', 'no-log', 'guardrails'])

/** The request as the API takes it: llm-onion's own fields left out, the provider's model name set. */
export function wireBody(request: ChatRequest | EmbeddingRequest, model: string): Record<string, unknown> {
  const body: Record<string, unknown> = { model }
  for (const key in request) if (!ownFields.has(key)) body[key] = (request as Record<string, unknown>)[key]
  return body
}

/** A streamed chat request as the API takes it: usage is asked for, so streamed calls have usage too. */
export function streamWireBody(request: ChatRequest, model: string): Record<string, unknown> {
  const body = wireBody(request, model)
  body.stream = true
  body.stream_options = { ...request.stream_options, include_usage: true }
  return body
}

/** True when `chunk` carries a finish reason: the reply is complete. */
export function finishes(chunk: ChatChunk): boolean {
  const choices = chunk.choices
  if (!choices) return false
  for (let index = 0; index < choices.length; index++) if (choices[index]!.finish_reason) return true
  return false
}

/**
 * Called when a stream's body has ended. An aborted call, or a reply that never reached its finish
 * reason (a body that ends early, with or without `data: [DONE]`), is not a finished reply, and a
 * cut-off stream must never pass for a success.
 */
export function assertStreamFinished(finished: boolean, call: ProviderCall, settings: OpenAISettings): void {
  if (call.signal.aborted) throw fromOpenAIError(call.signal.reason, settings.target(call))
  if (!finished) throw connectionError(settings.target(call), 'the stream ended before the reply finished (no finish_reason)')
}
