// A custom integration for an imaginary service, Tally (a ledger of LLM spend), built with the kit in
// `llm-onion/integrations`, then run against a local stand-in for Tally that this example starts.
// Runs offline: `npx tsx examples/custom-integration.ts`. The walk-through is
// docs/integrations/writing-your-own.md.
import assert from 'node:assert/strict'
import { z } from 'zod'
import { createClient, type CallEvent, type Middleware } from 'llm-onion'
import {
  defineExporter,
  defineIntegration,
  defineObservingLayer,
  httpSink,
  integrationOptionsSchema,
  readBaseUrl,
  requireSetting,
  validateOptions,
} from 'llm-onion/integrations'
import { startReceiver } from 'llm-onion/testing'

// 1. Options: the common ones (moments, redact, baseUrl, env) plus Tally's own.
const tallyOptionsSchema = integrationOptionsSchema
  .extend({
    apiKey: z.string().min(1).optional(),
    project: z.string().min(1).optional(),
  })
  .strict()

export type TallyOptions = z.input<typeof tallyOptionsSchema>

// 2. What Tally receives for one call.
export interface TallyEntry {
  call_id: string
  project: string
  model: string
  status: string
  input_tokens?: number
  output_tokens?: number
  cost_usd?: number
  latency_ms: number
}

// 3. The mapping from the standard event. It runs in the background, after the call has returned.
export function toTallyEntry(event: CallEvent, project: string): TallyEntry {
  return {
    call_id: event.id,
    project,
    model: event.model,
    status: event.status,
    input_tokens: event.usage?.inputTokens,
    output_tokens: event.usage?.outputTokens,
    cost_usd: event.cost?.total,
    latency_ms: Math.round(event.latencyMs),
  }
}

// 4. The factory: settings (option first, then the variable), a sink, the exporter.
export function tally(options: TallyOptions = {}): Middleware {
  const settings = validateOptions(tallyOptionsSchema, options, 'tally() options')
  const env = settings.env ?? process.env
  const apiKey = requireSetting({ integration: 'tally', option: 'apiKey', variable: 'TALLY_API_KEY' }, settings.apiKey, env)
  const base = readBaseUrl('tally', settings.baseUrl, 'TALLY_BASE_URL', 'https://api.tally.example', env)
  const project = settings.project ?? 'default'
  return defineExporter<TallyEntry>({
    name: 'tally',
    moments: settings.moments,
    redact: settings.redact,
    sink: httpSink({ name: 'tally', url: `${base}/v1/entries`, headers: { 'x-tally-key': apiKey }, encode: (entries) => ({ entries }) }),
    toItems: (event) => toTallyEntry(event, project),
  })
}

// 5. Its descriptor, beside the factory: for a built-in, one line in src/integrations/catalogue.ts lists it.
export const tallyIntegration = defineIntegration({
  name: 'tally',
  aliases: [],
  switchedOnBy: [['TALLY_API_KEY']],
  position: 'exporters',
  takesEnv: true,
  factory: tally,
})

// A layer that sends nothing but watches calls: the same primitive every built-in layer stands on.
export function failureCounter(counts: { failures: number; cancels: number }): Middleware {
  return defineObservingLayer({
    name: 'failureCounter',
    failure: () => void counts.failures++,
    cancelled: () => void counts.cancels++,
  })
}

// A missing credential fails at construction, naming the variable to set.
assert.throws(() => tally({ env: {} }), /tally\(\) needs TALLY_API_KEY: set TALLY_API_KEY in the environment or pass \{ apiKey: '\.\.\.' \}/)

const receiver = await startReceiver()
const counts = { failures: 0, cancels: 0 }
const client = createClient({ queue: { flushIntervalMs: 10 } }).use(
  failureCounter(counts),
  tally({ env: { TALLY_API_KEY: 'tally-example-key', TALLY_BASE_URL: receiver.url }, project: 'checkout' }),
)
const messages = [{ role: 'user' as const, content: 'What is an onion?' }]
await client.chat({ model: 'mock/gpt-4o-mini', messages, mock_response: 'Layers.' })
await client.chat({ model: 'mock/gpt-4o-mini', messages, mock_error: { status: 500 } }).catch(() => undefined)
await client.flush()

const entries = receiver.requests.flatMap((request) => (request.json as { entries: TallyEntry[] }).entries)
assert.equal(receiver.requests[0]!.path, '/v1/entries')
assert.equal(receiver.requests[0]!.headers['x-tally-key'], 'tally-example-key')
assert.deepEqual(
  entries.map((entry) => [entry.project, entry.model, entry.status]),
  [
    ['checkout', 'mock/gpt-4o-mini', 'success'],
    ['checkout', 'mock/gpt-4o-mini', 'failure'],
  ],
)
assert.deepEqual(counts, { failures: 1, cancels: 0 })
console.log(`Tally received ${entries.length} entries:`, entries.map((entry) => `${entry.status} ${entry.model} ${entry.latency_ms} ms`).join('; '))

await client.close()
await receiver.close()
