// Removing or replacing a layer: client.with() makes a new client with another stack that shares the
// providers and the delivery queue; the client it came from is left as it was. Runs offline on the mock provider.
import { createClient } from 'llm-onion'
import { observer, retry } from 'llm-onion/middleware'

const messages = [{ role: 'user' as const, content: 'Hello' }]

const printer = observer({ onSuccess: (event) => console.log(`[printer] ${event.model}: ${event.latencyMs} ms`) })
const retrying = retry({ retries: 1, minTimeoutMs: 10 })
const client = createClient().use(printer, retrying)

// A batch job that should not print every call, and should retry harder.
const quiet = client.with((layers) => layers.filter((layer) => layer !== printer))
const patient = quiet.with((layers) => layers.map((layer) => (layer === retrying ? retry({ retries: 4, minTimeoutMs: 10 }) : layer)))

await client.chat({ model: 'mock/interactive', messages }) // printed
await patient.chat({ model: 'mock/batch', messages }) // not printed, up to 4 retries
console.log(`layers: client ${client.layers.length}, quiet ${quiet.layers.length}, patient ${patient.layers.length}`)
console.log(`same providers: ${patient.providers === client.providers}, same queue: ${patient.services.queue === client.services.queue}`)

await patient.close() // waits for the shared background work; the queue and providers stay open
await client.chat({ model: 'mock/still-open', messages }) // printed: the original is unaffected
await client.close() // closes the queue and providers every client made from it shares
