/**
 * The contestants of the in-process benchmark: a canned upstream in llm-onion's provider shape and
 * in the Vercel AI SDK's LanguageModelV3 shape (the same reply, the same chunks), and the same
 * three-layer chain written for each library.
 */
import { generateText, streamText, type LanguageModelMiddleware } from 'ai'
import type { LanguageModelV3, LanguageModelV3CallOptions, LanguageModelV3StreamPart } from '@ai-sdk/provider'
import type { ChatChunk, ChatRequest, ChatResponse } from '../src/schema'
import type { Middleware, Provider } from '../src/types'

export const fewChunks = 10
export const manyChunks = 1010

/**
 * The streams measured: `many` chunks; `few` chunks carrying the same text (the last one holds the
 * rest), so the slope between them is the cost per chunk and not per byte of reply; `fewShort`, few
 * chunks of the short text, for the cost that grows with the reply's length.
 */
export type StreamShape = 'few' | 'many' | 'fewShort'
const shapes: Record<StreamShape, { count: number; words: number }> = {
  few: { count: fewChunks, words: manyChunks },
  many: { count: manyChunks, words: manyChunks },
  fewShort: { count: fewChunks, words: fewChunks },
}
/** Content of chunk `index` of `shape`: one word, the last chunk taking the words left. */
function contentOf(shape: StreamShape, index: number): string {
  const { count, words } = shapes[shape]
  return index === count - 1 ? 'word '.repeat(words - count + 1) : 'word '
}

export async function drain(iterable: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of iterable) {
    // Reading is the work.
  }
}

export const noop: Middleware = async (_ctx, next) => {
  await next()
}

// ---------------------------------------------------------------- the canned upstream, both shapes
export const cannedResponse: ChatResponse = {
  id: 'chatcmpl-canned',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: 'The quick brown fox jumps over the lazy dog.' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 12, completion_tokens: 10, total_tokens: 22 },
}

function cannedChunks(shape: StreamShape): ChatChunk[] {
  const { count, words } = shapes[shape]
  const base = { id: 'chatcmpl-canned', object: 'chat.completion.chunk' as const, created: 1_700_000_000, model: 'gpt-4o-mini' }
  const chunks: ChatChunk[] = []
  for (let index = 0; index < count; index++) {
    const content = contentOf(shape, index)
    const delta = index === 0 ? { role: 'assistant' as const, content } : { content }
    chunks.push({ ...base, choices: [{ index: 0, delta, finish_reason: null }] })
  }
  chunks.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })
  chunks.push({ ...base, choices: [], usage: { prompt_tokens: 12, completion_tokens: words, total_tokens: 12 + words } })
  return chunks
}

const shapeNames = Object.keys(shapes) as StreamShape[]
const chunkSets = new Map(shapeNames.map((shape) => [shape, cannedChunks(shape)]))

/** The request says which stream to send (`bench_stream`), so one client serves every shape. */
export const cannedProvider: Provider = {
  name: 'canned',
  apiBase: 'http://canned.invalid/v1',
  async chat() {
    return cannedResponse
  },
  async *stream(request) {
    yield* chunkSets.get((request as { bench_stream?: StreamShape }).bench_stream ?? 'few')!
  },
  async embed() {
    return { object: 'list', model: 'text-embedding-3-small', data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }], usage: { prompt_tokens: 1, total_tokens: 1 } }
  },
}

export const request: ChatRequest = { model: 'canned/gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] }
export const streamRequest = (shape: StreamShape) => ({ ...request, bench_stream: shape }) as ChatRequest

// ---------------------------------------------------------------- the same chain, for llm-onion
const records = new Array<unknown>(1024)
let recorded = 0
export function ourChain(): Middleware[] {
  return [
    async function timingLog(ctx, next) {
      const started = performance.now()
      try {
        await next()
      } finally {
        records[recorded++ & 1023] = { model: ctx.model, ms: performance.now() - started, tokens: ctx.usage?.totalTokens }
      }
    },
    async function defaults(ctx, next) {
      ;(ctx.request as ChatRequest).temperature ??= 0.2
      await next()
    },
    async function chunkCounter(ctx, next) {
      let chunks = 0
      ctx.onChunk(() => {
        chunks++
      })
      await next()
      ctx.state.chunks = chunks
    },
  ]
}

// ---------------------------------------------------------------- the AI SDK side
const usageV3 = (output: number) => ({
  inputTokens: { total: 12, noCache: 12, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: output, text: output, reasoning: undefined },
})

function partsFor(shape: StreamShape): LanguageModelV3StreamPart[] {
  const { count, words } = shapes[shape]
  const parts: LanguageModelV3StreamPart[] = [{ type: 'stream-start', warnings: [] }, { type: 'text-start', id: 't' }]
  for (let index = 0; index < count; index++) parts.push({ type: 'text-delta', id: 't', delta: contentOf(shape, index) })
  parts.push({ type: 'text-end', id: 't' }, { type: 'finish', finishReason: { unified: 'stop', raw: 'stop' }, usage: usageV3(words) })
  return parts
}
const partSets = new Map(shapeNames.map((shape) => [shape, partsFor(shape)]))

/** A minimal LanguageModelV3 (ai/test's mock records every call, which would grow memory and add work). */
export function cannedModel(): LanguageModelV3 {
  return {
    specificationVersion: 'v3',
    provider: 'canned',
    modelId: 'gpt-4o-mini',
    supportedUrls: {},
    async doGenerate() {
      return {
        content: [{ type: 'text', text: 'The quick brown fox jumps over the lazy dog.' }],
        finishReason: { unified: 'stop', raw: 'stop' },
        usage: usageV3(10),
        warnings: [],
      }
    },
    async doStream(options) {
      const parts = partSets.get((options.providerOptions?.bench as { stream?: StreamShape } | undefined)?.stream ?? 'few')!
      return {
        stream: new ReadableStream<LanguageModelV3StreamPart>({
          start(controller) {
            for (const part of parts) controller.enqueue(part)
            controller.close()
          },
        }),
      }
    },
  }
}

export const aiNoop: LanguageModelMiddleware = { specificationVersion: 'v3', wrapGenerate: async ({ doGenerate }) => doGenerate(), wrapStream: async ({ doStream }) => doStream() }

export function aiChain(): LanguageModelMiddleware[] {
  return [
    {
      specificationVersion: 'v3',
      async wrapGenerate({ doGenerate, model }) {
        const started = performance.now()
        try {
          const result = await doGenerate()
          records[recorded++ & 1023] = { model: model.modelId, ms: performance.now() - started, tokens: result.usage.outputTokens.total }
          return result
        } catch (error) {
          records[recorded++ & 1023] = { model: model.modelId, ms: performance.now() - started }
          throw error
        }
      },
      async wrapStream({ doStream, model }) {
        const started = performance.now()
        const { stream, ...rest } = await doStream()
        return {
          ...rest,
          stream: stream.pipeThrough(
            new TransformStream({
              transform(part, controller) {
                controller.enqueue(part)
              },
              flush() {
                records[recorded++ & 1023] = { model: model.modelId, ms: performance.now() - started }
              },
            }),
          ),
        }
      },
    },
    { specificationVersion: 'v3', transformParams: async ({ params }) => ({ ...params, temperature: params.temperature ?? 0.2 }) },
    {
      specificationVersion: 'v3',
      async wrapStream({ doStream }) {
        const { stream, ...rest } = await doStream()
        let chunks = 0
        return {
          ...rest,
          stream: stream.pipeThrough(
            new TransformStream({
              transform(part, controller) {
                chunks++
                controller.enqueue(part)
              },
              flush() {
                records[recorded++ & 1023] = chunks
              },
            }),
          ),
        }
      },
    },
  ]
}

export const aiCallOptions: LanguageModelV3CallOptions = { prompt: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }] }
export const aiGenerate = (model: LanguageModelV3) => () => generateText({ model, prompt: 'Hi' })
export const aiStream = (model: LanguageModelV3, shape: StreamShape) => () =>
  drain(streamText({ model, prompt: 'Hi', providerOptions: { bench: { stream: shape } } }).textStream)
