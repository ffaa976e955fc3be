/**
 * The event's JSON Schema, generated from its zod schema (src/event.ts), for those who validate events
 * outside TypeScript. The package ships it as `llm-onion/call-event.schema.json`
 * (schema/call-event.schema.json); `npm run schema` writes it, and a test fails when the committed
 * file differs from what this function generates.
 */
import { z } from 'zod'
import { eventSchemas } from './event'

/** Where the generated file lives in the package, from its root. */
export const callEventSchemaPath = 'schema/call-event.schema.json'

/**
 * The JSON Schema (draft 2020-12) of {@link CallEvent}. It describes what zod accepts: properties it
 * does not name are allowed (a newer llm-onion may add fields; zod ignores them too), and a value
 * JSON cannot carry (`undefined`) is simply absent.
 *
 * @example
 * ```ts
 * const schema = callEventJsonSchema()
 * await writeFile('call-event.schema.json', callEventJsonSchemaText())
 * ```
 */
export function callEventJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(eventSchemas().callEventSchema, { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>
  const { $schema, ...rest } = generated
  return {
    $schema,
    title: 'llm-onion call event',
    description:
      'One finished LLM call (chat, streamed chat or embedding) as llm-onion records it: the record every integration maps to its own wire format. Generated from the zod schema callEventSchema; see docs/event.md for each field.',
    ...rest,
  }
}

/**
 * The schema as the committed file holds it: two-space JSON with a final newline.
 *
 * @example
 * ```ts
 * expect(readFileSync(callEventSchemaPath, 'utf8')).toBe(callEventJsonSchemaText())
 * ```
 */
export function callEventJsonSchemaText(): string {
  return `${JSON.stringify(callEventJsonSchema(), null, 2)}\n`
}
