/**
 * `replay({ dir })`: a provider that answers from the cassettes `record()` wrote, offline. Each
 * request is cleaned as `record()` cleaned it (src/testing/cassette-format.ts), reduced to its match
 * key (src/testing/cassette-match.ts) and answered by a recording with the same key: its reply, its
 * chunks (at their recorded gaps, or at once), or its error thrown again as the same class. A miss
 * fails with the nearest recording and how it differs (`strict`), or goes to the real provider
 * `replay()` wraps (`passthrough`).
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { z } from 'zod'
import { sleep as sleepFor } from '../abort'
import type { Context } from '../context'
import { LlmError, type LlmErrorOptions } from '../errors'
import { lazySchema } from '../lazy-schema'
import { contentMaskOf } from '../redact'
import { keepResponseHeaders, wantsResponseHeaders } from '../response-headers'
import type { ChatChunk, ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse } from '../schema'
import type { Provider, ProviderCall } from '../types'
import { validate } from '../validate'
import { cassetteRequest, markReplayed, readCassettes, type CassetteEntry, type LoadedEntry } from './cassette-format'
import { canonicalJson, describeDifferences, describeRecording, matchKey, nearestRecording, type MatchOption } from './cassette-match'
import { replayedChunks, replayedError, replayedResponse, replaySchedule, type ReplaySpeed, type ReplayStep } from './replay-schedule'

const replayOptionsSchema = lazySchema(() =>
  z
    .object({
      dir: z.string({ error: 'must be the folder (or one .jsonl file) record() wrote the cassettes to' }).min(1),
      mode: z.enum(['strict', 'passthrough']).default('strict'),
      provider: z
        .custom<Provider>((value) => typeof value === 'object' && value !== null && typeof (value as Provider).chat === 'function', 'must be a provider, for example openai()')
        .optional(),
      match: z
        .union([z.array(z.string().min(1)).min(1), z.custom<(request: Record<string, unknown>) => unknown>((value) => typeof value === 'function')], {
          error: 'must be a list of request fields, for example ["model", "messages"], or a function from a request to its key',
        })
        .optional(),
      speed: z.enum(['recorded', 'instant']).default('instant'),
      name: z.string().min(1).optional(),
      sleep: z.custom<ReplaySleep>((value) => typeof value === 'function', 'must be a function (ms, signal) => Promise<void>').optional(),
    })
    .strict()
    .refine((options) => options.mode !== 'passthrough' || options.provider !== undefined, {
      path: ['provider'],
      message: "is required with mode: 'passthrough': the real provider a miss goes to, for example replay({ dir, mode: 'passthrough', provider: openai() })",
    }),
)

/**
 * How the replayer waits at `speed: 'recorded'`: default a timer that the call's cancellation stops.
 *
 * @example
 * ```ts
 * const waits: number[] = []
 * const cassettes = replay({ dir, speed: 'recorded', sleep: async (ms) => void waits.push(ms) })
 * ```
 */
export type ReplaySleep = (ms: number, signal: AbortSignal) => Promise<void>

/**
 * Options of {@link replay}; every one but `dir` has a default.
 * - `dir`: the folder of cassettes (every `*.jsonl` in it) or one cassette file, read once, when `replay()` is called.
 * - `mode`: `'strict'` (default) fails a call nothing matches; `'passthrough'` sends it to `provider`.
 * - `provider`: the real provider a miss goes to (required with `'passthrough'`).
 * - `match`: what makes two requests the same call: a list of request fields, or a function from a
 *   cleaned request to its key; default every field but `metadata`, `user`, `tags`, `stream`,
 *   `stream_options`, `no-log` and `guardrails`, plus the call type.
 * - `speed`: `'instant'` (default) answers at once; `'recorded'` waits as the recording did.
 * - `name`: the provider's name, default `provider`'s, else `replay`. Calls answered from a
 *   cassette carry the recorded provider and base URL whatever the name (their events and cost are
 *   the recorded call's).
 * - `sleep`: how `'recorded'` waits, default a timer; give your own to drive a fake clock.
 *
 * @example
 * ```ts
 * const options: ReplayOptions = { dir: 'test/cassettes', mode: 'passthrough', provider: openai(), match: ['model', 'messages'] }
 * ```
 */
export interface ReplayOptions {
  dir: string
  mode?: 'strict' | 'passthrough'
  provider?: Provider
  match?: MatchOption
  speed?: ReplaySpeed
  name?: string
  sleep?: ReplaySleep
}

/**
 * A replay provider; also says what it read.
 *
 * @example
 * ```ts
 * const cassettes = replay({ dir: 'test/cassettes' })
 * console.log(`${cassettes.recordings.length} recordings`)
 * ```
 */
export interface ReplayProvider extends Provider {
  /** The recordings it answers from, in the order the calls started. */
  readonly recordings: ReadonlyArray<LoadedEntry>
}

/**
 * The error of a call no recording matches in strict mode. Its message names the nearest recording
 * (file and line) and the fields in which it differs; `code` is `cassette_miss`.
 *
 * @example
 * ```ts
 * try { await client.chat(request) } catch (error) {
 *   if (error instanceof CassetteMissError) console.error(error.message) // shows the nearest recording
 * }
 * ```
 */
export class CassetteMissError extends LlmError {
  constructor(message: string, options: LlmErrorOptions = {}) {
    super(message, { retryable: false, code: 'cassette_miss', ...options })
  }
}

/**
 * A provider that answers from cassettes, offline: register it under the provider names your models
 * use. Cancels and timeouts work as with a real provider; `'recorded'` speed waits the recorded gaps.
 *
 * @example
 * ```ts
 * const cassettes = replay({ dir: 'test/cassettes' })
 * const client = createClient({ providers: { openai: cassettes, gemini: cassettes } })
 * const reply = await client.chat({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] })
 * ```
 */
export function replay(options: ReplayOptions): ReplayProvider {
  const settings = validate(replayOptionsSchema, options, 'replay() options')
  const dir = resolve(settings.dir)
  const real = settings.provider
  const name = settings.name ?? real?.name ?? 'replay'
  const match = settings.match as MatchOption | undefined
  const wait: ReplaySleep = settings.sleep ?? ((ms, signal) => sleepFor(ms, signal))
  const recordings = settings.mode === 'passthrough' && !existsSync(dir) ? [] : readCassettes(dir)
  const index = indexRecordings(recordings, match)
  const played = new Map<string, number>()

  /** The recording that answers this call, or undefined on a miss. */
  function find(type: 'chat' | 'embedding', call: ProviderCall): CassetteEntry | undefined {
    const candidates: LoadedEntry[] = []
    for (const redacted of index.redactionKinds) {
      const key = canonicalJson(matchKey(type, cleaned(call.context, redacted), match))
      for (const loaded of index.byKey.get(key) ?? []) if (loaded.entry.redacted === redacted) candidates.push(loaded)
    }
    if (candidates.length === 0) return undefined
    const streaming = call.context.streaming
    const sameKind = candidates.filter((loaded) => loaded.entry.streaming === streaming)
    const pool = sameKind.length > 0 ? sameKind : candidates
    // A request recorded several times (a 429, then its retry's success) gets the recordings in order, then the last again.
    const counter = `${canonicalJson(pool.map((loaded) => [loaded.file, loaded.line]))}`
    const count = played.get(counter) ?? 0
    played.set(counter, count + 1)
    return pool[Math.min(count, pool.length - 1)]!.entry
  }

  function miss(type: 'chat' | 'embedding', call: ProviderCall): CassetteMissError {
    const model = String(call.context.request.model)
    const requested = (redacted: boolean) => matchKey(type, cleaned(call.context, redacted), match)
    const candidates = recordings
      .filter((loaded) => loaded.entry.type === type)
      .map((loaded) => ({ loaded, key: matchKey(type, loaded.entry.request, match), requested: requested(loaded.entry.redacted) }))
    const lines = [`replay(): no recording in ${dir} matches this ${type === 'chat' ? (call.context.streaming ? 'streamed chat' : 'chat') : 'embedding'} call to ${model} (mode: 'strict').`]
    const nearest = nearestRecording(candidates)
    if (nearest) {
      lines.push(`Nearest recording: ${describeRecording(nearest.loaded)}, which differs in ${nearest.differences.length} field${nearest.differences.length === 1 ? '' : 's'}:`)
      lines.push(...describeDifferences(nearest.differences))
    } else {
      lines.push(`The cassettes hold no ${type} calls (${recordings.length} recording${recordings.length === 1 ? '' : 's'} in all).`)
    }
    lines.push(`Record this call (record({ dir }) in front of the real provider), narrow the match (replay({ match: ['model', 'messages'] })), or use mode: 'passthrough' with the real provider.`)
    return new CassetteMissError(lines.join('\n'), { provider: name, model: call.model })
  }

  /** The call takes on the recorded call's facts: the provider and base URL it went to, and its headers. */
  function answer(entry: CassetteEntry, call: ProviderCall): void {
    const ctx = call.context
    markReplayed(ctx)
    if (entry.provider !== undefined) {
      ctx.provider = entry.provider
      const attempt = ctx.attempts.at(-1)
      if (attempt) attempt.provider = entry.provider
    }
    if (entry.apiBase !== undefined) ctx.apiBase = entry.apiBase
    if (entry.headers && wantsResponseHeaders(ctx)) keepResponseHeaders(ctx, entry.headers)
  }

  async function pause(step: ReplayStep, call: ProviderCall): Promise<void> {
    if (settings.speed === 'recorded') await wait(step.waitMs, call.signal)
  }

  async function whole(type: 'chat' | 'embedding', call: ProviderCall): Promise<Record<string, unknown> | undefined> {
    const entry = find(type, call)
    if (!entry) return undefined
    answer(entry, call)
    const [step] = replaySchedule(entry, { streaming: false, speed: settings.speed })
    await pause(step!, call)
    if (entry.error) throw replayedError(entry.error, { provider: entry.provider, model: call.model })
    return structuredClone(replayedResponse(entry) ?? {})
  }

  async function chat(request: ChatRequest, call: ProviderCall): Promise<ChatResponse> {
    const response = await whole('chat', call)
    if (response) return response as unknown as ChatResponse
    if (real) return real.chat(request, call)
    throw miss('chat', call)
  }

  async function* stream(request: ChatRequest, call: ProviderCall): AsyncGenerator<ChatChunk> {
    const entry = find('chat', call)
    if (!entry) {
      if (real) return yield* real.stream(request, call)
      throw miss('chat', call)
    }
    answer(entry, call)
    const chunks = replayedChunks(entry)
    for (const step of replaySchedule(entry, { streaming: true, speed: settings.speed })) {
      await pause(step, call)
      if (step.kind === 'chunk') yield structuredClone(chunks[step.index]!)
      else if (step.kind === 'error') throw replayedError(entry.error!, { provider: entry.provider, model: call.model })
    }
  }

  async function embed(request: EmbeddingRequest, call: ProviderCall): Promise<EmbeddingResponse> {
    const response = await whole('embedding', call)
    if (response) return response as unknown as EmbeddingResponse
    if (real) return real.embed(request, call)
    throw miss('embedding', call)
  }

  return {
    name,
    apiBase: real?.apiBase,
    secrets: real?.secrets,
    recordings,
    chat,
    stream,
    embed,
    close: () => real?.close?.(),
  }
}

/** The call's request cleaned as `record()` cleaned it, with this client's scrubber and mask. */
function cleaned(ctx: Context, redactContent: boolean): Record<string, unknown> {
  const mask = contentMaskOf(ctx.services.redact)
  const scrub = (text: string) => ctx.scrub(text)
  return cassetteRequest(ctx.request as unknown as Record<string, unknown>, { scrub, content: mask ? (text) => ctx.scrub(mask(text)) : scrub, redactContent })
}

/** Recordings by the canonical JSON of their key, and which redaction kinds occur (a request is cleaned once per kind). */
function indexRecordings(recordings: ReadonlyArray<LoadedEntry>, match: MatchOption | undefined): { byKey: Map<string, LoadedEntry[]>; redactionKinds: boolean[] } {
  const byKey = new Map<string, LoadedEntry[]>()
  const kinds = new Set<boolean>()
  for (const loaded of recordings) {
    const key = canonicalJson(matchKey(loaded.entry.type, loaded.entry.request, match))
    const list = byKey.get(key)
    if (list) list.push(loaded)
    else byKey.set(key, [loaded])
    kinds.add(loaded.entry.redacted)
  }
  return { byKey, redactionKinds: [...kinds] }
}

export type { ReplaySpeed, ReplayStep }
