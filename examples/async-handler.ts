/**
 * The guide's async handler (Part 3, "Going Async"), ported: `asyncLogSuccessEvent` and
 * `asyncLogFailureEvent` send a record to a (simulated) logging service. The call never waits for
 * them; `client.flush()` (or `close()`) does, so no log is lost at exit.
 * Run: npx tsx examples/async-handler.ts
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { createClient, CustomLogger, type LoggerKwargs, type LoggerResponse } from 'llm-onion'
import { customLogger } from 'llm-onion/middleware'

const logged: Array<Record<string, unknown>> = []

/** Placeholder for your actual async logging function (an HTTP POST, a database insert). */
async function logToMyService(data: Record<string, unknown>): Promise<void> {
  console.log('[SERVICE LOG] Simulating async network call to log data...')
  await sleep(50)
  logged.push(data)
  console.log(`[SERVICE LOG] Finished logging: ${data.call_id}`)
}

class MyAsyncHandler extends CustomLogger {
  override async asyncLogSuccessEvent(kwargs: LoggerKwargs, response: LoggerResponse, startTime: Date, endTime: Date) {
    console.log('\n[MyAsyncHandler - ASYNC SUCCESS] Call successful!')
    await logToMyService({
      call_id: kwargs.litellm_call_id,
      user: kwargs.user ?? 'N/A',
      model: response.model,
      cost: kwargs.response_cost ?? null, // absent when the price is unknown, never a silent 0
      duration_sec: (endTime.getTime() - startTime.getTime()) / 1000,
      usage: response.usage,
      status: 'success',
      metadata: kwargs.litellm_params.metadata,
      timestamp: endTime.toISOString(),
    })
  }

  override async asyncLogFailureEvent(kwargs: LoggerKwargs, _response: undefined, startTime: Date, endTime: Date) {
    console.log('\n[MyAsyncHandler - ASYNC FAILURE] Call failed!')
    const exception = kwargs.exception
    await logToMyService({
      call_id: kwargs.litellm_call_id,
      user: kwargs.user ?? 'N/A',
      model: kwargs.model, // the actual model might not be known on failure
      cost: kwargs.response_cost ?? null,
      duration_sec: (endTime.getTime() - startTime.getTime()) / 1000,
      status: 'failure',
      error_type: exception?.name ?? 'N/A',
      error_message: exception?.message ?? 'N/A',
      metadata: kwargs.litellm_params.metadata,
      timestamp: endTime.toISOString(),
    })
  }
}

const myAsyncHandlerInstance = new MyAsyncHandler()
const client = createClient().use(customLogger(myAsyncHandlerInstance))

const reply = await client.chat({ model: 'mock/gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }], user: 'user-1', metadata: { session: 's-1' } })
console.log(`caller got its reply at once: ${JSON.stringify(reply.choices[0]?.message.content)} (records logged so far: ${logged.length})`)
await client
  .chat({ model: 'mock/gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }], mock_error: { status: 429, message: 'Rate limit reached' } })
  .catch((error: Error) => console.log(`caller saw: ${error.name}: ${error.message}`))

await client.close() // waits for both background hooks
console.log(`\nrecords logged after close(): ${logged.length}`)
console.log(JSON.stringify(logged.map(({ status, error_type }) => ({ status, error_type }))))
if (logged.length !== 2) process.exit(1)
