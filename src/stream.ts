/**
 * Stream plumbing: the hand-off between the onion (producer) and the caller's `for await` (consumer),
 * and the assembly of chunks into the response a non-streamed call would return.
 */
import { AbortError } from './errors'
import type { ChatChunk, ChatResponse, ProviderUsage, ToolCall } from './schema'

type Pending<T> = { resolve: (value: T) => void; reject: (error: unknown) => void }

/**
 * One-slot rendezvous between producer and consumer. The producer hands over a chunk and then waits
 * until the consumer asks for the next one, so the provider is read no faster than the caller reads.
 */
export class ChunkChannel {
  #pull?: Pending<IteratorResult<ChatChunk>>
  #nextPull?: Pending<void>
  #cancelled?: Error
  #pulled = false
  #final?: { error?: unknown }

  /** Consumer: waits for the next chunk, or `done` once `finish()` is called. */
  pull(): Promise<IteratorResult<ChatChunk>> {
    const final = this.#final
    if (final) {
      // The error is thrown once; later pulls see a finished stream, as with any async iterator.
      this.#final = {}
      return final.error === undefined ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(final.error)
    }
    return new Promise((resolve, reject) => {
      this.#pull = { resolve, reject }
      this.#pulled = true
      const waiting = this.#nextPull
      this.#nextPull = undefined
      waiting?.resolve()
    })
  }

  /** Producer: hands `chunk` to the waiting consumer, then resolves once the consumer asks for more. */
  deliver(chunk: ChatChunk): Promise<void> {
    if (this.#cancelled) return Promise.reject(this.#cancelled)
    const pull = this.#pull
    this.#pull = undefined
    this.#pulled = false
    if (!pull) return Promise.reject(new Error('llm-onion internal error: a chunk was produced before the caller asked for one.'))
    return new Promise<void>((resolve, reject) => {
      this.#nextPull = { resolve, reject }
      pull.resolve({ value: chunk, done: false })
    }).then(() => {
      if (this.#cancelled) throw this.#cancelled
    })
  }

  /** Producer: waits until the consumer has asked for a chunk (it may already have). */
  waitForPull(): Promise<void> {
    if (this.#cancelled) return Promise.reject(this.#cancelled)
    if (this.#pulled) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      this.#nextPull = { resolve, reject }
    })
  }

  /** The onion settled: ends the consumer's loop, or throws the error out of it. */
  finish(error?: unknown): void {
    const pull = this.#pull
    this.#pull = undefined
    if (!pull) {
      this.#final = { error }
      return
    }
    this.#final = {}
    if (error === undefined) pull.resolve({ value: undefined, done: true })
    else pull.reject(error)
  }

  /** Consumer stopped early: the producer's pending hand-off rejects with `AbortError`. */
  cancel(error: Error = new AbortError('The caller stopped reading the stream.')): void {
    this.#cancelled = error
    const waiting = this.#nextPull
    this.#nextPull = undefined
    waiting?.reject(error)
  }
}

/**
 * Accumulates chunks into a {@link ChatResponse}: content and tool-call arguments concatenated per
 * choice, the last finish reason, and usage from whichever chunk carried it.
 *
 * @example
 * ```ts
 * const assembler = new ChunkAssembler()
 * for await (const chunk of client.stream(request)) assembler.add(chunk)
 * console.log(assembler.response().choices[0].message.content)
 * ```
 */
export class ChunkAssembler {
  #id = ''
  #model = ''
  #created = 0
  #fingerprint: string | null | undefined
  #usage?: ProviderUsage
  #choices: Array<{ content: string; sawContent: boolean; refusal?: string; finish: string | null; tools: ToolCall[] }> = []
  count = 0

  add(chunk: ChatChunk): void {
    this.count++
    if (chunk.id) this.#id = chunk.id
    if (chunk.model) this.#model = chunk.model
    if (chunk.created) this.#created = chunk.created
    if (chunk.system_fingerprint !== undefined) this.#fingerprint = chunk.system_fingerprint
    if (chunk.usage) this.#usage = chunk.usage
    for (const choice of chunk.choices ?? []) {
      const slot = (this.#choices[choice.index] ??= { content: '', sawContent: false, finish: null, tools: [] })
      const delta = choice.delta ?? {}
      if (typeof delta.content === 'string') {
        slot.content += delta.content
        slot.sawContent = true
      }
      if (typeof delta.refusal === 'string') slot.refusal = (slot.refusal ?? '') + delta.refusal
      for (const call of delta.tool_calls ?? []) {
        const tool = (slot.tools[call.index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } })
        if (call.id) tool.id = call.id
        if (call.function?.name) tool.function.name += call.function.name
        if (call.function?.arguments) tool.function.arguments += call.function.arguments
      }
      if (choice.finish_reason) slot.finish = choice.finish_reason
    }
  }

  get usage(): ProviderUsage | undefined {
    return this.#usage
  }

  response(): ChatResponse {
    const response: ChatResponse = {
      id: this.#id,
      object: 'chat.completion',
      created: this.#created,
      model: this.#model,
      choices: this.#choices.map((slot, index) => {
        const message: ChatResponse['choices'][number]['message'] = {
          role: 'assistant',
          content: slot.sawContent || slot.tools.length === 0 ? slot.content : null,
        }
        if (slot.tools.length > 0) message.tool_calls = slot.tools.filter(Boolean)
        if (slot.refusal !== undefined) message.refusal = slot.refusal
        return { index, message, finish_reason: slot.finish }
      }),
    }
    if (this.#usage) response.usage = this.#usage
    if (this.#fingerprint !== undefined) response.system_fingerprint = this.#fingerprint
    return response
  }
}

/** A complete response as the chunks a stream of it would carry (for short-circuits and caches). */
export function responseToChunks(response: ChatResponse): ChatChunk[] {
  const base = { id: response.id, object: 'chat.completion.chunk' as const, created: response.created, model: response.model }
  const chunks: ChatChunk[] = []
  for (const choice of response.choices) {
    const delta: ChatChunk['choices'][number]['delta'] = { role: 'assistant', content: choice.message.content ?? '' }
    if (choice.message.tool_calls) {
      delta.tool_calls = choice.message.tool_calls.map((call, index) => ({ index, ...call }))
    }
    chunks.push({ ...base, choices: [{ index: choice.index, delta, finish_reason: null }] })
    chunks.push({ ...base, choices: [{ index: choice.index, delta: {}, finish_reason: choice.finish_reason ?? 'stop' }] })
  }
  if (response.usage) chunks.push({ ...base, choices: [], usage: response.usage })
  return chunks
}
