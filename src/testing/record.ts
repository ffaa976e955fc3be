/**
 * `record({ dir })`: a layer that writes every call it sees to a cassette (src/testing/cassette-format.ts),
 * for `replay()` to answer from later, offline. The line is built when the call ends, from what the
 * event holds (the reply, the error, usage and cost, scrubbed and redacted as every sink gets them)
 * and what only this layer saw (the request as it arrived, each chunk with its timing, the provider's
 * response headers); it is written in the background through the client's delivery queue, so a slow
 * or failing disk never holds or fails a call (drops are counted in `client.services.queue.stats()`).
 */
import { appendFile, mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { z } from 'zod'
import type { Context } from '../context'
import type { Sink } from '../delivery/queue'
import { declareLayerSinks } from '../delivery/layer-sinks'
import { isLlmError } from '../errors'
import { defineObservingLayer } from '../integrations/observing-layer'
import { lazySchema } from '../lazy-schema'
import { contentMaskOf, redactChunk, stripSecretHeaders, type RedactOptions } from '../redact'
import { askForResponseHeaders, responseHeadersOf } from '../response-headers'
import type { ChatChunk } from '../schema'
import { scrubDeep } from '../secret-scrubber'
import type { Middleware } from '../types'
import { validate } from '../validate'
import { cassetteFileName, cassetteRequest, cassetteVersion, wasReplayed, type CassetteEntry, type RecordedError } from './cassette-format'

const recordOptionsSchema = lazySchema(() =>
  z
    .object({
      dir: z.string({ error: 'must be the folder the cassettes are written to, for example "test/cassettes"' }).min(1),
      redact: z.object({ messages: z.boolean().optional() }).strict().optional(),
    })
    .strict(),
)

/**
 * Options of {@link record}.
 * - `dir` (required): the folder cassettes are written to, created when missing; one file per UTC
 *   day and process, `<day>.<pid>.jsonl`.
 * - `redact`: `{ messages: true }` writes prompt and reply content as `"[redacted]"`; default the
 *   client's `redact` option. The client's `mask` and `detectors` apply as they do to every event.
 *
 * @example
 * ```ts
 * const options: RecordOptions = { dir: 'test/cassettes', redact: { messages: true } }
 * ```
 */
export type RecordOptions = z.input<typeof recordOptionsSchema>

interface Recording {
  started: number
  startedAt: number
  request: Record<string, unknown>
  chunks: Array<{ atMs: number; chunk: ChatChunk }>
  firstChunkMs?: number
}

/**
 * A layer that records each call it sees to JSON-lines cassettes in `dir`: the request, the reply
 * (or each stream chunk with its time in ms from the call's start at this layer), the error, usage,
 * cost and the provider's response headers. Nothing secret is written: credential fields and
 * headers are left out, every credential the client knows is scrubbed by value, and content follows
 * the client's redaction. Cancelled calls and calls `replay()` answered are not recorded.
 *
 * Where to put it: last (innermost) to record what the provider said, each attempt on its own
 * (a retried 429 then its success, which `replay()` plays back in order); first (outermost) to record
 * what callers got, one line per call.
 *
 * @example
 * ```ts
 * const client = createClient({ providers: { openai: openai() } })
 * client.use(retry({ retries: 2 }), record({ dir: 'test/cassettes' }))
 * await client.chat({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] })
 * await client.close() // writes what is still queued
 * ```
 */
export function record(options: RecordOptions): Middleware {
  const settings = validate(recordOptionsSchema, options, 'record() options')
  const dir = resolve(settings.dir)
  const sink = cassetteSink(dir)
  const redact = settings.redact as RedactOptions | undefined
  const eventOptions = { redact }

  const write = (ctx: Context, recording: Recording | undefined, thrown?: unknown) => {
    if (!recording || wasReplayed(ctx)) return
    ctx.services.queue.enqueue(sink, cassetteLine(ctx, recording, eventOptions, thrown))
  }
  const layer = defineObservingLayer<Recording>({
    name: 'record',
    recordError: true,
    start(ctx) {
      askForResponseHeaders(ctx)
      const recording: Recording = { started: performance.now(), startedAt: Date.now(), request: snapshot(ctx.request), chunks: [] }
      if (ctx.streaming) {
        ctx.onChunk((chunk) => {
          const atMs = milliseconds(performance.now() - recording.started)
          recording.firstChunkMs ??= atMs
          recording.chunks.push({ atMs, chunk })
        })
      }
      return recording
    },
    success: (ctx, recording) => write(ctx, recording),
    failure: (ctx, recording, error) => write(ctx, recording, error),
    cancelled: false,
  })
  declareLayerSinks(layer, [sink])
  return layer
}

/** The request as it arrived, its lists copied: a caller often appends the reply to its messages right after the call. */
function snapshot(request: object): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...request }
  if (Array.isArray(copy.messages)) copy.messages = [...copy.messages]
  if (Array.isArray(copy.input)) copy.input = [...copy.input]
  return copy
}

/** The cassette line of a finished call, serialised now: what it references may change once the call has returned. */
function cassetteLine(ctx: Context, recording: Recording, eventOptions: { redact?: RedactOptions }, thrown: unknown): { day: number; line: string } {
  const event = ctx.toEvent(eventOptions)
  const redacted = eventOptions.redact?.messages ?? ctx.services.redact.messages ?? false
  const mask = contentMaskOf(ctx.services.redact)
  const scrub = (text: string) => ctx.scrub(text)
  const content = mask ? (text: string) => ctx.scrub(mask(text)) : scrub
  const durationMs = milliseconds(performance.now() - recording.started)
  const entry: CassetteEntry = {
    version: cassetteVersion,
    id: ctx.id,
    recordedAt: new Date(recording.startedAt).toISOString(),
    type: ctx.type,
    streaming: ctx.streaming,
    request: cassetteRequest(recording.request, { scrub, content, redactContent: redacted }),
    redacted,
    provider: event.provider,
    apiBase: event.apiBase,
    responseModel: event.responseModel,
    durationMs,
  }
  if (ctx.streaming && (recording.chunks.length > 0 || !event.error)) {
    entry.chunks = recording.chunks.map(({ atMs, chunk }) => ({ atMs, chunk: scrubDeep(redacted ? redactChunk(chunk) : chunk, content) as unknown as Record<string, unknown> }))
    if (recording.firstChunkMs !== undefined) entry.firstChunkMs = recording.firstChunkMs
  } else if (event.response) {
    entry.response = event.response
  }
  if (event.error) entry.error = recordedError(thrown ?? ctx.error, event.error.type, event.error.message, scrub, durationMs)
  if (event.usage) entry.usage = event.usage
  if (event.cost) entry.cost = event.cost
  const headers = responseHeadersOf(ctx) ?? errorHeaders(thrown ?? ctx.error)
  if (headers) {
    const safe = stripSecretHeaders(headers)
    for (const name in safe) safe[name] = scrub(safe[name]!)
    entry.headers = safe
  }
  return { day: recording.startedAt, line: JSON.stringify(entry) }
}

/** What a replay needs to throw the same error: its class, status, code, and the message the event has (scrubbed, masked). */
function recordedError(error: unknown, type: string, message: string, scrub: (text: string) => string, atMs: number): RecordedError {
  const recorded: RecordedError = { type, message, atMs }
  if (!isLlmError(error)) return recorded
  const fields = error as unknown as { retryAfterMs?: unknown; guardrail?: unknown }
  if (error.status !== undefined) recorded.status = error.status
  if (error.code !== undefined) recorded.code = scrub(error.code)
  if (error.param !== undefined) recorded.param = scrub(error.param)
  recorded.retryable = error.retryable
  if (typeof fields.retryAfterMs === 'number') recorded.retryAfterMs = fields.retryAfterMs
  if (typeof fields.guardrail === 'string') recorded.guardrail = fields.guardrail
  return recorded
}

/** The response headers an SDK error keeps (the `openai` SDK's `APIError.headers`), down the cause chain. */
function errorHeaders(error: unknown): Record<string, string> | undefined {
  let current: unknown = error
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const headers = (current as { headers?: unknown }).headers
    if (headers instanceof Headers) {
      const found: Record<string, string> = {}
      headers.forEach((value, name) => (found[name] = value))
      return found
    }
    current = current.cause
  }
  return undefined
}

function milliseconds(value: number): number {
  return Math.round(value * 1000) / 1000
}

/** Writes in this process, by file: one append at a time per file keeps lines whole and in order. */
const writing = new Map<string, Promise<void>>()

/** The sink appending cassette lines to `<dir>/<day>.<pid>.jsonl`, one append per file and batch. */
function cassetteSink(dir: string): Sink<{ day: number; line: string }> {
  let folderReady: Promise<unknown> | undefined
  return {
    name: `record(${dir})`,
    maxBatchSize: 200,
    maxConcurrency: 1,
    async send(items) {
      // A failed mkdir (permissions fixed later) is tried again with the next batch.
      folderReady ??= mkdir(dir, { recursive: true }).catch((error: unknown) => {
        folderReady = undefined
        throw error
      })
      await folderReady
      const byFile = new Map<string, string[]>()
      for (const { day, line } of items) {
        const file = join(dir, cassetteFileName(day))
        const lines = byFile.get(file)
        if (lines) lines.push(line)
        else byFile.set(file, [line])
      }
      await Promise.all([...byFile].map(([file, lines]) => append(file, `${lines.join('\n')}\n`)))
    },
  }
}

function append(file: string, text: string): Promise<void> {
  const done = (writing.get(file) ?? Promise.resolve()).then(() => appendFile(file, text, 'utf8'))
  const settled = done.catch(() => undefined)
  writing.set(file, settled)
  void settled.then(() => {
    if (writing.get(file) === settled) writing.delete(file)
  })
  return done
}
