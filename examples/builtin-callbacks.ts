/**
 * The LiteLLM guide's Examples 1–3 (Part 2, built-in callbacks), ported: named integrations in
 * LiteLLM's three lists. Each integration reads the environment variables LiteLLM uses; here they
 * point at one local fake receiver this script starts, so it runs offline and shows what was sent.
 * Run: npx tsx examples/builtin-callbacks.ts
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createClient, CustomLogger, type LoggerKwargs } from 'llm-onion'
import { callbacks, customLogger, observer } from 'llm-onion/middleware'

// A local receiver standing in for Helicone, Langfuse, Sentry and Slack: records the path of each request.
const received: string[] = []
const receiver = createServer((request, response) => {
  request.resume().on('end', () => {
    received.push(`${request.method} ${request.url}`)
    response.writeHead(200, { 'content-type': 'application/json' }).end('{}')
  })
})
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
const local = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`

// The variables LiteLLM's integrations read, set here for the example; in real use set them outside.
Object.assign(process.env, {
  HELICONE_API_KEY: 'sk-helicone-example',
  HELICONE_API_BASE: `${local}/helicone`,
  LANGFUSE_PUBLIC_KEY: 'pk-lf-example',
  LANGFUSE_SECRET_KEY: 'sk-lf-example',
  LANGFUSE_HOST: `${local}/langfuse`,
  SENTRY_DSN: `http://examplepublickey@127.0.0.1:${(receiver.address() as AddressInfo).port}/42`,
  SLACK_WEBHOOK_URL: `${local}/slack/services/T000/B000/XXXX`,
})

async function report(title: string, expected: string[], run: () => Promise<void>) {
  console.log(`\n=== ${title}`)
  received.length = 0
  await run()
  console.log(`receiver got: ${received.length === 0 ? 'nothing' : `\n  ${received.join('\n  ')}`}`)
  const missing = expected.filter((path) => !received.some((line) => line.includes(path)))
  if (missing.length > 0 || received.length !== expected.length) {
    console.error(`expected one request each to ${expected.join(', ')}`)
    process.exitCode = 1
  }
}

// Example 1: logging successful calls to Helicone (litellm.success_callback = ["helicone"])
await report('Example 1: success → helicone', ['/helicone/'], async () => {
  const client = createClient().use(callbacks({ success: ['helicone'] }))
  console.log('Sending a request...')
  await client.chat({ model: 'mock/gpt-3.5-turbo', messages: [{ role: 'user', content: 'What is LiteLLM?' }] })
  console.log('Request successful!')
  await client.close() // delivers what is queued
})

// Example 2: logging failures to Sentry (litellm.failure_callback = ["sentry"])
await report('Example 2: failure → sentry', ['/api/42/envelope/'], async () => {
  const client = createClient().use(callbacks({ failure: ['sentry'] }))
  console.log('Sending a request likely to fail (invalid key)...')
  try {
    await client.chat({ model: 'mock/gpt-3.5-turbo', messages: [{ role: 'user', content: 'This should fail.' }], mock_error: { status: 401, message: 'Incorrect API key provided: bad-key' } })
    console.log('Request surprisingly succeeded?')
  } catch (error) {
    console.log(`Request failed as expected: ${(error as Error).message}`)
  }
  await client.close()
})

// Example 3: using multiple callbacks, one list per moment
await report('Example 3: input → sentry; success → helicone, langfuse; failure → sentry, slack', ['/helicone/', '/langfuse/', '/api/42/envelope/', '/slack/'], async () => {
  const client = createClient().use(
    callbacks({
      input: ['sentry'], // before the provider call (a breadcrumb, sent with a later failure)
      success: ['helicone', 'langfuse'],
      failure: ['sentry', 'slack'],
    }),
  )
  console.log('Running example with multiple callbacks...')
  try {
    await client.chat({ model: 'mock/gpt-3.5-turbo', messages: [{ role: 'user', content: 'Tell me a short joke.' }], user: 'user-123' })
    console.log('First request successful!') // -> Helicone (success), Langfuse (success)
    await client.chat({
      model: 'mock/gpt-4',
      messages: [{ role: 'user', content: 'This will likely fail.' }],
      user: 'user-456',
      mock_error: { status: 401, message: 'No API key configured for gpt-4' },
    })
  } catch (error) {
    console.log(`Second request failed as expected: ${(error as Error).message}`) // -> Sentry (failure), Slack (failure)
  }
  await client.close()
})

// Combining callbacks: built-ins, plain functions, an observer and a CustomLogger on one client
// (litellm.success_callback = ["helicone"]; litellm.callbacks = [MyCustomHandler()]).
class MyCustomHandler extends CustomLogger {
  override logSuccessEvent(kwargs: LoggerKwargs) {
    console.log(`[handler] ${kwargs.litellm_call_id} cost=${kwargs.response_cost ?? 'unknown'}`)
  }
}
await report('Combining built-in and custom callbacks', ['/helicone/'], async () => {
  const client = createClient({ queue: { flushIntervalMs: 200, onDrop: (drop) => console.warn('dropped', drop) } })
  client.use(
    callbacks({
      success: ['helicone', (event) => console.log(`[function] ${event.id} took ${event.latencyMs} ms`)],
      failure: [(event) => console.log(`[function] ${event.id} ${event.status}: ${event.error?.message}`)],
    }),
    observer({
      onStart: (ctx) => console.log(`[observer] calling ${ctx.request.model}`),
      onSuccess: (event) => console.log(`[observer] ${event.usage?.totalTokens} tokens`),
    }),
    customLogger(new MyCustomHandler()),
  )
  await client.chat({ model: 'mock/gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] })
  await client.flush() // delivers everything queued so far
  const { delivered, dropped, sinks } = client.services.queue.stats()
  console.log(`queue: delivered=${delivered} dropped=${JSON.stringify(dropped)} helicone=${JSON.stringify(sinks.helicone)}`)
  await client.close()
})

receiver.closeAllConnections()
receiver.close()
