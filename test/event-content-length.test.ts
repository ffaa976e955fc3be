import { describe, expect, it } from 'vitest'
import { createClient, type CallEvent, type Client, type Sink } from '../src/index'
import { posthog, type PosthogEvent } from '../middleware/posthog'
import { defineExporter } from '../src/integrations/exporter'
import { cutToLength } from '../src/content-cut'
import { receiverPerTest } from './middleware/exporter-contract'

/** A sink that keeps the events the delivery queue hands it. */
function keepingExporter() {
  const events: CallEvent[] = []
  const sink: Sink<CallEvent> = { name: 'kept', async send(batch) { events.push(...batch) } }
  return { layer: defineExporter<CallEvent>({ name: 'kept', sink, toItems: (event) => event }), events }
}

const longPrompt = `${'a'.repeat(125_000)}${'b'.repeat(125_000)}`
const image = `data:image/png;base64,${'A'.repeat(300_000)}`
const ask = { model: 'mock/echo', messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: longPrompt }, { type: 'image_url' as const, image_url: { url: image } }] }], mock_response: `${'r'.repeat(60_000)}${'s'.repeat(60_000)}` }

describe('redact.maxLength: long content in events', () => {
  let client: Client | undefined
  const receiver = receiverPerTest({ client: () => client })

  it('cuts a long prompt, an image and a long reply in every event and export by default, and leaves the caller its whole reply', async () => {
    const kept = keepingExporter()
    client = createClient().use(kept.layer, posthog({ apiKey: 'phc_test', baseUrl: receiver.url }))
    const reply = await client.chat(ask)
    for await (const _chunk of client.stream(ask)) void _chunk
    await client.flush()

    expect(reply.choices[0]!.message.content).toHaveLength(120_000)
    expect(kept.events).toHaveLength(2)
    for (const event of kept.events) {
      const [text, picture] = event.messages![0]!.content as Array<{ text?: string; image_url?: { url: string } }>
      expect(text!.text).toBe(`${'a'.repeat(50_000)}…[150000 characters left out (redact.maxLength)]…${'b'.repeat(50_000)}`)
      expect(picture!.image_url!.url).toBe('data:image/png;base64,…[300000 characters left out (redact.maxLength)]…')
      const answer = (event.response as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content
      expect(answer).toBe(`${'r'.repeat(50_000)}…[20000 characters left out (redact.maxLength)]…${'s'.repeat(50_000)}`)
    }
    // What a service receives: PostHog's $ai_input and $ai_output_choices, cut the same way.
    const sent = receiver.requests.flatMap((request) => (request.json as { batch: PosthogEvent[] }).batch)
    expect(sent).toHaveLength(2)
    const body = JSON.stringify(sent)
    expect(body).toContain('…[300000 characters left out (redact.maxLength)]…')
    expect(body.length).toBeLessThan(2 * 3 * 110_000)
  })

  it('keeps every string whole with maxLength: false, and cuts at the length given', async () => {
    const whole = keepingExporter()
    client = createClient({ redact: { maxLength: false } }).use(whole.layer)
    await client.chat(ask)
    await client.flush()
    await client.close()
    expect(JSON.stringify(whole.events[0]!.messages)).toContain(image)

    const short = keepingExporter()
    client = createClient({ redact: { maxLength: 1_000 } }).use(short.layer)
    await client.chat({ model: 'mock/echo', messages: [{ role: 'user', content: 'x'.repeat(1_001) }], mock_response: 'short reply' })
    await client.flush()
    expect(short.events[0]!.messages![0]!.content).toBe(`${'x'.repeat(500)}…[1 characters left out (redact.maxLength)]…${'x'.repeat(500)}`)
    expect((short.events[0]!.response as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content).toBe('short reply')
  })

  it('scrubs a credential before the cut, so no part of it is left on either side', async () => {
    const key = 'sk-planted-cut-0123456789abcdef'
    const kept = keepingExporter()
    client = createClient({ redact: { maxLength: 1_000 }, secrets: [key] }).use(kept.layer)
    // The key starts a few characters before the cut at 500.
    const prompt = `${'x'.repeat(495)}${key}${'y'.repeat(2_000)}${key}${'z'.repeat(5)}`
    await client.chat({ model: 'mock/echo', messages: [{ role: 'user', content: prompt }], mock_response: 'ok' })
    await client.flush()
    const text = kept.events[0]!.messages![0]!.content as string
    for (let start = 0; start + 6 <= key.length; start++) expect(text).not.toContain(key.slice(start, start + 6))
    expect(text.startsWith(`${'x'.repeat(495)}[reda`)).toBe(true)
    expect(text.endsWith(`[redacted]${'z'.repeat(5)}`)).toBe(true)
  })

  it('refuses a maxLength that is no whole number of characters above 0, naming the field', () => {
    for (const maxLength of [0, -5, 1.5, 'long', true]) {
      expect(() => createClient({ redact: { maxLength: maxLength as never } })).toThrow(/redact\.maxLength.*whole number of characters above 0/s)
    }
  })
})

describe('cutToLength', () => {
  it('never leaves half of a surrogate pair at either side of the cut', () => {
    for (const limit of [4, 5, 6, 7]) {
      const cut = cutToLength('😀'.repeat(20), limit)
      // A lone surrogate does not survive UTF-8: it comes back as U+FFFD.
      expect(Buffer.from(cut, 'utf8').toString('utf8')).toBe(cut)
      expect(cut).toContain('characters left out')
    }
  })

  it('returns a text no longer than the limit as it is', () => {
    const text = 'z'.repeat(100)
    expect(cutToLength(text, 100)).toBe(text)
  })
})
