/**
 * The shared store in a script: two clients stand for two worker processes. Given one store, the
 * guide's request counter (examples/proxy/request_counter.ts) counts the calls of both. With
 * REDIS_URL set the store is Redis, and separate processes would share it the same way.
 */
import { createClient, memoryStore, redisStore } from 'llm-onion'
import { observer } from 'llm-onion/middleware'
import { request_counter_instance } from './proxy/request_counter'

const store = process.env.REDIS_URL ? redisStore({ url: process.env.REDIS_URL, prefix: `llm-onion-example-${process.pid}:` }) : memoryStore()
const clients = [createClient({ store }), createClient({ store })]
for (const client of clients) {
  client.use(observer({ onSuccess: (event, ctx) => request_counter_instance.onSuccess(event, ctx), await: true }))
}

for (const [index, client] of clients.entries()) {
  await client.chat({ model: 'mock/gpt-3.5-turbo', messages: [{ role: 'user', content: `hello from client ${index}` }] })
  await client.chat({ model: 'mock/gpt-3.5-turbo', messages: [{ role: 'user', content: `again from client ${index}` }] })
}
const total = await store.get('request_count')
console.log(`request_count in the ${store.kind} store: ${total}`)
if (total !== '4') throw new Error(`expected 4 requests counted, found ${total}`)

await store.delete('request_count')
for (const client of clients) await client.close()
await store.close()
