import { afterEach, describe, expect, it } from 'vitest'
import { callEventSchema, createClient, type Client } from '../src/index'
import { createRecorder } from '../src/testing/index'

let client: Client
afterEach(async () => client?.close())

describe('createRecorder', () => {
  it('records one schema-valid event per call with its status, for chat, stream and embed', async () => {
    const recorder = createRecorder()
    client = createClient().use(recorder.layer)
    const messages = [{ role: 'user' as const, content: 'hi' }]
    await client.chat({ model: 'mock/x', messages })
    for await (const _chunk of client.stream({ model: 'mock/x', messages })) void _chunk
    await client.embed({ model: 'mock/x', input: 'hi' })
    await client.chat({ model: 'mock/x', messages, mock_error: { status: 500 } }).catch(() => undefined)
    expect(recorder.events.map((event) => [event.type, event.streaming, event.status])).toEqual([
      ['chat', false, 'success'],
      ['chat', true, 'success'],
      ['embedding', false, 'success'],
      ['chat', false, 'failure'],
    ])
    for (const event of recorder.events) expect(callEventSchema.safeParse(JSON.parse(JSON.stringify(event))).success).toBe(true)
    recorder.clear()
    expect(recorder.events).toHaveLength(0)
  })
})
