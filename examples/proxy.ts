/**
 * The proxy in-process: starts it with the guide's config (examples/proxy/config.yaml and its
 * callback module), talks to it with the official `openai` SDK — chat, stream, embeddings, models —
 * and stops it. Offline: the config's models run on the mock provider.
 * Run: npx tsx examples/proxy.ts
 */
import OpenAI from 'openai'
import { createProxyServer } from 'llm-onion/proxy'

const proxy = await createProxyServer({ config: 'examples/proxy/config.yaml' })
const { url } = await proxy.listen({ port: 0 })
console.log(`proxy listening on ${url}`)

// Any OpenAI client works: point its base URL at the proxy. Without a master key any apiKey is accepted.
const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'sk-no-master-key-set' })

const reply = await openai.chat.completions.create({
  model: 'gpt-3.5-turbo',
  messages: [{ role: 'user', content: 'Test proxy callback' }],
  user: 'proxy-test-user',
})
console.log('chat:', reply.choices[0]?.message.content)

const stream = await openai.chat.completions.create({
  model: 'gpt-3.5-turbo',
  messages: [{ role: 'user', content: 'Stream this' }],
  stream: true,
})
let streamed = ''
for await (const chunk of stream) streamed += chunk.choices[0]?.delta?.content ?? ''
console.log('stream:', streamed)

const embedding = await openai.embeddings.create({ model: 'text-embedding-3-small', input: 'a sentence to embed' })
console.log('embedding dimensions:', embedding.data[0]?.embedding.length)

const models = await openai.models.list()
console.log('models:', models.data.map((model) => model.id).join(', '))

// Graceful stop: requests in flight finish, then the callback module's async hooks and every exporter flush.
await proxy.close()
