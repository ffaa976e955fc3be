/**
 * The event's JSON Schema shipped in the package (llm-onion/call-event.schema.json): the committed
 * file is what the zod schema generates (so CI fails when one changes without the other), real
 * events pass it under an independent validator (Ajv, draft 2020-12), broken ones do not, and the
 * package publishes and exports the file.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { callEventSchema, createClient, openai, type CallEvent, type Client } from '../src/index'
import { callEventJsonSchemaText, callEventSchemaPath } from '../src/event-json-schema'
import { createRecorder } from '../src/testing/recorder'
import { startOpenAIFake, type OpenAIFake } from '../src/testing/openai-server'

const committed = readFileSync(callEventSchemaPath, 'utf8')
const validate = new Ajv2020({ allErrors: true, strict: true }).compile(JSON.parse(committed) as object)
/** What another language receives: the event as JSON. */
const asJson = (event: CallEvent) => JSON.parse(JSON.stringify(event)) as Record<string, unknown>
const problems = () => (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message}`)

describe('llm-onion/call-event.schema.json', () => {
  it('is what the zod event schema generates (run `npm run schema` after changing src/event.ts)', () => {
    expect(committed, 'schema/call-event.schema.json is out of date: run `npm run schema` and commit the file').toBe(callEventJsonSchemaText())
    const checked = spawnSync('npm', ['run', '--silent', 'schema', '--', '--check'], { encoding: 'utf8' })
    expect(checked.status, checked.stderr).toBe(0)
    expect(checked.stdout).toContain(`${callEventSchemaPath} is up to date`)
  })

  it('is published with the package and exported as llm-onion/call-event.schema.json', () => {
    const packed = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { encoding: 'utf8' })
    expect(packed.status, packed.stderr).toBe(0)
    const [{ files }] = JSON.parse(packed.stdout) as Array<{ files: Array<{ path: string }> }>
    expect(files.map((file) => file.path)).toContain(callEventSchemaPath)
    // The package's own name resolves through its exports map, as it does for a user who installed it.
    const resolved = createRequire(import.meta.url).resolve('llm-onion/call-event.schema.json')
    expect(readFileSync(resolved, 'utf8')).toBe(committed)
  })

  describe('validates real events with an independent validator (Ajv)', () => {
    let fake: OpenAIFake
    let client: Client
    const recorder = createRecorder()
    beforeAll(async () => {
      fake = await startOpenAIFake()
      client = createClient({ providers: { openai: openai({ apiKey: 'sk-schema-test', baseURL: fake.url }) } }).use(recorder.layer)
      await client.chat(
        { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], temperature: 0.2, user: 'user-1', metadata: { team: 'a' }, tags: ['t'] },
        { http: { method: 'POST', url: '/v1/chat/completions', headers: { 'user-agent': 'test', authorization: 'Bearer sk-never' }, clientIp: '127.0.0.1' }, modelInfo: { id: 'deployment-1' } },
      )
      for await (const _chunk of client.stream({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'Stream' }] })) void _chunk
      await client.embed({ model: 'openai/text-embedding-3-small', input: ['a', 'b'] })
      fake.enqueue({ kind: 'error', status: 429, message: 'Rate limit reached.' })
      await client.chat({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'Fail' }] }).catch(() => undefined)
      const controller = new AbortController()
      for await (const _chunk of client.stream({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'Cancel' }] }, { signal: controller.signal })) break
    })
    afterAll(async () => {
      await client.close()
      await fake.close()
    })

    it('accepts the events of a chat (with proxy request info), a stream, an embedding, a failure and a cancel', () => {
      const events = recorder.events.map(asJson)
      expect(events.map((event) => [event.type, event.streaming, event.status])).toEqual([
        ['chat', false, 'success'],
        ['chat', true, 'success'],
        ['embedding', false, 'success'],
        ['chat', false, 'failure'],
        ['chat', true, 'cancelled'],
      ])
      expect(events[0]).toHaveProperty('http.clientIp', '127.0.0.1')
      expect(events[1]).toHaveProperty('firstChunkTime')
      expect(events[2]).toHaveProperty('input')
      expect(events[3]).toHaveProperty('error.status', 429)
      for (const event of events) {
        expect(validate(event), problems().join('; ')).toBe(true)
        expect(callEventSchema.safeParse(event).success).toBe(true)
      }
    })

    it('accepts fields it does not name, as zod does (a newer llm-onion may add some)', () => {
      const event = { ...asJson(recorder.events[0]!), addedLater: { anything: 1 } }
      expect(validate(event), problems().join('; ')).toBe(true)
      expect(callEventSchema.safeParse(event).success).toBe(true)
    })

    it.each([
      ['a missing id', (event: Record<string, unknown>) => void delete event.id, '/ must have required property \'id\''],
      ['an unknown status', (event: Record<string, unknown>) => void (event.status = 'done'), '/status must be equal to one of the allowed values'],
      ['token counts as text', (event: Record<string, unknown>) => void ((event.usage as Record<string, unknown>).inputTokens = '12'), '/usage/inputTokens must be number'],
      ['an attempt numbered 0', (event: Record<string, unknown>) => void ((event.attempts as Array<Record<string, unknown>>)[0]!.attempt = 0), '/attempts/0/attempt must be > 0'],
      ['tags that are not strings', (event: Record<string, unknown>) => void (event.tags = [1]), '/tags/0 must be string'],
    ])('rejects an event with %s, as zod does', (_case, breakIt, problem) => {
      const event = asJson(recorder.events[0]!)
      breakIt(event)
      expect(validate(event)).toBe(false)
      expect(problems()).toContain(problem)
      expect(callEventSchema.safeParse(event).success).toBe(false)
    })
  })
})
