/**
 * What replaying one recording does, step by step: the chunks, the reply or the error, each after a
 * wait. At `speed: 'recorded'` the waits are the recorded gaps (before the first chunk, the time to
 * it; before each next chunk, the time since the one before; before a whole reply or an error, the
 * call's recorded duration or the time to the failure); at `'instant'` they are all 0. The schedule
 * is a pure function of the recording, so tests assert it instead of timing anything.
 *
 * A streamed call may be answered from a whole recording (its reply as chunks, the first after the
 * recorded duration) and a whole call from a streamed one (its chunks assembled).
 */
import {
  APIConnectionError,
  AuthenticationError,
  BadRequestError,
  ContentPolicyViolationError,
  ContextWindowExceededError,
  errorForStatus,
  GuardrailError,
  InternalServerError,
  LlmError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  ServiceUnavailableError,
  TimeoutError,
  UnprocessableEntityError,
  ValidationError,
  AbortError,
  type LlmErrorOptions,
} from '../errors'
import type { ChatChunk, ChatResponse } from '../schema'
import { ChunkAssembler, responseToChunks } from '../stream'
import type { CassetteEntry, RecordedError } from './cassette-format'

/**
 * `'recorded'`: wait as the recording did; `'instant'`: no waits.
 *
 * @example
 * ```ts
 * const speed: ReplaySpeed = process.env.CI ? 'instant' : 'recorded'
 * ```
 */
export type ReplaySpeed = 'recorded' | 'instant'

/**
 * One step of a replay: wait `waitMs`, then deliver chunk `index`, the whole reply, the error, or end the stream.
 *
 * @example
 * ```ts
 * const total = replaySchedule(entry, { streaming: true, speed: 'recorded' }).reduce((sum, step: ReplayStep) => sum + step.waitMs, 0)
 * ```
 */
export type ReplayStep =
  | { kind: 'chunk'; index: number; waitMs: number }
  | { kind: 'reply'; waitMs: number }
  | { kind: 'error'; waitMs: number }
  | { kind: 'end'; waitMs: number }

/**
 * The steps replaying `entry` takes for a streamed or a whole call at `speed`.
 *
 * @example
 * ```ts
 * replaySchedule({ ...entry, chunks: [{ atMs: 120, chunk }, { atMs: 150, chunk }] }, { streaming: true, speed: 'recorded' })
 * // [{ kind: 'chunk', index: 0, waitMs: 120 }, { kind: 'chunk', index: 1, waitMs: 30 }, { kind: 'end', waitMs: 0 }]
 * ```
 */
export function replaySchedule(entry: CassetteEntry, options: { streaming: boolean; speed: ReplaySpeed }): ReplayStep[] {
  const recorded = options.speed === 'recorded'
  const wait = (ms: number) => (recorded ? Math.max(0, round(ms)) : 0)
  const failedAt = entry.error?.atMs ?? entry.durationMs
  if (!options.streaming) return [entry.error ? { kind: 'error', waitMs: wait(failedAt) } : { kind: 'reply', waitMs: wait(entry.durationMs) }]
  const steps: ReplayStep[] = []
  if (entry.chunks) {
    let previous = 0
    entry.chunks.forEach((chunk, index) => {
      steps.push({ kind: 'chunk', index, waitMs: wait(chunk.atMs - previous) })
      previous = chunk.atMs
    })
    steps.push(entry.error ? { kind: 'error', waitMs: wait(failedAt - previous) } : { kind: 'end', waitMs: 0 })
    return steps
  }
  if (entry.error) return [{ kind: 'error', waitMs: wait(failedAt) }]
  replayedChunks(entry).forEach((_chunk, index) => steps.push({ kind: 'chunk', index, waitMs: index === 0 ? wait(entry.firstChunkMs ?? entry.durationMs) : 0 }))
  steps.push({ kind: 'end', waitMs: 0 })
  return steps
}

/** The chunks a streamed call gets from `entry`: the recorded ones, or a whole reply cut into chunks. */
export function replayedChunks(entry: CassetteEntry): ChatChunk[] {
  if (entry.chunks) return entry.chunks.map((recorded) => recorded.chunk as unknown as ChatChunk)
  if (entry.response && entry.type === 'chat') return responseToChunks(entry.response as unknown as ChatResponse)
  return []
}

/** The whole reply a call gets from `entry`: the recorded one, or a recorded stream assembled. */
export function replayedResponse(entry: CassetteEntry): Record<string, unknown> | undefined {
  if (entry.response) return entry.response
  if (!entry.chunks) return undefined
  const assembler = new ChunkAssembler()
  for (const { chunk } of entry.chunks) assembler.add(chunk as unknown as ChatChunk)
  return assembler.response() as unknown as Record<string, unknown>
}

type ErrorClass = new (message: string, options?: LlmErrorOptions) => LlmError

const errorClasses: Record<string, ErrorClass> = {
  LlmError,
  BadRequestError,
  ContextWindowExceededError,
  ContentPolicyViolationError,
  AuthenticationError,
  PermissionDeniedError,
  NotFoundError,
  TimeoutError,
  UnprocessableEntityError,
  RateLimitError,
  InternalServerError,
  ServiceUnavailableError,
  APIConnectionError,
  AbortError,
}

/**
 * The error a recording failed with, thrown again: the same class (so `isRateLimitError()` and
 * `instanceof` hold), status, code, param, `retryable` and `retryAfterMs`, and the recorded message.
 * An error that was not one of ours (a layer's `TypeError`) comes back as an `Error` of that name.
 *
 * @example
 * ```ts
 * replayedError({ type: 'RateLimitError', message: 'Slow down', status: 429, retryAfterMs: 2000, atMs: 12 }, { provider: 'openai' })
 * ```
 */
export function replayedError(recorded: RecordedError, facts: { provider?: string; model?: string } = {}): Error {
  const options: LlmErrorOptions = {}
  if (facts.provider !== undefined) options.provider = facts.provider
  if (facts.model !== undefined) options.model = facts.model
  if (recorded.status !== undefined) options.status = recorded.status
  if (recorded.code !== undefined) options.code = recorded.code
  if (recorded.param !== undefined) options.param = recorded.param
  if (recorded.retryable !== undefined) options.retryable = recorded.retryable
  if (recorded.retryAfterMs !== undefined) options.retryAfterMs = recorded.retryAfterMs
  if (recorded.type === 'GuardrailError') return new GuardrailError(recorded.guardrail ?? 'guardrail', recorded.message, options)
  if (recorded.type === 'ValidationError') return new ValidationError(recorded.message, [{ path: recorded.param ?? '', message: recorded.message }], options)
  const known = Object.hasOwn(errorClasses, recorded.type) ? errorClasses[recorded.type] : undefined
  if (known) return new known(recorded.message, options)
  if (recorded.status !== undefined) return errorForStatus(recorded.status, recorded.message, options)
  const error = new Error(recorded.message)
  error.name = recorded.type
  return error
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000
}
