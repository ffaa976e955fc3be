import { describe, expect, it } from 'vitest'
import { createClient, piiDetectors } from 'llm-onion'
import { createRecorder, mock } from 'llm-onion/testing'

const email = 'ada.lovelace@example.com'

function maskedClient() {
  const recorder = createRecorder()
  const client = createClient({
    providers: { mock: mock() },
    middleware: [recorder.layer],
    redact: { detectors: piiDetectors(), mask: (text) => text.replaceAll('Lovelace', '[NAME]') },
  })
  return { client, recorder }
}

describe('redact: { mask, detectors } masks what sinks receive, never what the caller gets', () => {
  it('on success: prompt and reply masked in the event, the reply intact for the caller', async () => {
    const { client, recorder } = maskedClient()
    const reply = await client.chat({ model: 'mock/echo', messages: [{ role: 'user', content: `I am Ms Lovelace, ${email}` }], mock_response: `Hello ${email}` })
    expect(reply.choices[0]!.message.content).toBe(`Hello ${email}`)
    const event = recorder.events[0]!
    expect(event.messages).toEqual([{ role: 'user', content: 'I am Ms [NAME], [EMAIL]' }])
    expect((event.response as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content).toBe('Hello [EMAIL]')
    await client.close()
  })

  it('on failure: the error message an upstream echoed is masked too', async () => {
    const { client, recorder } = maskedClient()
    await client.chat({ model: 'mock/echo', messages: [{ role: 'user', content: email }], mock_error: { status: 400, message: `bad input ${email}` } }).catch(() => undefined)
    const event = recorder.events[0]!
    expect(event.status).toBe('failure')
    expect(JSON.stringify(event)).not.toContain(email)
    await client.close()
  })

  it('on cancellation of a stream: the prompt is masked, the chunks the caller read were not', async () => {
    const { client, recorder } = maskedClient()
    let first = ''
    for await (const chunk of client.stream({ model: 'mock/echo', messages: [{ role: 'user', content: email }], mock_response: `${email} and more words` })) {
      first = chunk.choices[0]?.delta.content ?? ''
      break
    }
    expect(first).toBe(email)
    const event = recorder.events[0]!
    expect(event.status).toBe('cancelled')
    expect(JSON.stringify(event)).not.toContain(email)
    await client.close()
  })

  it('names a bad mask option', () => {
    expect(() => createClient({ redact: { mask: 'no' as unknown as (text: string) => string } })).toThrow(/redact\.mask/)
  })
})
