/**
 * The response cache: a repeated call is answered without the provider, logged with cacheHit, a
 * cost of 0 and the cost it saved; a stream is replayed as a stream; an embedding batch asks the
 * provider only for inputs it has not seen; a request's `cache` field steers one call, as LiteLLM's
 * does. In memory here; with REDIS_URL set, the same code caches on Redis (each run under a
 * namespace of its own, so runs do not answer each other).
 */
import { createClient } from 'llm-onion'
import { cache, observer } from 'llm-onion/middleware'

const client = createClient({ cost: { prices: { 'mock/house-model': { input: 3, output: 15 } } } })
const lines: string[] = []
client.use(
  observer({
    onSuccess: (event) => {
      const saved = event.savedCost ? `, saved $${event.savedCost.total.toFixed(6)}` : ''
      lines.push(`${event.type} cacheHit=${event.cacheHit} cost=$${event.cost?.total.toFixed(6)}${saved}`)
    },
    await: true,
  }),
)
client.use(cache({ ttlSeconds: 3600, namespace: `example-${process.pid}` }))

const request = { model: 'mock/house-model', messages: [{ role: 'user' as const, content: 'What is a cache?' }] }
const first = await client.chat(request)                      // the provider answers
const second = await client.chat(request)                     // the cache answers
await client.chat({ ...request, cache: { 'no-cache': true } }) // the provider again (and the reply is stored)
await client.chat({ ...request, cache: { 's-maxage': 60 } })   // only an entry at most 60 s old will do

let streamed = ''
for await (const chunk of client.stream(request)) streamed += chunk.choices[0]?.delta?.content ?? '' // replayed as chunks

await client.embed({ model: 'mock/house-model', input: ['red', 'green'] })
await client.embed({ model: 'mock/house-model', input: ['green', 'blue'] }) // the provider embeds 'blue' only

await client.close()
for (const line of lines) console.log(line)
if (second.choices[0]?.message.content !== first.choices[0]?.message.content || streamed !== first.choices[0]?.message.content) throw new Error('the cache answered something else')
const hits = lines.filter((line) => line.includes('cacheHit=true')).length
if (hits !== 3) throw new Error(`expected 3 cache hits, saw ${hits}`)
