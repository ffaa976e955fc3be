// The onion profile: each layer's own time before and after next(), on every call of a client made
// with profile: true. Runs offline on the mock provider; the two layers spin known times, and the
// profile ranks them.
import { createClient, type Middleware } from 'llm-onion'
import { prometheus, retry } from 'llm-onion/middleware'

function spin(milliseconds: number): void {
  const until = performance.now() + milliseconds
  while (performance.now() < until) {
    // a layer's own work
  }
}

const guard: Middleware = async function guard(ctx, next) {
  spin(30) // checks the request
  await next()
}
const audit: Middleware = async function audit(ctx, next) {
  await next()
  spin(5) // writes an audit line
}

const metrics = prometheus()
const client = createClient({
  profile: { onProfile: (layers) => console.log(layers.map((layer) => `${layer.name} ${Math.round(layer.beforeUs + layer.afterUs)} µs`).join(', ')) },
  middleware: [metrics, guard, retry({ retries: 1 }), audit],
})

let event
await client.chat({ model: 'mock/echo', messages: [{ role: 'user', content: 'Hi' }] }, { onContext: (ctx) => void (event = ctx) })
const layers = event!.toEvent().layers! // [{ name: 'prometheus', beforeUs, afterUs }, { name: 'guard', ... }, ...]
const slowest = [...layers].sort((a, b) => b.beforeUs + b.afterUs - (a.beforeUs + a.afterUs))[0]!
console.log(`slowest layer: ${slowest.name}`) // guard, unless the machine was busy elsewhere

// Per layer and phase, in Prometheus: llm_onion_layer_duration_seconds{layer="guard",phase="before"}
const exposition = metrics.metrics()
console.log(exposition.split('\n').filter((line) => line.startsWith('llm_onion_layer_duration_seconds_count')).join('\n'))
if (!exposition.includes('llm_onion_layer_duration_seconds_count{layer="audit",phase="after"} 1')) throw new Error('the layer histogram is missing')
await client.close()
