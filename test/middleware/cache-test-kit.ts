/**
 * What the cache tests share: the mock provider with a count of what reached it, a shared store that
 * records every key and value written to it, and a stream read to the end.
 */
import { memoryStore, mock, type ChatChunk, type EmbeddingRequest, type Provider, type SharedStore } from 'llm-onion'

/** The mock provider, counting the calls that reach it and keeping the embedding inputs it was sent. */
export function countingMock(): Provider & { calls: { chat: number; stream: number; embed: number }; embedInputs: unknown[] } {
  const inner = mock()
  const calls = { chat: 0, stream: 0, embed: 0 }
  const embedInputs: unknown[] = []
  return {
    name: 'mock',
    calls,
    embedInputs,
    chat(request, call) {
      calls.chat++
      return inner.chat(request, call)
    },
    stream(request, call) {
      calls.stream++
      return inner.stream(request, call)
    },
    embed(request: EmbeddingRequest, call) {
      calls.embed++
      embedInputs.push(request.input)
      return inner.embed(request, call)
    },
  }
}

/** A memory store that keeps every key and value ever written to it, for tests that look at what left the call. */
export function recordingStore(): SharedStore & { written: Array<{ key: string; value: string; ttlMs?: number }> } {
  const inner = memoryStore()
  const written: Array<{ key: string; value: string; ttlMs?: number }> = []
  return {
    ...inner,
    kind: inner.kind,
    written,
    set(key, value, options) {
      written.push({ key, value, ttlMs: options?.ttlMs })
      return inner.set(key, value, options)
    },
  }
}

/** Every chunk of a stream. */
export async function readAll(stream: AsyncIterable<ChatChunk>): Promise<ChatChunk[]> {
  const chunks: ChatChunk[] = []
  for await (const chunk of stream) chunks.push(chunk)
  return chunks
}

/** The text a stream's chunks carry. */
export function textOf(chunks: ReadonlyArray<ChatChunk>): string {
  return chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('')
}
