import { createClient } from 'llm-onion'

const client = createClient()
client.use(async (ctx, next) => {
  let chunks = 0
  ctx.onChunk(() => {
    chunks++
  })
  await next() // resolves after the last chunk has reached the loop below
  console.log(`\n${chunks} chunks, ${ctx.usage?.outputTokens} output tokens, first chunk after ${ctx.timing.firstChunk! - ctx.timing.start} ms`)
})

for await (const chunk of client.stream({ model: 'mock/any', messages: [{ role: 'user', content: 'Stream please' }] })) {
  process.stdout.write(chunk.choices[0]?.delta?.content ?? '')
}
await client.close()
