/**
 * wrapChunkStream(): a layer gets a streamed call's chunks as an async iterable and returns the
 * chunks to send on; wrappers registered inside a retry are dropped between attempts, as `onChunk`
 * functions are.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { retry } from '../middleware/retry'
import { createClient, wrapChunkStream, type ChatChunk, type Client } from '../src/index'

const messages = [{ role: 'user' as const, content: 'hi' }]
let client: Client | undefined
afterEach(async () => {
  await client?.close()
  client = undefined
})

async function collect(stream: AsyncIterable<ChatChunk>): Promise<string[]> {
  const contents: string[] = []
  for await (const chunk of stream) if (chunk.choices[0]?.delta?.content) contents.push(chunk.choices[0].delta.content)
  return contents
}

describe('wrapChunkStream', () => {
  it('lets a layer buffer the stream and send fewer, changed chunks; onChunk functions outside see what it yields', async () => {
    client = createClient()
    const seenOutside: string[] = []
    client.use(
      async (ctx, next) => {
        ctx.onChunk((chunk) => void seenOutside.push(chunk.choices[0]?.delta?.content ?? ''))
        await next()
      },
      async (ctx, next) => {
        wrapChunkStream(ctx, async function* joinAll(chunks) {
          let text = ''
          let last: ChatChunk | undefined
          for await (const chunk of chunks) {
            text += chunk.choices[0]?.delta?.content ?? ''
            last = chunk
          }
          yield { ...last!, choices: [{ index: 0, delta: { role: 'assistant', content: `[${text}]` }, finish_reason: 'stop' }] }
        })
        await next()
      },
    )
    expect(await collect(client.stream({ model: 'mock/x', messages, mock_response: 'one two three' }))).toEqual(['[one two three]'])
    expect(seenOutside).toEqual(['[one two three]'])
  })

  it('applies to a reply a layer gave by itself, delivered as chunks', async () => {
    client = createClient()
    client.use(
      async (ctx, next) => {
        wrapChunkStream(ctx, async function* upper(chunks) {
          for await (const chunk of chunks) yield { ...chunk, choices: chunk.choices.map((choice) => ({ ...choice, delta: { ...choice.delta, content: choice.delta.content?.toUpperCase() } })) }
        })
        await next()
      },
      async (ctx) => {
        ctx.response = { id: 'own', object: 'chat.completion', created: 0, model: 'x', choices: [{ index: 0, message: { role: 'assistant', content: 'cached answer' }, finish_reason: 'stop' }] }
      },
    )
    expect((await collect(client.stream({ model: 'mock/x', messages }))).join('')).toBe('CACHED ANSWER')
  })

  it('drops the wrappers of a failed attempt inside a retry, so each attempt wraps the stream once', async () => {
    client = createClient()
    let attempt = 0
    client.use(retry({ retries: 1, minTimeoutMs: 1, maxTimeoutMs: 1 }), async (ctx, next) => {
      attempt++
      wrapChunkStream(ctx, async function* mark(chunks) {
        for await (const chunk of chunks) yield { ...chunk, choices: chunk.choices.map((choice) => ({ ...choice, delta: { ...choice.delta, content: choice.delta.content && `<${choice.delta.content}>` } })) }
      })
      if (attempt === 1) ctx.request = { ...ctx.request, mock_error: { status: 500 } } as typeof ctx.request
      else ctx.request = { ...ctx.request, mock_error: undefined } as typeof ctx.request
      await next()
    })
    expect(await collect(client.stream({ model: 'mock/x', messages, mock_response: 'a b' }))).toEqual(['<a>', '< b>'])
  })
})
