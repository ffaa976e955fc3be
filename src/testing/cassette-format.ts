/**
 * The cassette format that `record()` writes and `replay()` and `llm-onion replay` read: JSON lines,
 * one recorded call per line, in files named by UTC day and process (`2025-06-01.48213.jsonl`), so
 * that processes recording into one folder never write to the same file and a day's traffic is
 * `<dir>/<day>.*.jsonl`. docs/testing.md describes every field.
 *
 * What a line holds is what may leave the process: the request without its credential fields, every
 * string scrubbed of the credentials the client knows, content replaced under the client's
 * redaction. Readers never trust a line: each is checked with zod, and a wrong one names its file
 * and line.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { z } from 'zod'
import type { Context } from '../context'
import type { Cost, Usage } from '../call-facts'
import { lazySchema } from '../lazy-schema'
import { cleanCopy, REDACTED, redactMessages } from '../redact'
import { scrubDeep } from '../secret-scrubber'
import { formatPath } from '../validate'

/** The version of the line format; a reader refuses lines of a version it does not know. */
export const cassetteVersion = 1

/**
 * A recorded error: enough to throw the same class with the same status, code and message again.
 *
 * @example
 * ```ts
 * const rateLimited = readCassettes(dir).filter(({ entry }) => entry.error?.status === 429)
 * ```
 */
export interface RecordedError {
  /** The error's class name (`RateLimitError`, `AuthenticationError`, ...). */
  type: string
  message: string
  status?: number
  code?: string
  param?: string
  retryable?: boolean
  retryAfterMs?: number
  /** `GuardrailError` only: the guardrail that blocked the call. */
  guardrail?: string
  /** Milliseconds from the start of the call to the failure. */
  atMs: number
}

/**
 * One stream chunk as it passed the recording layer, `atMs` milliseconds after the call started there.
 *
 * @example
 * ```ts
 * const gaps = entry.chunks?.map((chunk: RecordedChunk, index, all) => chunk.atMs - (all[index - 1]?.atMs ?? 0))
 * ```
 */
export interface RecordedChunk {
  atMs: number
  chunk: Record<string, unknown>
}

/**
 * One recorded call: one line of a cassette file (docs/testing.md, "The line format").
 *
 * @example
 * ```ts
 * const streamed: CassetteEntry[] = readCassettes(dir).map(({ entry }) => entry).filter((entry) => entry.streaming)
 * ```
 */
export interface CassetteEntry {
  version: typeof cassetteVersion
  /** The recorded call's id. */
  id: string
  /** When the call started, ISO 8601. */
  recordedAt: string
  type: 'chat' | 'embedding'
  streaming: boolean
  /** The request as the recording layer received it, credentials removed (see {@link cassetteRequest}). */
  request: Record<string, unknown>
  /** True when prompt and reply content were replaced by `"[redacted]"` (`redact: { messages: true }`). */
  redacted: boolean
  provider?: string
  /** The provider's base URL, without its query string. */
  apiBase?: string
  responseModel?: string
  /** The whole reply of a chat or embedding call; a stream has `chunks` instead. */
  response?: Record<string, unknown>
  /** A stream's chunks in order, with their timing. */
  chunks?: RecordedChunk[]
  error?: RecordedError
  usage?: Usage
  cost?: Cost
  /** The provider's response headers, credentials removed (none for providers that do not expose them). */
  headers?: Record<string, string>
  /** Milliseconds from the start of the call to its end, and to its first chunk. */
  durationMs: number
  firstChunkMs?: number
}

/**
 * A cassette entry with the place it was read from, for messages.
 *
 * @example
 * ```ts
 * const first: LoadedEntry | undefined = readCassettes(dir)[0]
 * if (first) console.log(`${first.file}:${first.line}`, first.entry.request.model)
 * ```
 */
export interface LoadedEntry {
  entry: CassetteEntry
  file: string
  line: number
}

/**
 * A cassette that cannot be read: its message names the file (and line) and what is wrong.
 *
 * @example
 * ```ts
 * try { readCassettes('test/cassettes') } catch (error) { if ((error as Error).name === 'CassetteError') console.error((error as Error).message) }
 * ```
 */
export class CassetteError extends Error {
  override name = 'CassetteError'
}

const entrySchema = lazySchema(() => {
  const record = z.record(z.string(), z.unknown())
  const milliseconds = z.number().finite().nonnegative()
  return z.looseObject({
    version: z.literal(cassetteVersion, { error: `must be ${cassetteVersion}; this cassette was written by another version of llm-onion` }),
    id: z.string(),
    recordedAt: z.string(),
    type: z.enum(['chat', 'embedding']),
    streaming: z.boolean(),
    request: z.looseObject({ model: z.string() }),
    redacted: z.boolean(),
    provider: z.string().optional(),
    apiBase: z.string().optional(),
    responseModel: z.string().optional(),
    response: record.optional(),
    chunks: z.array(z.object({ atMs: milliseconds, chunk: record })).optional(),
    error: z.looseObject({ type: z.string(), message: z.string(), status: z.number().optional(), atMs: milliseconds }).optional(),
    usage: z.looseObject({ inputTokens: z.number(), outputTokens: z.number(), totalTokens: z.number() }).optional(),
    cost: z.object({ input: z.number(), output: z.number(), total: z.number() }).optional(),
    headers: z.record(z.string(), z.string()).optional(),
    durationMs: milliseconds,
    firstChunkMs: milliseconds.optional(),
  })
})

/**
 * The file a call recorded at `time` goes to: one per UTC day and process.
 *
 * @example
 * ```ts
 * cassetteFileName(Date.parse('2025-06-01T10:00:00Z'), 48213) // '2025-06-01.48213.jsonl'
 * ```
 */
export function cassetteFileName(time: number, pid: number = process.pid): string {
  return `${new Date(time).toISOString().slice(0, 10)}.${pid}.jsonl`
}

/**
 * Reads every entry of `path`: a folder (its `*.jsonl` files) or one file, in the order the calls
 * started (entries recorded at the same time keep the order of their files and lines). A line that
 * is not a cassette entry throws, naming the file, the line and the field.
 *
 * @example
 * ```ts
 * for (const { entry, file, line } of readCassettes('test/cassettes')) console.log(file, line, entry.request.model)
 * ```
 */
export function readCassettes(path: string): LoadedEntry[] {
  const location = resolve(path)
  let files: string[]
  try {
    files = statSync(location).isDirectory()
      ? readdirSync(location).filter((name) => name.endsWith('.jsonl')).sort().map((name) => join(location, name))
      : [location]
  } catch (error) {
    throw new CassetteError(`Cannot read the cassettes at ${location}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (error as Error).message}. Record them first with record({ dir }) or llm-onion serve --record <dir>.`)
  }
  const loaded: LoadedEntry[] = []
  for (const file of files) {
    const lines = readFileSync(file, 'utf8').split('\n')
    lines.forEach((text, index) => {
      if (text.trim() === '') return
      loaded.push({ entry: parseLine(text, file, index + 1), file, line: index + 1 })
    })
  }
  return loaded
    .map((item, order) => ({ item, order, time: Date.parse(item.entry.recordedAt) }))
    .sort((left, right) => (left.time === right.time || Number.isNaN(left.time - right.time) ? left.order - right.order : left.time - right.time))
    .map(({ item }) => item)
}

function parseLine(text: string, file: string, line: number): CassetteEntry {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new CassetteError(`${file}:${line} is not JSON (${(error as Error).message}); a cassette holds one JSON object per line, as record() writes them.`)
  }
  const result = entrySchema.safeParse(value)
  if (!result.success) {
    const issue = result.error.issues[0]!
    throw new CassetteError(`${file}:${line} is not a cassette entry: ${formatPath(issue.path) || 'the line'} ${issue.message}.`)
  }
  return result.data as unknown as CassetteEntry
}

/** Request fields never written to a cassette: credentials and where the provider is, not what was asked. */
const neverRecorded = new Set(['api_key', 'api_base', 'base_url'])

/** How a request is made safe to write and to compare. */
export interface RequestCleaning {
  /** Replaces known credentials by value (`ctx.scrub`). */
  scrub: (text: string) => string
  /** What prompt text goes through: `scrub`, after the client's logs-only mask when it has one. */
  content: (text: string) => string
  /** `redact: { messages: true }`: prompt content becomes `"[redacted]"`. */
  redactContent: boolean
}

/**
 * The request as a cassette holds it: `api_key`, `api_base` and `base_url` left out, every credential
 * field (`isSecretKey`) dropped from parameters and metadata, every string scrubbed, and with
 * `redactContent` the messages' content and the embedding input `"[redacted]"`. `replay()` cleans
 * the requests it is asked in the same way before it compares them.
 *
 * @example
 * ```ts
 * cassetteRequest({ model: 'openai/gpt-4o-mini', api_key: 'sk-1', messages }, { scrub, content: scrub, redactContent: false })
 * ```
 */
export function cassetteRequest(request: Readonly<Record<string, unknown>>, cleaning: RequestCleaning): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const key in request) {
    const value = request[key]
    if (value === undefined || neverRecorded.has(key)) continue
    if (key === 'messages' && Array.isArray(value)) out.messages = cleaning.redactContent ? redactMessages(value as object[]) : scrubDeep(value, cleaning.content)
    else if (key === 'input' && cleaning.redactContent) out.input = REDACTED
    else if (key === 'input') out.input = scrubDeep(value, cleaning.content)
    else if (key === 'model' && typeof value === 'string') out.model = value
    else {
      const cleaned = cleanCopy({ [key]: value }, cleaning.scrub)
      if (key in cleaned) out[key] = cleaned[key]
    }
  }
  return out
}

const replayedKey = Symbol('answered from a cassette')

/** `replay()` marks the calls it answered from a cassette, so `record()` does not record them again. */
export function markReplayed(ctx: Context): void {
  ctx.setSlot(replayedKey, true)
}

/** True when `replay()` answered this call from a cassette. */
export function wasReplayed(ctx: Context): boolean {
  return ctx.slot<boolean>(replayedKey) === true
}
