/**
 * The same request on the mock, on OpenAI, on Gemini and on Anthropic: only the model name changes.
 * Runs offline: the OpenAI, Gemini and Anthropic APIs are local fake servers that speak their HTTP
 * APIs, and the real SDKs talk to them. With real keys, drop the fakes and the providers option:
 * createClient() registers openai, gemini and anthropic from OPENAI_API_KEY, GEMINI_API_KEY and
 * ANTHROPIC_API_KEY by itself.
 */
import { anthropic, createClient, gemini, isRateLimitError, openai } from 'llm-onion'
import { startAnthropicFake } from 'llm-onion/testing'
import { startGeminiFake } from 'llm-onion/testing'
import { startOpenAIFake } from 'llm-onion/testing'

const openaiServer = await startOpenAIFake()
const geminiServer = await startGeminiFake()
const anthropicServer = await startAnthropicFake()

const client = createClient({
  providers: {
    openai: openai({ apiKey: 'sk-fake', baseURL: openaiServer.url }),
    gemini: gemini({ apiKey: 'fake-key', baseUrl: geminiServer.url }),
    anthropic: anthropic({ apiKey: 'sk-ant-fake', apiBase: anthropicServer.url }),
  },
})
client.use(async (ctx, next) => {
  await next()
  console.log(`  [${ctx.provider} @ ${ctx.apiBase}] ${ctx.model} → ${ctx.responseModel}, usage ${JSON.stringify(ctx.usage)}`)
})

const messages = [
  { role: 'system' as const, content: 'Answer in one sentence.' },
  { role: 'user' as const, content: 'What is an onion?' },
]
for (const model of ['mock/echo', 'openai/gpt-4o-mini', 'gemini/gemini-2.5-flash', 'anthropic/claude-sonnet-4-5']) {
  const reply = await client.chat({ model, messages })
  console.log(`${model}: ${reply.choices[0]?.message.content}`)
}

// Streams have usage on every provider (OpenAI is asked for it with stream_options.include_usage).
let streamed = ''
for await (const chunk of client.stream({ model: 'gemini-2.5-flash', messages })) {
  streamed += chunk.choices[0]?.delta?.content ?? ''
}
console.log(`streamed: ${streamed}`)

const embeddings = await client.embed({ model: 'text-embedding-3-small', input: ['onion', 'layer'] })
console.log(`embeddings: ${embeddings.data.length} vectors of ${embeddings.data[0]?.embedding.length} dimensions`)

// Provider errors arrive as the llm-onion error family, whichever SDK raised them.
openaiServer.enqueue({ kind: 'error', status: 429, headers: { 'retry-after': '2' } })
try {
  await client.chat({ model: 'openai/gpt-4o-mini', messages })
} catch (error) {
  if (isRateLimitError(error)) console.log(`rate limited by ${error.provider}; retry after ${error.retryAfterMs} ms`)
}

// Any OpenAI-compatible server is the openai provider with another baseURL (and name).
const local = createClient({
  providers: {
    ollama: openai({ name: 'ollama', apiKey: 'ollama', baseURL: 'http://localhost:11434/v1' }),
    groq: openai({ name: 'groq', apiKey: process.env.GROQ_API_KEY ?? 'set-GROQ_API_KEY', baseURL: 'https://api.groq.com/openai/v1' }),
  },
})
console.log(`local providers: ${Object.keys(local.providers).join(', ')}`)
// await local.chat({ model: 'ollama/llama3.2', messages })   // with Ollama running

await local.close()
await client.close()
await openaiServer.close()
await geminiServer.close()
await anthropicServer.close()
