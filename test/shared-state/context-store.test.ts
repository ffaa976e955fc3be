/**
 * `ctx.store` on every call: the client's own memory store by default, the one given to
 * `createClient({ store })` otherwise, so a layer counts across processes when that store is Redis.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { createClient, memoryStore, redisStore, type Middleware } from 'llm-onion'
import { inspector, machineRedisUrl, removePrefix, uniquePrefix } from '../fakes/redis-server'

const messages = [{ role: 'user' as const, content: 'count me' }]
const counter: Middleware = async function counter(ctx, next) {
  await next()
  ctx.state.total = await ctx.store.increment('calls')
}

const prefix = uniquePrefix('context')
const redis = inspector()
afterAll(async () => {
  await removePrefix(redis, prefix)
  redis.disconnect()
})

describe('ctx.store', () => {
  it('is an in-memory store of the client by default, the same for every call', async () => {
    const client = createClient({ middleware: [counter] })
    for (let index = 0; index < 3; index++) await client.chat({ model: 'mock/a', messages })
    expect(client.services.store.kind).toBe('memory')
    expect(await client.services.store.get('calls')).toBe('3')
    // Another client counts apart.
    const other = createClient({ middleware: [counter] })
    await other.chat({ model: 'mock/a', messages })
    expect(await other.services.store.get('calls')).toBe('1')
    await client.close()
    await other.close()
  })

  it('is the store given to createClient: two clients on one Redis count together', async () => {
    const stores = [redisStore({ url: machineRedisUrl, prefix }), redisStore({ url: machineRedisUrl, prefix })]
    const clients = stores.map((store) => createClient({ store, middleware: [counter] }))
    await Promise.all(Array.from({ length: 10 }, (_, index) => clients[index % 2]!.chat({ model: 'mock/a', messages })))
    expect(await redis.get(`${prefix}calls`)).toBe('10')
    for (const client of clients) await client.close()
    // The client leaves a store it was given open: the caller closes it.
    expect(await stores[0]!.increment('calls')).toBe(11)
    for (const store of stores) await store.close()
  })

  it('reaches streamed calls too', async () => {
    const store = memoryStore()
    const client = createClient({ store, middleware: [counter] })
    for await (const _chunk of client.stream({ model: 'mock/a', messages })) void _chunk
    expect(await store.get('calls')).toBe('1')
    await client.close()
  })

  it('refuses a store that is not one, naming the option', () => {
    expect(() => createClient({ store: { increment: 1 } as never })).toThrow(/createClient\(\) options: store: must be a shared store/)
  })
})
