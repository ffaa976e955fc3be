import { afterEach, describe, expect, it } from 'vitest'
import { createClient, type Client, type Middleware } from '../src/index'

const messages = [{ role: 'user' as const, content: 'hello onion' }]
let client: Client
afterEach(async () => client?.close())

function recorder(name: string, log: string[]): Middleware {
  return async (_ctx, next) => {
    log.push(`${name} before`)
    await next()
    log.push(`${name} after`)
  }
}

describe('the onion', () => {
  for (const kind of ['chat', 'stream', 'embed'] as const) {
    it(`runs three layers outermost-first on the way in and innermost-first on the way out (${kind})`, async () => {
      const log: string[] = []
      client = createClient().use(recorder('a', log), recorder('b', log)).use(recorder('c', log))
      if (kind === 'chat') await client.chat({ model: 'mock/x', messages })
      if (kind === 'embed') await client.embed({ model: 'mock/x', input: 'hello' })
      if (kind === 'stream') for await (const _chunk of client.stream({ model: 'mock/x', messages })) log.push('chunk')
      const layerOrder = log.filter((entry) => entry !== 'chunk')
      expect(layerOrder).toEqual(['a before', 'b before', 'c before', 'c after', 'b after', 'a after'])
    })
  }

  it('puts the layers given to createClient outside those added with use()', async () => {
    const log: string[] = []
    client = createClient({ middleware: [recorder('first', log)] }).use(recorder('second', log))
    await client.chat({ model: 'mock/x', messages })
    expect(log).toEqual(['first before', 'second before', 'second after', 'first after'])
  })

  it('sends the request as a layer changed it before next()', async () => {
    client = createClient().use(async (ctx, next) => {
      ctx.request = { ...ctx.request, mock_response: 'changed by a layer' }
      await next()
    })
    const reply = await client.chat({ model: 'mock/x', messages })
    expect(reply.choices[0]!.message.content).toBe('changed by a layer')
  })

  it('lets a layer redirect the call to another model before next()', async () => {
    client = createClient({ aliases: { cheap: 'mock/cheap-model' } }).use(async (ctx, next) => {
      ctx.request.model = 'cheap'
      await next()
    })
    const reply = await client.chat({ model: 'mock/expensive', messages })
    expect(reply.model).toBe('cheap-model')
  })

  it('routes every model to its provider, beyond the routes it remembers', async () => {
    client = createClient({ aliases: { cheap: 'mock/cheap-model' } })
    for (let index = 0; index < 300; index++) {
      const reply = await client.chat({ model: `mock/model-${index}`, messages })
      expect(reply.model).toBe(`model-${index}`)
    }
    expect((await client.chat({ model: 'cheap', messages })).model).toBe('cheap-model')
    await expect(client.chat({ model: 'nowhere/model', messages })).rejects.toThrow(/No provider serves model "nowhere\/model"/)
  })

  it('refuses providers and aliases added after it was created (routes are remembered)', () => {
    client = createClient({ aliases: { cheap: 'mock/cheap-model' } })
    expect(() => {
      ;(client.providers as Record<string, unknown>).late = client.providers.mock
    }).toThrow(TypeError)
    expect(() => {
      ;(client.aliases as Record<string, string>).fast = 'mock/fast'
    }).toThrow(TypeError)
  })

  it('answers a chat call from a layer that sets ctx.response without calling next()', async () => {
    let providerReached = false
    client = createClient()
      .use(async (ctx, next) => {
        ctx.response = {
          id: 'cached', object: 'chat.completion', created: 1, model: 'cache',
          choices: [{ index: 0, message: { role: 'assistant', content: 'from cache' }, finish_reason: 'stop' }],
        }
        ctx.cacheHit = true
        void next
      })
      .use(async (_ctx, next) => {
        providerReached = true
        await next()
      })
    const reply = await client.chat({ model: 'mock/x', messages })
    expect(reply.choices[0]!.message.content).toBe('from cache')
    expect(providerReached).toBe(false)
  })

  it('delivers a short-circuit response to a streamed call as chunks, through the outer chunk functions', async () => {
    client = createClient()
      .use(async (ctx, next) => {
        ctx.onChunk((chunk) => {
          const delta = chunk.choices[0]?.delta
          if (delta?.content) return { ...chunk, choices: [{ ...chunk.choices[0]!, delta: { ...delta, content: delta.content.toUpperCase() } }] }
        })
        await next()
      })
      .use(async (ctx) => {
        ctx.response = {
          id: 'cached', object: 'chat.completion', created: 1, model: 'cache',
          choices: [{ index: 0, message: { role: 'assistant', content: 'cached words' }, finish_reason: 'stop' }],
        }
      })
    let text = ''
    let finish: string | null = null
    for await (const chunk of client.stream({ model: 'mock/x', messages })) {
      text += chunk.choices[0]?.delta?.content ?? ''
      finish = chunk.choices[0]?.finish_reason ?? finish
    }
    expect(text).toBe('CACHED WORDS')
    expect(finish).toBe('stop')
  })

  it('surfaces a throw in a layer to the caller unchanged', async () => {
    const thrown = new Error('guardrail refused')
    client = createClient().use(async () => {
      throw thrown
    })
    await expect(client.chat({ model: 'mock/x', messages })).rejects.toBe(thrown)
  })

  it('surfaces a throw in a layer of a streamed call from the caller loop unchanged', async () => {
    const thrown = new Error('stream guardrail refused')
    client = createClient().use(async () => {
      throw thrown
    })
    const read = async () => {
      for await (const _chunk of client.stream({ model: 'mock/x', messages })) void _chunk
    }
    await expect(read()).rejects.toBe(thrown)
  })

  it('carries ctx.state from before next() to after it, separately per call', async () => {
    const seen: unknown[] = []
    client = createClient().use(async (ctx, next) => {
      ctx.state.marker = ctx.request.model
      await next()
      seen.push(ctx.state.marker)
    })
    await Promise.all([client.chat({ model: 'mock/one', messages }), client.chat({ model: 'mock/two', messages })])
    expect(seen.sort()).toEqual(['mock/one', 'mock/two'])
  })

  it('gives every call a unique id and exposes user and metadata from the request', async () => {
    const contexts: Array<{ id: string; user?: string; metadata: unknown }> = []
    client = createClient().use(async (ctx, next) => {
      await next()
      contexts.push({ id: ctx.id, user: ctx.user, metadata: ctx.metadata })
    })
    await client.chat({ model: 'mock/x', messages, user: 'user-123', metadata: { customer_id: 'cust_abc' } })
    await client.chat({ model: 'mock/x', messages })
    expect(contexts[0]!.id).not.toBe(contexts[1]!.id)
    expect(contexts[0]).toMatchObject({ user: 'user-123', metadata: { customer_id: 'cust_abc' } })
  })

  it('fills usage, provider, model and timing for the layers after next()', async () => {
    let seen: Record<string, unknown> = {}
    client = createClient().use(async (ctx, next) => {
      await next()
      seen = { usage: ctx.usage, provider: ctx.provider, model: ctx.model, start: ctx.timing.start, end: ctx.timing.end }
    })
    await client.chat({ model: 'mock/echo', messages, mock_response: 'one two three' })
    expect(seen.usage).toEqual({ inputTokens: 3, outputTokens: 3, totalTokens: 6 })
    expect(seen.provider).toBe('mock')
    expect(seen.model).toBe('echo')
    expect(seen.end as number).toBeGreaterThanOrEqual(seen.start as number)
  })

  it('makes flush() wait for work registered with ctx.waitUntil', async () => {
    let finished = false
    client = createClient().use(async (ctx, next) => {
      await next()
      ctx.waitUntil(new Promise<void>((resolve) => setTimeout(() => { finished = true; resolve() }, 30)))
    })
    await client.chat({ model: 'mock/x', messages })
    expect(finished).toBe(false)
    await client.flush()
    expect(finished).toBe(true)
  })

  it('rejects a layer that is not a function with a message saying what to pass', () => {
    client = createClient()
    expect(() => client.use('helicone' as never)).toThrow(/callbacks\(\{ success: \['helicone'\] \}\)/)
  })

  it('rejects a second call of next() in one layer (the koa-compose guard)', async () => {
    client = createClient().use(async (_ctx, next) => {
      await next()
      await next()
    })
    await expect(client.chat({ model: 'mock/x', messages })).rejects.toThrow(/next\(\) called multiple times/)
  })

  it('fails with a hint when a layer neither calls next() nor sets a response', async () => {
    client = createClient().use(async () => {})
    await expect(client.chat({ model: 'mock/x', messages })).rejects.toThrow(/forget to `await next\(\)`/)
  })
})
