import { createClient } from 'llm-onion'

const client = createClient() // mock/... always; openai/... and gemini/... when OPENAI_API_KEY / GEMINI_API_KEY are set

client.use(async (ctx, next) => {
  console.log('calling', ctx.request.model)
  await next()
  console.log('done', ctx.usage, ctx.cost)
})

const reply = await client.chat({ model: 'mock/gpt-like', messages: [{ role: 'user', content: 'Hi' }] })
console.log(reply.choices[0]?.message.content)
await client.close() // flushes every exporter
