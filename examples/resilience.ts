// Resilience: retry inside, fallback outside, and a layer outside both that sees one call.
// Runs offline on the mock provider; a small layer at the centre plays the troubled provider.
import { createClient, type Context } from 'llm-onion'
import { fallback, retry, timeout } from 'llm-onion/middleware'

const client = createClient({ cost: { prices: { 'mock/backup-model': { input: 0.5, output: 1.5 } } } })

// Outside both: one logical call, however many attempts it took.
client.use(async function callLogger(ctx, next) {
  try {
    await next()
    console.log(`[call]    ${ctx.requestedModel}: answered by ${ctx.provider}/${ctx.model} after ${ctx.attempts.length} attempt(s), ${costOf(ctx)}`)
  } catch (error) {
    console.log(`[call]    ${ctx.requestedModel}: failed after ${ctx.attempts.length} attempt(s): ${(error as Error).message}`)
    throw error
  }
})

// Fallback outside retry: each model is retried before the next one is tried.
client.use(fallback({ models: ['mock/backup-model'] }))
client.use(retry({ retries: 2, minTimeoutMs: 20 }))
// Inside retry, a timeout bounds each attempt rather than the whole call.
client.use(timeout({ ms: 2_000 }))

// Inside retry: every attempt.
client.use(async function attemptLogger(ctx, next) {
  try {
    await next()
    console.log(`[attempt ${ctx.attempt}] ${ctx.request.model}: ok`)
  } catch (error) {
    console.log(`[attempt ${ctx.attempt}] ${ctx.request.model}: ${(error as Error).name}`)
    throw error
  }
})

// Plays the troubled provider: flaky-model is rate limited on its first attempt, down-model is always down.
client.use(async function simulatedTrouble(ctx, next) {
  const model = ctx.request.model
  const trouble =
    model === 'mock/flaky-model' && ctx.attempt === 1
      ? { status: 429, retry_after_ms: 100, message: 'Rate limited; retry in 100 ms.' }
      : model === 'mock/down-model'
        ? { status: 503, message: 'down-model is overloaded.' }
        : undefined
  ctx.request = { ...ctx.request, mock_error: trouble }
  await next()
})

function costOf(ctx: Context): string {
  return ctx.cost ? `cost $${ctx.cost.total.toFixed(8)}` : `no cost (${ctx.costUnknownReason?.split('.')[0]})`
}

const messages = [{ role: 'user' as const, content: 'Say hello' }]
await client.chat({ model: 'mock/flaky-model', messages })
await client.chat({ model: 'mock/down-model', messages })
await client.close()
