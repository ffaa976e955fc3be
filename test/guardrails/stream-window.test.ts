import { describe, expect, it } from 'vitest'
import { createClient, type ChatChunk, type Provider } from 'llm-onion'
import { bannedKeywords, hideSecrets, pii } from 'llm-onion/middleware'
import { createRecorder } from 'llm-onion/testing'
import { keywordDetector, maskText, piiDetectors, secretDetectors } from '../../src/guardrails/detectors'
import { createStreamWindow } from '../../src/guardrails/stream-window'

/** A small seeded generator (mulberry32), so every split is reproducible from its seed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let value = state
    value = Math.imul(value ^ (value >>> 15), value | 1)
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61)
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296
  }
}

/** `text` cut at random boundaries (pieces of 1 to 12 characters). */
function splitAtRandom(text: string, random: () => number): string[] {
  const pieces: string[] = []
  for (let position = 0; position < text.length; ) {
    const size = 1 + Math.floor(random() * 12)
    pieces.push(text.slice(position, position + size))
    position += size
  }
  return pieces
}

const secrets = ['sk-proj-Abcdefghijklmnopqrstuvwx0123', 'AKIAIOSFODNN7EXAMPLE', 'ghp_abcdefghijklmnopqrstuvwxyz0123456789', 'Bearer abc.def-ghi_jkl012']
const personal = ['ada.lovelace@example.com', '4242 4242 4242 4242', 'GB82 WEST 1234 5698 7654 32', '192.168.10.254', '+44 20 7946 0958']
const text = [
  'Hello, here is the summary you asked for. ',
  `Write to ${personal[0]} or call ${personal[4]} before noon. `,
  `Pay with card ${personal[1]} or to IBAN ${personal[2]}; the server is ${personal[3]}. `,
  `The key ${secrets[0]} and the AWS id ${secrets[1]} must not leak, nor ${secrets[2]}, nor "Authorization: ${secrets[3]}". `,
  'The order 1234 of 12 items is not a card number, and Project  Falcon is banned. Thanks!',
].join('')
const detectors = [...secretDetectors(), ...piiDetectors(), keywordDetector(['project falcon'])]

describe('stream window', () => {
  it('releases the same masked text as masking the whole text, for 500 random splits', () => {
    const expected = maskText(text, detectors)
    for (const value of [...secrets, ...personal]) expect(expected).not.toContain(value)
    expect(expected).toContain('[EMAIL]')
    expect(expected).toContain('order 1234 of 12 items')
    for (let seed = 1; seed <= 500; seed++) {
      const window = createStreamWindow(detectors)
      const released = splitAtRandom(text, seeded(seed)).map((piece) => window.push(piece))
      released.push(window.flush())
      expect(released.join(''), `seed ${seed}`).toBe(expected)
    }
  })

  it('never releases any part of a finding before it is masked, for any split', () => {
    const prefixes = [...secrets, ...personal].map((value) => value.slice(0, 10))
    for (let seed = 1; seed <= 200; seed++) {
      const window = createStreamWindow(detectors)
      let released = ''
      for (const piece of splitAtRandom(text, seeded(seed))) {
        released += window.push(piece)
        // Whatever was released so far is final: no finding may start in it unmasked.
        const leaked = prefixes.find((prefix) => released.includes(prefix))
        if (leaked) expect.fail(`seed ${seed} released "${leaked}" unmasked: ${released}`)
      }
    }
  })

  it('holds back no more than the look-ahead when nothing may be found', () => {
    const window = createStreamWindow(detectors, { lookahead: 10 })
    expect(window.push('plain words and nothing else here')).toBe('plain words and nothing')
    expect(window.flush()).toBe(' else here')
  })
})

/** A provider that streams `pieces` as they are, then a finish_reason chunk. */
function piecesProvider(pieces: () => string[], withFinish = true): Provider {
  const chunk = (content: string | undefined, finish: string | null): ChatChunk => ({
    id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'pieces',
    choices: [{ index: 0, delta: content === undefined ? {} : { content }, finish_reason: finish }],
  })
  return {
    name: 'pieces',
    async chat() { throw new Error('not used') },
    async *stream() {
      for (const piece of pieces()) yield chunk(piece, null)
      if (withFinish) yield chunk(undefined, 'stop')
    },
    async embed() { throw new Error('not used') },
  }
}

describe('guardrails on streams', () => {
  for (const withFinish of [true, false]) {
    it(`give the caller and every sink the same masked text whatever the split (${withFinish ? 'with' : 'without'} a finish_reason chunk)`, async () => {
      let current: string[] = []
      const recorder = createRecorder()
      const client = createClient({ providers: { pieces: piecesProvider(() => current, withFinish) }, middleware: [recorder.layer, pii(), hideSecrets()] })
      const expected = maskText(maskText(text, secretDetectors()), piiDetectors())
      for (let seed = 1; seed <= 60; seed++) {
        current = splitAtRandom(text, seeded(seed))
        let received = ''
        for await (const chunk of client.stream({ model: 'pieces/x', messages: [{ role: 'user', content: 'hi' }] })) received += chunk.choices[0]?.delta.content ?? ''
        expect(received, `seed ${seed}`).toBe(expected)
        const event = recorder.events.at(-1)!
        expect((event.response as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content).toBe(expected)
      }
      await client.close()
    })
  }

  it('blocks a banned phrase split across chunks before any of it reaches the caller', async () => {
    for (let seed = 1; seed <= 40; seed++) {
      const pieces = splitAtRandom('The next step of Project Falcon is secret.', seeded(seed))
      const client = createClient({ providers: { pieces: piecesProvider(() => pieces) }, middleware: [bannedKeywords({ keywords: ['project falcon'] })] })
      let received = ''
      const failure = await (async () => {
        for await (const chunk of client.stream({ model: 'pieces/x', messages: [{ role: 'user', content: 'hi' }] })) received += chunk.choices[0]?.delta.content ?? ''
      })().catch((error: unknown) => error)
      expect(failure, `seed ${seed}`).toMatchObject({ name: 'GuardrailError', status: 400, guardrail: 'banned-keywords' })
      expect(received.toLowerCase()).not.toContain('proj')
      await client.close()
    }
  })
})
