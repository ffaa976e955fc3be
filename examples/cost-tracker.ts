/**
 * The guide's Recipe 2, "Reliable Cost Logging", ported. `kwargs.response_cost` is the call's cost in
 * USD when the model's price is known, and absent (never a silent 0) when it is not.
 * Run: npx tsx examples/cost-tracker.ts
 */
import { createClient, CustomLogger, type LoggerKwargs } from 'llm-onion'
import { customLogger } from 'llm-onion/middleware'

class CostTrackingHandler extends CustomLogger {
  totalUsd = 0

  override async asyncLogSuccessEvent(kwargs: LoggerKwargs) {
    const cost = kwargs.response_cost
    const callId = kwargs.litellm_call_id
    if (cost !== undefined) {
      this.totalUsd += cost
      console.log(`[COST_HANDLER] Success Call ${callId}: Cost = $${cost.toFixed(8)}`)
    } else {
      const reason = kwargs.standard_logging_object?.costUnknownReason ?? 'no reason given'
      console.log(`[COST_HANDLER] Success Call ${callId}: Cost info not found in kwargs (${reason}).`)
    }
  }

  override async asyncLogFailureEvent(kwargs: LoggerKwargs) {
    const cost = kwargs.response_cost // a failed call usually has no usage, so no cost
    const callId = kwargs.litellm_call_id
    if (cost !== undefined) console.log(`[COST_HANDLER] Failed Call ${callId}: Cost = $${cost.toFixed(8)}`)
    else console.log(`[COST_HANDLER] Failed Call ${callId}: Cost info not found/applicable.`)
  }
}

const costTracker = new CostTrackingHandler()
// Prices in USD per million tokens; real model names are priced from @pydantic/genai-prices offline data.
const client = createClient({ cost: { prices: { 'mock/priced-model': { input: 2.5, output: 10 } } } })
client.use(customLogger(costTracker))

const messages = [{ role: 'user' as const, content: 'Summarise the plot of Hamlet in one line.' }]
await client.chat({ model: 'mock/priced-model', messages, mock_response: 'A prince avenges his father and everyone dies.' })
for await (const _chunk of client.stream({ model: 'mock/priced-model', messages, mock_response: 'Revenge, doubt, and a lot of funerals.' }));
await client.chat({ model: 'mock/unpriced-model', messages })
await client.chat({ model: 'mock/priced-model', messages, mock_error: { status: 500 } }).catch(() => undefined)

await client.close()
console.log(`total tracked: $${costTracker.totalUsd.toFixed(8)}`)
