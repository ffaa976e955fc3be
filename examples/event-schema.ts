// The event's JSON Schema ships with the package (llm-onion/call-event.schema.json), for consumers that
// validate events without zod: a queue worker, a webhook receiver, a service in another language.
// Here a JSON Schema validator (Ajv) checks the event of a call, as such a consumer would. Runs offline.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { createClient, type CallEvent } from 'llm-onion'

const schemaFile = createRequire(import.meta.url).resolve('llm-onion/call-event.schema.json')
const validate = new Ajv2020().compile(JSON.parse(readFileSync(schemaFile, 'utf8')))

const sent: string[] = [] // what a producer would publish: the event as JSON
const client = createClient().use(async (ctx, next) => {
  try {
    await next()
  } finally {
    sent.push(JSON.stringify(ctx.toEvent()))
  }
})
await client.chat({ model: 'mock/gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] })
await client.close()

const received = JSON.parse(sent[0]!) as CallEvent
console.log(`event ${received.id}: ${validate(received) ? 'valid' : JSON.stringify(validate.errors)}`)
const broken = { ...received, status: 'done' }
console.log(`with status "done": ${validate(broken) ? 'valid' : validate.errors![0]!.message}`)
if (!validate(received) || validate(broken)) process.exit(1)
