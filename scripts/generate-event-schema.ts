// Writes the event's JSON Schema (schema/call-event.schema.json, shipped as
// llm-onion/call-event.schema.json) from the zod schema of src/event.ts: `npm run schema`.
// `npm run schema -- --check` writes nothing and exits 1 when the committed file is out of date;
// test/event-json-schema.test.ts runs that, so CI fails when the file and the zod schema differ.
import { readFileSync, writeFileSync } from 'node:fs'
import { callEventJsonSchemaText, callEventSchemaPath } from '../src/event-json-schema'

const generated = callEventJsonSchemaText()
if (process.argv.includes('--check')) {
  let committed = ''
  try {
    committed = readFileSync(callEventSchemaPath, 'utf8')
  } catch {
    // Missing: out of date too.
  }
  if (committed !== generated) {
    console.error(`${callEventSchemaPath} is out of date with the zod schema of src/event.ts: run \`npm run schema\` and commit the file.`)
    process.exit(1)
  }
  console.log(`${callEventSchemaPath} is up to date`)
} else {
  writeFileSync(callEventSchemaPath, generated)
  console.log(`wrote ${callEventSchemaPath}`)
}
