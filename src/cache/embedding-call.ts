/**
 * An embedding call through the cache, one entry per input: the inputs already cached are answered
 * from it, and the layers inside (the provider) are asked only for the rest, in one call; the reply
 * puts every vector back in the order of the request. Each new vector is stored with its share of
 * the batch's tokens and cost (in proportion to its length), so a later hit knows what it saved.
 */
import type { Context } from '../context'
import { LlmError } from '../errors'
import type { EmbeddingRequest, EmbeddingResponse } from '../schema'
import { embeddingInputs, embeddingResponse, entryVersion, parseEntry, scaleCost, splitByWeight, sumCosts, type EmbeddingEntry } from './entries'

/** What the cache layer lends a call: how to key a request, and reads and writes bound to its store and controls. */
export interface CacheAccess {
  /** The store key of `request` (the namespace in front). */
  keyOf(request: object): string
  /** Absent when the request said `no-cache`. */
  read?: (key: string) => Promise<string | undefined>
  /** Absent when the request said `no-store`; scrubs and stores the text with the call's time to live. */
  write?: (key: string, text: string) => Promise<void>
  /** A cached entry older than this is a miss (`s-maxage`). */
  maxAgeMs?: number
}

/**
 * Runs an embedding call through the cache: all inputs cached answers it without `next()`, some
 * cached asks the layers inside for the others only.
 *
 * @example
 * ```ts
 * if (ctx.type === 'embedding') return cachedEmbeddingCall(ctx, next, access)
 * ```
 */
export async function cachedEmbeddingCall(ctx: Context, next: () => Promise<void>, access: CacheAccess): Promise<void> {
  const request = ctx.request as EmbeddingRequest
  const { items } = embeddingInputs(request.input)
  const keys = items.map((item) => access.keyOf({ ...request, input: item }))
  const now = Date.now()
  const read = access.read
  const cached: Array<EmbeddingEntry | undefined> = read ? await Promise.all(keys.map(async (key) => parseEntry(await read(key), 'embedding', now, access.maxAgeMs))) : keys.map(() => undefined)
  const missing = cached.flatMap((entry, index) => (entry === undefined ? [index] : []))
  if (missing.length === 0) return answer(ctx, cached as EmbeddingEntry[])

  const partial = missing.length < items.length
  if (partial) ctx.request = { ...request, input: missing.map((index) => items[index]!) as EmbeddingRequest['input'] }
  try {
    await next()
  } finally {
    if (partial) ctx.request = request
  }
  const response = ctx.response as EmbeddingResponse | undefined
  if (!response || ctx.providerCalls === 0) return
  if (response.data.length !== missing.length) {
    if (!partial) return
    throw new LlmError(`The provider answered ${response.data.length} embeddings for the ${missing.length} inputs the cache asked it for; the reply cannot be put together. Retry the call, or send it with cache: { 'no-cache': true }.`, { status: 502, retryable: true, model: ctx.requestedModel, provider: ctx.provider })
  }
  const fresh = [...response.data].sort((first, second) => first.index - second.index)
  const weights = missing.map((index) => Math.max(1, items[index]!.length))
  const totalTokens = response.usage?.prompt_tokens ?? 0
  const tokens = splitByWeight(totalTokens, weights)
  const weightSum = weights.reduce((sum, weight) => sum + weight, 0)
  if (access.write) {
    const createdAt = Date.now()
    await Promise.all(
      missing.map((index, position) => {
        const share = totalTokens > 0 ? tokens[position]! / totalTokens : weights[position]! / weightSum
        const entry: EmbeddingEntry = {
          v: entryVersion,
          kind: 'embedding',
          createdAt,
          provider: ctx.provider,
          model: ctx.model,
          responseModel: response.model,
          cost: ctx.cost ? scaleCost(ctx.cost, share) : undefined,
          embedding: fresh[position]!.embedding,
          promptTokens: tokens[position]!,
        }
        return access.write!(keys[index]!, JSON.stringify(entry))
      }),
    )
  }
  if (!partial) return
  // The reply the caller asked for: every vector in request order, the tokens of all of them.
  const freshByIndex = new Map(missing.map((index, position) => [index, fresh[position]!.embedding]))
  const cachedTokens = cached.reduce((sum, entry) => sum + (entry?.promptTokens ?? 0), 0)
  const vectors = items.map((_, index) => cached[index]?.embedding ?? freshByIndex.get(index)!)
  ctx.response = embeddingResponse(response.model, vectors, totalTokens + cachedTokens)
  ctx.usage = { inputTokens: totalTokens + cachedTokens, outputTokens: 0, totalTokens: totalTokens + cachedTokens }
  ctx.savedCost = sumCosts(cached.filter((entry) => entry !== undefined).map((entry) => entry.cost))
}

/** Every input was cached: the reply from the cache alone. */
function answer(ctx: Context, entries: EmbeddingEntry[]): void {
  const first = entries[0]!
  const tokens = entries.reduce((sum, entry) => sum + entry.promptTokens, 0)
  ctx.cacheHit = true
  if (first.provider !== undefined) ctx.provider = first.provider
  if (first.model !== undefined) ctx.model = first.model
  ctx.responseModel = first.responseModel
  ctx.response = embeddingResponse(first.responseModel ?? ctx.model, entries.map((entry) => entry.embedding), tokens)
  ctx.usage = { inputTokens: tokens, outputTokens: 0, totalTokens: tokens }
  ctx.cost = { input: 0, output: 0, total: 0 }
  ctx.costUnknownReason = undefined
  ctx.savedCost = sumCosts(entries.map((entry) => entry.cost))
}
