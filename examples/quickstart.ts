/**
 * The demo: a few layers around the mock provider, and what each sees for a normal call,
 * a streamed call and a failing call. Run it with `npm run demo`.
 */
import { createClient, defineMiddleware, isLlmError } from 'llm-onion'

const client = createClient() // the mock provider is always there; no key, no network

// Outermost: times the whole call, whatever happens inside.
const timing = defineMiddleware(async function timing(ctx, next) {
  const started = performance.now()
  try {
    await next()
  } finally {
    console.log(`[timing]  ${ctx.id.slice(0, 8)} ${ctx.request.model} took ${(performance.now() - started).toFixed(2)} ms`)
  }
})

// Logs the request on the way in and the outcome on the way out: LiteLLM's pre-call, success and failure hooks.
const logging = defineMiddleware(async function logging(ctx, next) {
  console.log(`[logging] → ${ctx.type}${ctx.streaming ? ' (stream)' : ''} ${ctx.request.model} user=${ctx.user ?? '-'}`)
  try {
    await next()
    const reply = ctx.chatResponse?.choices[0]?.message.content
    console.log(`[logging] ← success: ${JSON.stringify(reply)} usage=${JSON.stringify(ctx.usage)}`)
  } catch (error) {
    console.log(`[logging] ← failure: ${(error as Error).name}: ${(error as Error).message}`)
    throw error
  }
})

// Per chunk: counts chunks and upper-cases the streamed text before the caller sees it.
const shout = defineMiddleware(async function shout(ctx, next) {
  let chunks = 0
  ctx.onChunk((chunk) => {
    chunks++
    const choice = chunk.choices[0]
    if (!choice?.delta.content) return
    return { ...chunk, choices: [{ ...choice, delta: { ...choice.delta, content: choice.delta.content.toUpperCase() } }] }
  })
  await next()
  if (ctx.streaming) console.log(`[shout]   ${chunks} chunks passed through`)
})

client.use(timing, logging, shout)

const messages = [{ role: 'user' as const, content: 'Tell me about onions' }]

console.log('--- a normal call')
const reply = await client.chat({ model: 'mock/demo', messages, user: 'user-123' })
console.log(`[caller]  ${reply.choices[0]?.message.content}`)

console.log('\n--- a streamed call')
let streamed = ''
for await (const chunk of client.stream({ model: 'mock/demo', messages, mock_response: 'Layers all the way down' })) {
  streamed += chunk.choices[0]?.delta.content ?? ''
}
console.log(`[caller]  ${streamed}`)

console.log('\n--- a failing call')
try {
  await client.chat({ model: 'mock/demo', messages, mock_error: { status: 429, message: 'Rate limit reached' } })
} catch (error) {
  console.log(`[caller]  caught ${isLlmError(error) ? `${error.name} (status ${error.status}, retryable ${error.retryable})` : error}`)
}

await client.close()
