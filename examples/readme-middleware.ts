import { createClient, defineMiddleware } from 'llm-onion'

const audit = defineMiddleware(async function audit(ctx, next) {
  ctx.state.startedAt = performance.now()
  ctx.request.metadata = { ...ctx.request.metadata, team: 'search' } // change the request on the way in
  try {
    await next()
    console.log(`${ctx.id} ok in ${(performance.now() - Number(ctx.state.startedAt)).toFixed(1)} ms`, ctx.usage)
  } catch (error) {
    console.log(`${ctx.id} failed: ${(error as Error).message}`)
    throw error
  }
})

const cache = new Map<string, string>()
const answerFromCache = defineMiddleware(async function answerFromCache(ctx, next) {
  const key = JSON.stringify(ctx.request.messages)
  const hit = cache.get(key)
  if (hit !== undefined) {
    // answer without calling the provider
    ctx.response = { id: 'cache', object: 'chat.completion', created: 0, model: ctx.request.model, choices: [{ index: 0, message: { role: 'assistant', content: hit }, finish_reason: 'stop' }] }
    ctx.cacheHit = true
    return
  }
  await next()
  cache.set(key, ctx.chatResponse?.choices[0]?.message.content ?? '')
})

const client = createClient().use(audit, answerFromCache)
const request = { model: 'mock/any', messages: [{ role: 'user' as const, content: 'Cache me' }] }
await client.chat(request)
const second = await client.chat(request)
console.log('second call from cache:', second.id === 'cache')
await client.close()
