/**
 * Virtual keys, as a LiteLLM proxy user scripts them: the admin makes a key with a budget and a rate
 * limit using the master key, an application calls with it through the official `openai` SDK, and
 * `/key/info` reports what it spent. Offline: the model runs on the mock provider.
 * Run: npx tsx examples/proxy-keys.ts
 */
import OpenAI from 'openai'
import { createProxyServer } from 'llm-onion/proxy'

const proxy = await createProxyServer({ config: 'examples/proxy/keys.yaml' })
const { url } = await proxy.listen({ port: 0 })
const admin = { authorization: 'Bearer sk-1234', 'content-type': 'application/json' }

// The admin: a key for one model, $5 per 30 days, 2 requests per minute.
const generated = await fetch(`${url}/key/generate`, {
  method: 'POST',
  headers: admin,
  body: JSON.stringify({ models: ['gpt-4o-mini'], max_budget: 5, budget_duration: '30d', rpm_limit: 2, user_id: 'ana', key_alias: 'ana-laptop' }),
})
const { key } = (await generated.json()) as { key: string }

// The application: the key is its API key.
const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 })
for (const question of ['What is a budget?', 'And a rate limit?', 'One more?']) {
  try {
    const reply = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: question }] })
    console.log('reply:', reply.choices[0]?.message.content)
  } catch (error) {
    // The third request in the minute: 429, as LiteLLM answers it.
    if (error instanceof OpenAI.RateLimitError) console.log('refused:', error.status, error.message)
    else throw error
  }
}

const info = (await (await fetch(`${url}/key/info?key=${key}`, { headers: admin })).json()) as { info: { spend: number; max_budget: number } }
console.log(`spent $${info.info.spend.toFixed(8)} of $${info.info.max_budget}`)
await proxy.close()
