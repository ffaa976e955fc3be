/**
 * What the cache stores, as JSON text: for a chat call the reply (or, when it was streamed, its
 * chunks, so a streamed hit replays them), with the usage, the cost it had and who answered it;
 * for an embedding batch one entry per input, with its vector and its share of the batch's tokens
 * and cost. The text is scrubbed of every credential the client knows before it is stored.
 */
import type { Cost, Usage } from '../call-facts'
import type { ChatChunk, ChatResponse, EmbeddingResponse } from '../schema'

/** Bumped when the stored shape changes: entries of another version are misses. */
export const entryVersion = 1

/** Who answered a stored call: set again on the context of a hit, so metrics and events name them. */
interface Origin {
  /** When it was stored, epoch ms (LiteLLM's `s-maxage` compares against it). */
  createdAt: number
  provider?: string
  /** The model the provider was asked for (`ctx.model`). */
  model?: string
  /** The model the provider says answered. */
  responseModel?: string
  /** What the call cost when it was made (absent when its price was unknown). */
  cost?: Cost
}

/** A stored chat reply: `chunks` for a streamed call, `response` otherwise. */
export interface ChatEntry extends Origin {
  v: typeof entryVersion
  kind: 'chat'
  usage?: Usage
  response?: ChatResponse
  chunks?: ChatChunk[]
}

/** One input of an embedding batch. */
export interface EmbeddingEntry extends Origin {
  v: typeof entryVersion
  kind: 'embedding'
  embedding: number[] | string
  /** This input's share of the batch's prompt tokens. */
  promptTokens: number
}

/**
 * The entry in `text`, or undefined when it is not one of this version's (another version, a value
 * some other program wrote under the key, or one older than `maxAgeMs`).
 *
 * @example
 * ```ts
 * const entry = parseEntry(await store.get(key), 'chat', Date.now(), undefined)
 * ```
 */
export function parseEntry<Kind extends 'chat' | 'embedding'>(
  text: string | undefined,
  kind: Kind,
  now: number,
  maxAgeMs: number | undefined,
): (Kind extends 'chat' ? ChatEntry : EmbeddingEntry) | undefined {
  if (text === undefined) return undefined
  let entry: { v?: unknown; kind?: unknown; createdAt?: unknown; response?: unknown; chunks?: unknown; embedding?: unknown }
  try {
    entry = JSON.parse(text)
  } catch {
    return undefined
  }
  if (entry === null || typeof entry !== 'object' || entry.v !== entryVersion || entry.kind !== kind || typeof entry.createdAt !== 'number') return undefined
  if (maxAgeMs !== undefined && now - entry.createdAt > maxAgeMs) return undefined
  if (kind === 'chat' && !Array.isArray(entry.chunks) && (typeof entry.response !== 'object' || entry.response === null)) return undefined
  if (kind === 'embedding' && !Array.isArray(entry.embedding) && typeof entry.embedding !== 'string') return undefined
  return entry as Kind extends 'chat' ? ChatEntry : EmbeddingEntry
}

/** True when a chat reply says something: a reply without choices, or with only empty ones, is never stored (as LiteLLM). */
export function hasOutput(response: ChatResponse): boolean {
  return response.choices.some((choice) => {
    const message = choice.message
    return (typeof message.content === 'string' && message.content !== '') || (message.tool_calls?.length ?? 0) > 0 || (typeof message.refusal === 'string' && message.refusal !== '')
  })
}

/** The inputs of an embedding request, one per vector the reply will hold. */
export function embeddingInputs(input: unknown): { items: Array<string | number[]>; single: boolean } {
  if (typeof input === 'string') return { items: [input], single: true }
  if (Array.isArray(input) && input.length > 0 && typeof input[0] === 'number') return { items: [input as number[]], single: true }
  return { items: input as Array<string | number[]>, single: false }
}

/**
 * `total` split among items in proportion to `weights` (characters of a text, tokens of a token
 * list), in whole numbers that add up to `total` (largest remainders get the leftovers).
 *
 * @example
 * ```ts
 * splitByWeight(10, [1, 1, 2]) // [3, 2, 5]
 * ```
 */
export function splitByWeight(total: number, weights: ReadonlyArray<number>): number[] {
  const sum = weights.reduce((all, weight) => all + weight, 0)
  if (sum === 0) return splitByWeight(total, weights.map(() => 1))
  const exact = weights.map((weight) => (total * weight) / sum)
  const shares = exact.map(Math.floor)
  let left = total - shares.reduce((all, share) => all + share, 0)
  const order = exact.map((value, index) => [value - Math.floor(value), index] as const).sort((a, b) => b[0] - a[0])
  for (let position = 0; left > 0 && order.length > 0; position = (position + 1) % order.length, left--) shares[order[position]![1]]!++
  return shares
}

/** `cost` times `fraction`, each part. */
export function scaleCost(cost: Cost, fraction: number): Cost {
  return { input: cost.input * fraction, output: cost.output * fraction, total: cost.total * fraction }
}

/** The sum of `costs`, or undefined when any one is unknown (a partial sum would pass for the whole). */
export function sumCosts(costs: ReadonlyArray<Cost | undefined>): Cost | undefined {
  const sum: Cost = { input: 0, output: 0, total: 0 }
  for (const cost of costs) {
    if (cost === undefined) return undefined
    sum.input += cost.input
    sum.output += cost.output
    sum.total += cost.total
  }
  return sum
}

/** An embedding reply of vectors, in input order, with the tokens they took. */
export function embeddingResponse(model: string, vectors: ReadonlyArray<number[] | string>, promptTokens: number): EmbeddingResponse {
  return {
    object: 'list',
    data: vectors.map((embedding, index) => ({ object: 'embedding', index, embedding })),
    model,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  }
}
