/**
 * The LiteLLM guide's first custom callback, ported: a handler that prints every hook it gets
 * (Part 3, "Simple Printing Handler" and "Accessing Data in a Success Callback"), registered the
 * way `litellm.callbacks = [my_printer_instance]` registers it. Run: npx tsx examples/printing-handler.ts
 */
import { createClient, CustomLogger, type ChatChunk, type LoggerKwargs, type LoggerResponse, type Message } from 'llm-onion'
import { customLogger } from 'llm-onion/middleware'

class MyPrintingHandler extends CustomLogger {
  requestCount = 0 // a handler instance may hold state across calls

  constructor() {
    super()
    console.log('MyPrintingHandler Initialized!')
  }

  override logPreApiCall(model: string, _messages: Message[] | undefined, kwargs: LoggerKwargs) {
    this.requestCount += 1
    console.log('\n------------------------------')
    console.log(`[MyHandler - PRE] About to call model: ${model} (request #${this.requestCount})`)
    console.log(`[MyHandler - PRE] Extra Args (kwargs): ${JSON.stringify(kwargs.optional_params.extra_body ?? {})}`)
  }

  override logPostApiCall(_kwargs: LoggerKwargs, _response: LoggerResponse | undefined, startTime: Date, endTime: Date) {
    const duration = (endTime.getTime() - startTime.getTime()) / 1000
    console.log(`[MyHandler - POST] Call finished. Duration: ${duration.toFixed(4)} seconds`)
  }

  override logSuccessEvent(kwargs: LoggerKwargs, response: LoggerResponse, startTime: Date, endTime: Date) {
    console.log('[MyHandler - SUCCESS] API Call was successful!')
    console.log(`[MyHandler - SUCCESS] Model used: ${response.model}, Usage: ${JSON.stringify(response.usage)}`)
    // The guide's "Detailed Success Log": everything comes from kwargs and the response.
    const metadata = kwargs.litellm_params.metadata
    const text = 'choices' in response ? (response.choices[0]?.message.content ?? 'N/A') : 'N/A'
    console.log(`Call ID: ${kwargs.litellm_call_id}`)
    console.log(`User: ${kwargs.user ?? 'N/A'}`)
    console.log(`Requested Model: ${kwargs.model}`)
    console.log(`Duration: ${endTime.getTime() - startTime.getTime()} ms`)
    console.log(`Cost: ${kwargs.response_cost === undefined ? 'unknown' : `$${kwargs.response_cost.toFixed(6)}`}`)
    console.log(`Response Text (first choice): ${text.slice(0, 100)}`)
    console.log(`Metadata: ${JSON.stringify(metadata)}`)
  }

  override logFailureEvent(kwargs: LoggerKwargs) {
    console.log('[MyHandler - FAILURE] API Call failed!')
    const exception = kwargs.exception
    if (exception) {
      console.log(`[MyHandler - FAILURE] Error Type: ${exception.name}`)
      console.log(`[MyHandler - FAILURE] Error Details: ${exception.message}`)
    }
  }

  override logStreamEvent(_kwargs: LoggerKwargs, chunk: ChatChunk) {
    console.log(`[MyHandler - STREAM] Received chunk: ${JSON.stringify(chunk.choices[0]?.delta ?? chunk.usage)}`)
  }
}

// Create an instance: this is what you give to llm-onion.
const myPrinterInstance = new MyPrintingHandler()

// litellm.callbacks = [my_printer_instance]
const client = createClient().use(customLogger(myPrinterInstance))

console.log('\nMaking a direct library call...')
await client.chat({
  model: 'mock/gpt-3.5-turbo',
  messages: [{ role: 'user', content: 'What time is it?' }],
  user: 'user-123',
  metadata: { customer_id: 'cust_abc', request_source: 'script' },
})
console.log('Direct call finished.')

console.log('\nA streamed call: one stream event per chunk, then success once, after the last chunk.')
for await (const _chunk of client.stream({ model: 'mock/gpt-3.5-turbo', messages: [{ role: 'user', content: 'Count' }], mock_response: 'one two' }));

try {
  await client.chat({ model: 'mock/gpt-3.5-turbo', messages: [{ role: 'user', content: 'Fail' }], mock_error: { status: 401, message: 'Invalid API key' } })
} catch (error) {
  console.log(`Direct call failed: ${(error as Error).message}`)
}

await client.close()
