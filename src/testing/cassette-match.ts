/**
 * How `replay()` finds the recording of a request: both are reduced to a key and the keys compared
 * as canonical JSON (object keys sorted). By default the key is the call type and every request
 * field but those that do not change the reply (`metadata`, `user`, `tags`, `stream`,
 * `stream_options`, `no-log`, `guardrails`); `match` narrows it to a list of fields, or a function
 * computes it. When nothing matches, the nearest recording (fewest differing fields) and how it
 * differs make the error message.
 */
import type { CassetteEntry, LoadedEntry } from './cassette-format'

/**
 * What makes two requests the same call: a list of request fields (`['model', 'messages']`), or a
 * function from a cleaned request to its key (anything JSON can hold).
 *
 * @example
 * ```ts
 * const lastMessage: MatchOption = (request) => [request.model, (request.messages as unknown[] | undefined)?.at(-1)]
 * ```
 */
export type MatchOption = ReadonlyArray<string> | ((request: Readonly<Record<string, unknown>>, type: 'chat' | 'embedding') => unknown)

/** Request fields left out of the default key: they change how a call is logged or delivered, not its reply. */
export const ignoredByDefault: ReadonlySet<string> = new Set(['metadata', 'user', 'tags', 'stream', 'stream_options', 'no-log', 'guardrails'])

/**
 * The key of a cleaned request (`cassetteRequest`) under `match`.
 *
 * @example
 * ```ts
 * matchKey('chat', { model: 'openai/gpt-4o-mini', messages, temperature: 0, user: 'ada' }) // { type: 'chat', model, messages, temperature: 0 }
 * matchKey('chat', request, ['model']) // { type: 'chat', model: 'openai/gpt-4o-mini' }
 * ```
 */
export function matchKey(type: 'chat' | 'embedding', request: Readonly<Record<string, unknown>>, match?: MatchOption): Record<string, unknown> {
  if (typeof match === 'function') return { type, key: match(request, type) }
  const key: Record<string, unknown> = { type }
  if (match) {
    for (const field of match) if (request[field] !== undefined) key[field] = request[field]
    return key
  }
  for (const field in request) if (!ignoredByDefault.has(field) && request[field] !== undefined) key[field] = request[field]
  return key
}

/**
 * JSON with object keys sorted, so that two equal values give one string whatever order their keys
 * were written in.
 *
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] }) // '{"a":[2,{"c":4,"d":3}],"b":1}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return item
    const sorted: Record<string, unknown> = {}
    for (const key of Object.keys(item).sort()) sorted[key] = (item as Record<string, unknown>)[key]
    return sorted
  })
}

/** One field that differs between a recorded key and a requested one. */
export interface KeyDifference {
  /** `messages[0].content`, `temperature`. */
  path: string
  /** The value as JSON, or undefined when absent on that side. */
  recorded?: string
  requested?: string
}

/**
 * The fields (down to the leaves) where `recorded` and `requested` differ; absent and `undefined` are the same.
 *
 * @example
 * ```ts
 * keyDifferences({ temperature: 0 }, { temperature: 1 }) // [{ path: 'temperature', recorded: '0', requested: '1' }]
 * ```
 */
export function keyDifferences(recorded: unknown, requested: unknown, path = ''): KeyDifference[] {
  if (canonicalJson(recorded) === canonicalJson(requested)) return []
  const bothObjects = isObject(recorded) && isObject(requested)
  const bothArrays = Array.isArray(recorded) && Array.isArray(requested)
  if (bothArrays) {
    const differences: KeyDifference[] = []
    for (let index = 0; index < Math.max(recorded.length, requested.length); index++) {
      differences.push(...keyDifferences(recorded[index], requested[index], `${path}[${index}]`))
    }
    return differences
  }
  if (bothObjects) {
    const differences: KeyDifference[] = []
    for (const key of [...new Set([...Object.keys(recorded), ...Object.keys(requested)])].sort()) {
      differences.push(...keyDifferences(recorded[key], requested[key], path === '' ? key : `${path}.${key}`))
    }
    return differences
  }
  return [{ path: path || '(the whole key)', recorded: recorded === undefined ? undefined : JSON.stringify(recorded), requested: requested === undefined ? undefined : JSON.stringify(requested) }]
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/**
 * The recording whose key differs from the requested key in the fewest fields (the earliest among
 * equals), with the differences, or undefined when `candidates` is empty. Each candidate brings the
 * requested key as cleaned for it (with or without redaction, as it was recorded).
 */
export function nearestRecording(
  candidates: ReadonlyArray<{ loaded: LoadedEntry; key: Record<string, unknown>; requested: Record<string, unknown> }>,
): { loaded: LoadedEntry; differences: KeyDifference[] } | undefined {
  let best: { loaded: LoadedEntry; differences: KeyDifference[] } | undefined
  for (const candidate of candidates) {
    const differences = keyDifferences(candidate.key, candidate.requested)
    if (!best || differences.length < best.differences.length) best = { loaded: candidate.loaded, differences }
  }
  return best
}

/** How many differences a miss message lists, and how long a value in it may be. */
const shownDifferences = 8
const shownValueLength = 80

/**
 * The lines of a miss message that show how the nearest recording differs.
 *
 * @example
 * ```ts
 * describeDifferences([{ path: 'temperature', recorded: '0', requested: '1' }]) // ['  temperature: recorded 0, requested 1']
 * ```
 */
export function describeDifferences(differences: ReadonlyArray<KeyDifference>): string[] {
  const shorten = (value: string | undefined) => (value === undefined ? '(absent)' : value.length > shownValueLength ? `${value.slice(0, shownValueLength - 1)}…` : value)
  const lines = differences.slice(0, shownDifferences).map((difference) => `  ${difference.path}: recorded ${shorten(difference.recorded)}, requested ${shorten(difference.requested)}`)
  if (differences.length > shownDifferences) lines.push(`  ... and ${differences.length - shownDifferences} more`)
  return lines
}

/** A short label for a recording in messages: where it is and what it was. */
export function describeRecording(loaded: LoadedEntry): string {
  const entry: CassetteEntry = loaded.entry
  return `${loaded.file}:${loaded.line} (${entry.type}${entry.streaming ? ', streamed' : ''}, ${String(entry.request.model)}, recorded ${entry.recordedAt})`
}
